/// What a client has learned about its brokers from librdkafka's error callback and statistics, so that the
/// owner can report outages (e.g. in a systemd STATUS line).
public struct KafkaHealth: Sendable {
    /// librdkafka reported that every known broker is down, and nothing has succeeded since. Cleared by the next
    /// delivered or received message, successful commit, or statistics snapshot showing a broker up (so set
    /// `statistics.interval.ms` for an idle client to notice recovery promptly).
    public var allBrokersDown: Bool = false
    /// The most recent client-level error, if any (it stays after recovery; see ``allBrokersDown``).
    public var lastError: KafkaError?
    /// A fatal error: the client is unusable and must be recreated.
    public var fatalError: KafkaError?
    /// How many client-level errors were reported so far.
    public var errorCount: Int = 0

    public init() {}
}
