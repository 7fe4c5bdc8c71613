import CRdKafka
import Foundation
import Logging

/// Owns one `rd_kafka_t` and the callback state librdkafka points into.
///
/// `@unchecked Sendable`: the pointer never changes, and librdkafka's API is thread-safe.
final class RDKafkaHandle: @unchecked Sendable {
    enum Kind {
        case producer
        case consumer

        var type: rd_kafka_type_t {
            switch self {
            case .producer: RD_KAFKA_PRODUCER
            case .consumer: RD_KAFKA_CONSUMER
            }
        }
    }

    /// The `rd_kafka_t *`.
    let pointer: OpaquePointer
    let callbacks: RDKafkaCallbacks
    let kind: Kind

    private init(pointer: OpaquePointer, callbacks: RDKafkaCallbacks, kind: Kind) {
        self.pointer = pointer
        self.callbacks = callbacks
        self.kind = kind
    }

    deinit {
        rd_kafka_destroy(pointer)
    }

    /// The client instance name, e.g. `rdkafka#consumer-1`.
    var name: String { String(cString: rd_kafka_name(pointer)) }

    /// Creates a client. Every property is applied in key order; the first one librdkafka rejects is named in
    /// the error (its value is not, if it is a secret). The callbacks are installed after the properties, so a
    /// property cannot replace them.
    static func make(
        kind: Kind,
        configuration: KafkaConfiguration,
        callbacks: RDKafkaCallbacks
    ) throws -> RDKafkaHandle {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(.clientCreation, reason: "rd_kafka_conf_new returned NULL (out of memory)")
        }
        // The conf belongs to us until rd_kafka_new succeeds, then to librdkafka.
        var confOwned = true
        defer { if confOwned { rd_kafka_conf_destroy(conf) } }

        for (key, value) in configuration.properties.sorted(by: { $0.key < $1.key }) {
            try set(conf, key: key, value: value)
        }

        rd_kafka_conf_set_opaque(conf, callbacks.opaque)
        installCallbacks(conf, kind: kind)

        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(kind.type, conf, &errorText, errorText.count) else {
            throw KafkaError(
                .clientCreation,
                reason: "librdkafka could not create the \(kind) client: \(cString(errorText))"
            )
        }
        confOwned = false
        return RDKafkaHandle(pointer: handle, callbacks: callbacks, kind: kind)
    }

    private static func set(_ conf: OpaquePointer, key: String, value: String) throws {
        var errorText = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(conf, key, value, &errorText, errorText.count)
        guard result != RD_KAFKA_CONF_OK else { return }
        var message = cString(errorText)
        if KafkaConfiguration.isSecret(key), !value.isEmpty {
            message = message.replacingOccurrences(of: value, with: "[REDACTED]")
        }
        let what = result == RD_KAFKA_CONF_UNKNOWN ? "unknown property" : "invalid value for property"
        throw KafkaError(.configuration, reason: "\(what) \"\(key)\": \(message)")
    }

    private static func installCallbacks(_ conf: OpaquePointer, kind: Kind) {
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, buffer in
            guard let rk, let callbacks = RDKafkaCallbacks.from(rd_kafka_opaque(rk)) else { return }
            callbacks.log(
                level: level,
                facility: facility.map { String(cString: $0) } ?? "",
                message: buffer.map { String(cString: $0) } ?? "",
                client: String(cString: rd_kafka_name(rk))
            )
        }

        rd_kafka_conf_set_error_cb(conf) { rk, code, reason, opaque in
            guard let rk, let callbacks = RDKafkaCallbacks.from(opaque) else { return }
            let err = rd_kafka_resp_err_t(rawValue: code)
            var error: KafkaError
            if err == RD_KAFKA_RESP_ERR__FATAL {
                // The original error is only available through rd_kafka_fatal_error.
                var text = [CChar](repeating: 0, count: 512)
                let original = rd_kafka_fatal_error(rk, &text, text.count)
                error = KafkaError.rdkafka(.fatal, original, reason: cString(text))
            } else {
                error = KafkaError.rdkafka(.client, err, reason: reason.map { String(cString: $0) })
            }
            callbacks.error(error, client: String(cString: rd_kafka_name(rk)))
        }

        rd_kafka_conf_set_stats_cb(conf) { _, json, length, opaque in
            if let json, let callbacks = RDKafkaCallbacks.from(opaque) {
                json.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                    callbacks.statistics(json: UnsafeBufferPointer(start: bytes, count: length))
                }
            }
            return 0  // librdkafka frees the JSON.
        }

        switch kind {
        case .producer:
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let callbacks = RDKafkaCallbacks.from(opaque) else { return }
                KafkaProducer.handleDeliveryReport(message, callbacks: callbacks)
            }
        case .consumer:
            rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, opaque in
                guard let rk, let callbacks = RDKafkaCallbacks.from(opaque) else { return }
                KafkaConsumer.handleRebalance(rk, err, partitions, callbacks: callbacks)
            }
        }
    }

    /// Topic metadata from the brokers. Blocks for up to `timeoutMilliseconds`.
    func topics(timeoutMilliseconds: Int32) throws -> [KafkaTopicMetadata] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(pointer, 1, nil, &metadata, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError.rdkafka(.metadata, err, reason: "fetching topic metadata failed")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let count = Int(metadata.pointee.topic_cnt)
        return (0..<count).map { index in
            let topic = metadata.pointee.topics[index]
            return KafkaTopicMetadata(
                name: String(cString: topic.topic),
                partitionCount: Int(topic.partition_cnt),
                error: topic.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaErrorCode(rawValue: topic.err.rawValue)
            )
        }
        .sorted { $0.name < $1.name }
    }
}

/// The NUL-terminated text librdkafka wrote into an error buffer.
func cString(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { pointer in
        pointer.baseAddress.map { String(cString: $0) } ?? ""
    }
}
