/// Metadata keys of this module's log lines, in one place.
public enum KafkaLogMetadataKey {
    /// The librdkafka client instance name (`rdkafka#consumer-1`).
    public static let client = "kafka.client"
    /// librdkafka's log facility (e.g. `FAIL`, `CGRPOP`).
    public static let facility = "kafka.facility"
    /// librdkafka's syslog-style level (0-7).
    public static let syslogLevel = "kafka.syslog_level"
    /// librdkafka's error code name.
    public static let errorCode = "kafka.error.code"
    /// A human reason.
    public static let reason = "kafka.reason"
    /// A topic name.
    public static let topic = "kafka.topic"
    /// Partitions, rendered as `topic[p]@offset` lists.
    public static let partitions = "kafka.partitions"
    /// A configuration, secrets redacted.
    public static let configuration = "kafka.configuration"
    /// The librdkafka version.
    public static let librdkafkaVersion = "kafka.librdkafka_version"
    /// The mock cluster's bootstrap servers.
    public static let bootstrapServers = "kafka.bootstrap_servers"
    /// A broker id.
    public static let brokerID = "kafka.broker_id"
}
