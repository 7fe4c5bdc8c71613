extension LibRdKafka {
    /// The README section that explains the librdkafka version production brokers need.
    public static let realBrokerReadmeSection = "Against a real broker"

    /// Whether a librdkafka log line or error reason is the failure of librdkafka before 2.2 against a broker
    /// that sends tagged fields in its ApiVersions response (KRaft-mode Kafka, Tansu).
    ///
    /// librdkafka 2.0.2 skips a tagged field one byte short (fixed in 2.2.0, see its CHANGELOG.md), so the
    /// first response of every connection fails to parse. It reports that as the `FAIL` log line and the
    /// `_TRANSPORT` error reason `<broker>: ApiVersionRequest failed: Local: Read underflow: probably due to broker
    /// version < 0.10 (see api.version.request configuration) (after 4ms in state APIVERSION_QUERY)` (measured
    /// with Debian 12's 2.0.2 against Tansu 0.6). The broker-version guess in that text is wrong for these
    /// brokers, which is why the daemon says what is.
    ///
    /// Only versions below 2.2 match: a newer librdkafka that fails this way has another cause, and naming the
    /// version would mislead.
    public static func isTaggedFieldsUnderflow(_ text: String, versionNumber: Int32 = LibRdKafka.versionNumber) -> Bool {
        guard versionNumber < 0x0202_0000 else { return false }
        // "Local: Read underflow" is rd_kafka_err2str(RD_KAFKA_RESP_ERR__UNDERFLOW); the request name comes from
        // rd_kafka_ApiKey2str. Both are fixed strings in librdkafka's sources.
        return text.contains("ApiVersionRequest failed") && text.contains("Local: Read underflow")
    }
}
