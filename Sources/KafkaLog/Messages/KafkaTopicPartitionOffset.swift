/// A partition with an offset. For commits and assignments the offset is, as everywhere in Kafka, the offset of
/// the *next* message to consume (last processed + 1).
public struct KafkaTopicPartitionOffset: Hashable, Sendable, CustomStringConvertible {
    public var topicPartition: KafkaTopicPartition
    /// The offset; negative values are librdkafka's logical offsets (see ``KafkaOffset``).
    public var offset: Int64

    public init(_ topicPartition: KafkaTopicPartition, offset: Int64) {
        self.topicPartition = topicPartition
        self.offset = offset
    }

    public init(topic: String, partition: Int32, offset: Int64) {
        self.init(KafkaTopicPartition(topic: topic, partition: partition), offset: offset)
    }

    public var topic: String { topicPartition.topic }
    public var partition: Int32 { topicPartition.partition }

    public var description: String { "\(topicPartition)@\(KafkaOffset.describe(offset))" }
}
