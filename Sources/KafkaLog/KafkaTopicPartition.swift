/// One partition of one topic.
public struct KafkaTopicPartition: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)[\(partition)]" }
}

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

/// librdkafka's logical offsets.
public enum KafkaOffset {
    /// Start at the beginning of the partition.
    public static let beginning: Int64 = -2
    /// Start at the end of the partition (only new messages).
    public static let end: Int64 = -1
    /// Use the committed offset (or `auto.offset.reset` if there is none).
    public static let stored: Int64 = -1000
    /// No offset (e.g. nothing committed yet).
    public static let invalid: Int64 = -1001

    static func describe(_ offset: Int64) -> String {
        switch offset {
        case beginning: "beginning"
        case end: "end"
        case stored: "stored"
        case invalid: "invalid"
        default: String(offset)
        }
    }
}
