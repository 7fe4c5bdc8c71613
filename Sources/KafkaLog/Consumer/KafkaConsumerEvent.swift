/// Something a consumer poll returned, in the order librdkafka produced it.
public enum KafkaConsumerEvent: Sendable {
    /// A message.
    case message(KafkaMessage)
    /// The group assigned these partitions to this member; consumption starts at the given offsets
    /// (``KafkaOffset/stored`` means the committed offset, or `auto.offset.reset` if none).
    case assigned([KafkaTopicPartitionOffset])
    /// The group took these partitions away; commits for them will now fail.
    case revoked([KafkaTopicPartition])
    /// A statistics snapshot (only with `statistics.interval.ms` > 0).
    case statistics(KafkaStatistics)
    /// The end of a partition was reached (only with `enable.partition.eof=true`); the offset is the next one.
    case partitionEOF(KafkaTopicPartitionOffset)
    /// A non-fatal error from librdkafka (e.g. all brokers down); librdkafka keeps retrying.
    case error(KafkaError)
}
