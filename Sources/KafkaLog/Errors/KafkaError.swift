import CRdKafka

/// An error raised by the Kafka layer: what kind of operation failed, why, librdkafka's own code if it had one,
/// and where in this package it was raised.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// The kind of operation that failed. Extensible: new kinds are new static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A librdkafka configuration property was rejected (unknown key or invalid value).
        public static let configuration = Code("configuration")
        /// librdkafka refused to create a client handle.
        public static let clientCreation = Code("clientCreation")
        /// Subscribing, assigning, pausing or resuming partitions failed.
        public static let partitions = Code("partitions")
        /// Polling the consumer returned an error (a message-level or client-level error).
        public static let consume = Code("consume")
        /// Committing or fetching committed offsets failed.
        public static let commit = Code("commit")
        /// librdkafka refused to enqueue a message.
        public static let produce = Code("produce")
        /// A message was enqueued but its delivery report carried an error.
        public static let delivery = Code("delivery")
        /// A flush or other bounded wait ran out of time.
        public static let timeout = Code("timeout")
        /// A client-level error reported through librdkafka's error callback (e.g. all brokers down).
        public static let client = Code("client")
        /// librdkafka raised a fatal error: the client instance is unusable and must be recreated.
        public static let fatal = Code("fatal")
        /// Metadata could not be fetched.
        public static let metadata = Code("metadata")
        /// A mock-cluster operation failed.
        public static let mockCluster = Code("mockCluster")
        /// The client was already closed.
        public static let closed = Code("closed")
        /// An argument was outside what the operation accepts.
        public static let invalidArgument = Code("invalidArgument")

        public var description: String { name }
    }

    /// The kind of operation that failed.
    public var code: Code
    /// What went wrong, and where possible what to do about it.
    public var reason: String
    /// librdkafka's error code, when the failure came from librdkafka.
    public var librdkafkaError: KafkaErrorCode?
    /// Source file that raised the error.
    public var file: String
    /// Source line that raised the error.
    public var line: UInt

    public init(
        _ code: Code,
        reason: String,
        librdkafkaError: KafkaErrorCode? = nil,
        file: String = #fileID,
        line: UInt = #line
    ) {
        self.code = code
        self.reason = reason
        self.librdkafkaError = librdkafkaError
        self.file = file
        self.line = line
    }

    public var description: String {
        var text = "KafkaError.\(code): \(reason)"
        if let librdkafkaError { text += " [\(librdkafkaError.name)]" }
        return text + " (at \(file):\(line))"
    }
}

extension KafkaError {
    /// An error built from a librdkafka response code, with librdkafka's own description as the reason unless a
    /// more specific one is given.
    static func rdkafka(
        _ code: Code,
        _ err: rd_kafka_resp_err_t,
        reason: String? = nil,
        file: String = #fileID,
        line: UInt = #line
    ) -> KafkaError {
        let errorCode = KafkaErrorCode(rawValue: err.rawValue)
        let reasonText = reason.map { "\($0): \(errorCode.message)" } ?? errorCode.message
        return KafkaError(code, reason: reasonText, librdkafkaError: errorCode, file: file, line: line)
    }

    /// An error built from (and consuming) a librdkafka `rd_kafka_error_t` object.
    static func consuming(
        _ code: Code,
        _ error: OpaquePointer,
        reason: String,
        file: String = #fileID,
        line: UInt = #line
    ) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let errorCode = KafkaErrorCode(rawValue: rd_kafka_error_code(error).rawValue)
        let message = rd_kafka_error_string(error).map { String(cString: $0) } ?? errorCode.message
        let fatal = rd_kafka_error_is_fatal(error) != 0
        return KafkaError(
            fatal ? .fatal : code,
            reason: "\(reason): \(message)",
            librdkafkaError: errorCode,
            file: file,
            line: line
        )
    }
}
