/// One topic as broker metadata describes it.
public struct KafkaTopicMetadata: Hashable, Sendable {
    public var name: String
    public var partitionCount: Int
    /// The topic-level error, if the broker reported one.
    public var error: KafkaErrorCode?
}
