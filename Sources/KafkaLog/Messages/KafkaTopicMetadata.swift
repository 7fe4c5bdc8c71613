/// One topic as broker metadata describes it.
public struct KafkaTopicMetadata: Hashable, Sendable {
    public var name: String
    public var partitionCount: Int
    /// The topic-level error, if the broker reported one.
    public var error: KafkaErrorCode?

    public init(name: String, partitionCount: Int, error: KafkaErrorCode? = nil) {
        self.name = name
        self.partitionCount = partitionCount
        self.error = error
    }
}
