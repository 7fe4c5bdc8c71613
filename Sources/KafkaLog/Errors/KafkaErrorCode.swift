import CRdKafka

/// A librdkafka error code (`rd_kafka_resp_err_t`): Kafka protocol errors are >= 0, librdkafka-local errors are
/// negative and their names start with an underscore (e.g. `_ALL_BROKERS_DOWN`).
public struct KafkaErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The numeric code as librdkafka defines it.
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The code for a name as librdkafka spells it (`REQUEST_TIMED_OUT`, `_ALL_BROKERS_DOWN`, case-insensitive,
    /// with or without an `ERR_` prefix), or for a decimal number.
    public init?(name: String) {
        if let number = Int32(name) {
            self.init(rawValue: number)
            return
        }
        var wanted = name.uppercased()
        if wanted.hasPrefix("RD_KAFKA_RESP_ERR_") { wanted.removeFirst("RD_KAFKA_RESP_ERR_".count) }
        if wanted.hasPrefix("ERR_") { wanted.removeFirst("ERR_".count) }
        guard let match = Self.all.first(where: { $0.name == wanted }) else { return nil }
        self = match
    }

    /// librdkafka's symbolic name, e.g. `NOT_COORDINATOR`.
    public var name: String {
        String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: rawValue)))
    }

    /// librdkafka's human-readable description.
    public var message: String {
        String(cString: rd_kafka_err2str(rd_kafka_resp_err_t(rawValue: rawValue)))
    }

    public var description: String { "\(name) (\(rawValue))" }

    /// Every code librdkafka knows, in its table order.
    public static let all: [KafkaErrorCode] = {
        var descriptions: UnsafePointer<rd_kafka_err_desc>?
        var count = 0
        rd_kafka_get_err_descs(&descriptions, &count)
        guard let descriptions else { return [] }
        return (0..<count).compactMap { index in
            let entry = descriptions[index]
            // The table has holes (entries without a name) between the local and the protocol ranges.
            guard entry.name != nil else { return nil }
            return KafkaErrorCode(rawValue: entry.code.rawValue)
        }
    }()

    /// No error.
    public static let noError = KafkaErrorCode(rawValue: RD_KAFKA_RESP_ERR_NO_ERROR.rawValue)
    /// All known brokers are down (local).
    public static let allBrokersDown = KafkaErrorCode(rawValue: RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue)
    /// A transport failure: a broker connection went away (local).
    public static let transport = KafkaErrorCode(rawValue: RD_KAFKA_RESP_ERR__TRANSPORT.rawValue)
    /// A fatal error; the instance must be recreated (local).
    public static let fatal = KafkaErrorCode(rawValue: RD_KAFKA_RESP_ERR__FATAL.rawValue)
    /// A message timed out before delivery (local).
    public static let messageTimedOut = KafkaErrorCode(rawValue: RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue)
    /// The request timed out (protocol).
    public static let requestTimedOut = KafkaErrorCode(rawValue: RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue)

    /// True for errors that retrying the same produce request cannot cure: the message is too large for the client
    /// or the broker, the record is invalid, the topic does not exist or may not be written. (Broker outages,
    /// timeouts and leader changes are transient: librdkafka retries them itself and a later send may succeed.)
    public var isPermanentForProduce: Bool {
        Self.permanentForProduce.contains(rawValue)
    }

    private static let permanentForProduce: Set<Int32> = [
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
        RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR_INVALID_MSG, RD_KAFKA_RESP_ERR__INVALID_ARG,
        RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_POLICY_VIOLATION, RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT,
    ].reduce(into: []) { $0.insert($1.rawValue) }
}
