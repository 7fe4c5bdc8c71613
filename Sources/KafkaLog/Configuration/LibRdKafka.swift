import CRdKafka

/// Facts about the linked librdkafka.
public enum LibRdKafka {
    /// The version string, e.g. `2.0.2`. Log it at start: Debian bookworm's 2.0.2 cannot talk to brokers that
    /// send tagged fields in ApiVersions (fixed in 2.2.0), so production brokers want >= 2.2.
    public static var version: String { String(cString: rd_kafka_version_str()) }

    /// The version as librdkafka's hex number (`0x020002ff` for 2.0.2).
    public static var versionNumber: Int32 { rd_kafka_version() }

    /// The lowest librdkafka version known to work against current production brokers.
    public static let minimumProductionVersion = "2.2.0"

    /// Whether the linked version is at least ``minimumProductionVersion``.
    public static var meetsProductionMinimum: Bool { versionNumber >= 0x0202_0000 }
}
