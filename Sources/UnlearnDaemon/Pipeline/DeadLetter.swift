import Foundation
import KafkaLog

/// A rejected message as it goes to the dead-letter topic: the original bytes with the reason in headers, the key
/// and value cut to sizes any broker accepts (the source partition and offset locate the whole original).
struct DeadLetter: Sendable {
    /// Kafka's default `message.max.bytes` is about 1 MB; a dead letter stays well below it.
    static let valueLimit = 256 * 1024
    /// Keys are model ids (at most 64 bytes) when producers follow the schema.
    static let keyLimit = 1024

    var key: [UInt8]?
    var value: [UInt8]?
    var headers: [KafkaHeader]
    let source: (topic: String, partition: Int32, offset: Int64)
    let reason: RejectionReason

    init(_ message: KafkaMessage, reason: RejectionReason) {
        self.source = (message.topic, message.partition, message.offset)
        self.reason = reason
        headers = [
            KafkaHeader(key: "reason", value: reason.code),
            KafkaHeader(key: "reason_message", value: reason.message),
            KafkaHeader(key: "source_topic", value: message.topic),
            KafkaHeader(key: "source_partition", value: "\(message.partition)"),
            KafkaHeader(key: "source_offset", value: "\(message.offset)"),
        ]
        key = message.key
        value = message.value
        if let original = key, original.count > Self.keyLimit {
            key = Array(original.prefix(Self.keyLimit))
            headers.append(KafkaHeader(key: "original_key_bytes", value: "\(original.count)"))
            headers.append(KafkaHeader(key: "key_truncated", value: "true"))
        }
        if let original = value, original.count > Self.valueLimit {
            value = Array(original.prefix(Self.valueLimit))
            headers.append(KafkaHeader(key: "original_bytes", value: "\(original.count)"))
            headers.append(KafkaHeader(key: "value_truncated", value: "true"))
        }
    }

    /// The last form worth trying after the broker refused the letter for good: headers only.
    func withoutPayload() -> DeadLetter {
        var copy = self
        copy.key = nil
        copy.value = nil
        copy.headers.append(KafkaHeader(key: "payload_dropped", value: "true"))
        return copy
    }
}
