import CRdKafka

/// Owns one `rd_kafka_topic_partition_list_t`.
final class RDKafkaTopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int) {
        pointer = rd_kafka_topic_partition_list_new(Int32(clamping: max(capacity, 1)))
    }

    convenience init(_ offsets: [KafkaTopicPartitionOffset]) {
        self.init(capacity: offsets.count)
        for entry in offsets { add(entry.topicPartition, offset: entry.offset) }
    }

    convenience init(_ partitions: [KafkaTopicPartition], offset: Int64 = KafkaOffset.invalid) {
        self.init(capacity: partitions.count)
        for partition in partitions { add(partition, offset: offset) }
    }

    /// A list of topics for subscribing (partition "unassigned").
    convenience init(topics: [String]) {
        self.init(capacity: topics.count)
        for topic in topics { rd_kafka_topic_partition_list_add(pointer, topic, RD_KAFKA_PARTITION_UA) }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    func add(_ topicPartition: KafkaTopicPartition, offset: Int64) {
        let element = rd_kafka_topic_partition_list_add(pointer, topicPartition.topic, topicPartition.partition)
        element?.pointee.offset = offset
    }

    var entries: [(offset: KafkaTopicPartitionOffset, error: rd_kafka_resp_err_t)] {
        Self.entries(of: pointer)
    }

    /// The first per-partition error in the list, if any.
    var firstError: (KafkaTopicPartition, rd_kafka_resp_err_t)? {
        entries.first { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }.map { ($0.offset.topicPartition, $0.error) }
    }

    /// Reads a list owned by librdkafka (e.g. in a rebalance callback).
    static func entries(
        of list: UnsafePointer<rd_kafka_topic_partition_list_t>
    ) -> [(offset: KafkaTopicPartitionOffset, error: rd_kafka_resp_err_t)] {
        guard let elements = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = elements[index]
            let topic = element.topic.map { String(cString: $0) } ?? ""
            return (
                KafkaTopicPartitionOffset(topic: topic, partition: element.partition, offset: element.offset),
                element.err
            )
        }
    }
}
