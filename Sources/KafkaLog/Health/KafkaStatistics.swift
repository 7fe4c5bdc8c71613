import Foundation

/// The parts of librdkafka's statistics JSON (`statistics.interval.ms`, see librdkafka's STATISTICS.md) that an
/// operator needs: broker states and per-partition consumer lag.
public struct KafkaStatistics: Sendable {
    /// One broker as the client sees it.
    public struct Broker: Hashable, Sendable {
        /// `host:port/id`, or `.../bootstrap` for bootstrap entries.
        public var name: String
        /// Broker id; -1 for bootstrap entries.
        public var nodeID: Int32
        /// librdkafka's connection state: `UP`, `DOWN`, `CONNECT`, `INIT`, ...
        public var state: String
    }

    /// One partition's offsets and lag as the consumer sees it.
    public struct Partition: Hashable, Sendable {
        public var topicPartition: KafkaTopicPartition
        /// High watermark minus committed offset; nil until both are known.
        public var consumerLag: Int64?
        /// High watermark minus the offset stored for the next commit; nil until both are known.
        public var consumerLagStored: Int64?
        /// The partition's high watermark on the broker; nil until fetched.
        public var highWatermark: Int64?
        /// The last committed offset; nil if none.
        public var committedOffset: Int64?
        /// librdkafka's fetch state (`active`, `none`, `stopped`, ...).
        public var fetchState: String
    }

    /// The client instance name.
    public var clientName: String
    public var brokers: [Broker]
    /// Partitions with a real id (librdkafka's internal partition -1 is left out), sorted.
    public var partitions: [Partition]

    /// The sum of the known per-partition consumer lags.
    public var totalConsumerLag: Int64 { partitions.reduce(0) { $0 + ($1.consumerLag ?? 0) } }

    /// Whether any real (non-bootstrap) broker connection is up.
    public var anyBrokerUp: Bool { brokers.contains { $0.nodeID >= 0 && $0.state == "UP" } }

    /// The lag of one partition, if known.
    public func consumerLag(_ topicPartition: KafkaTopicPartition) -> Int64? {
        partitions.first { $0.topicPartition == topicPartition }?.consumerLag
    }

    /// Parses librdkafka's statistics JSON.
    public init(json: some Collection<UInt8>) throws {
        let raw = try JSONDecoder().decode(RawStatistics.self, from: Data(json))
        clientName = raw.name
        brokers = (raw.brokers ?? [:]).values
            .map { Broker(name: $0.name, nodeID: $0.nodeid, state: $0.state) }
            .sorted { $0.name < $1.name }
        var partitions: [Partition] = []
        for (topicName, topic) in raw.topics ?? [:] {
            for partition in (topic.partitions ?? [:]).values where partition.partition >= 0 {
                partitions.append(
                    Partition(
                        topicPartition: KafkaTopicPartition(topic: topicName, partition: partition.partition),
                        consumerLag: Self.known(partition.consumerLag),
                        consumerLagStored: Self.known(partition.consumerLagStored),
                        highWatermark: Self.known(partition.hiOffset),
                        committedOffset: Self.known(partition.committedOffset),
                        fetchState: partition.fetchState ?? "none"
                    )
                )
            }
        }
        self.partitions = partitions.sorted { $0.topicPartition < $1.topicPartition }
    }

    private static func known(_ value: Int64?) -> Int64? {
        guard let value, value >= 0 else { return nil }
        return value
    }
}

// Field names as librdkafka spells them.
private struct RawStatistics: Decodable {
    struct Broker: Decodable {
        var name: String
        var nodeid: Int32
        var state: String
    }
    struct Topic: Decodable {
        var partitions: [String: Partition]?
    }
    struct Partition: Decodable {
        var partition: Int32
        var hiOffset: Int64?
        var committedOffset: Int64?
        var consumerLag: Int64?
        var consumerLagStored: Int64?
        var fetchState: String?

        enum CodingKeys: String, CodingKey {
            case partition
            case hiOffset = "hi_offset"
            case committedOffset = "committed_offset"
            case consumerLag = "consumer_lag"
            case consumerLagStored = "consumer_lag_stored"
            case fetchState = "fetch_state"
        }
    }
    var name: String
    var brokers: [String: Broker]?
    var topics: [String: Topic]?
}
