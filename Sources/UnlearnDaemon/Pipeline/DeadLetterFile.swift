import Foundation
import KafkaLog

/// `<state>/dead-letters.jsonl`: dead letters that could not be published, one JSON object per line, appended and
/// fsynced before the source offset may advance (so a refused dead letter is never lost and never blocks the log).
/// Mode 0600: the lines carry the original (cut) key and value in base64, as the dead-letter topic would.
struct DeadLetterFile {
    let path: String

    init(stateDirectory: String) {
        path = (stateDirectory as NSString).appendingPathComponent("dead-letters.jsonl")
    }

    struct Entry: Codable {
        var deadLetterTopic: String
        var sourceTopic: String
        var sourcePartition: Int32
        var sourceOffset: Int64
        var reason: String
        var reasonMessage: String
        /// librdkafka's name of the error that made the broker refuse it.
        var publishError: String
        var keyBase64: String?
        var valueBase64: String?
        var headers: [String: String]
        var recordedAt: String

        enum CodingKeys: String, CodingKey {
            case deadLetterTopic = "dead_letter_topic"
            case sourceTopic = "source_topic"
            case sourcePartition = "source_partition"
            case sourceOffset = "source_offset"
            case reason
            case reasonMessage = "reason_message"
            case publishError = "publish_error"
            case keyBase64 = "key_base64"
            case valueBase64 = "value_base64"
            case headers
            case recordedAt = "recorded_at"
        }
    }

    struct WriteError: Error, CustomStringConvertible {
        var description: String
        /// fsync failed: durability is unknown (fatal, as for snapshots).
        var fsyncFailed: Bool
    }

    /// Appends one entry and fsyncs the file (and, when it was created, its directory).
    func append(_ letter: DeadLetter, topic: String, error: String) throws(WriteError) {
        let entry = Entry(
            deadLetterTopic: topic, sourceTopic: letter.source.topic, sourcePartition: letter.source.partition,
            sourceOffset: letter.source.offset, reason: letter.reason.code, reasonMessage: letter.reason.message,
            publishError: error, keyBase64: letter.key.map { Data($0).base64EncodedString() },
            valueBase64: letter.value.map { Data($0).base64EncodedString() },
            headers: Dictionary(letter.headers.map { ($0.key, $0.value.map { String(decoding: $0, as: UTF8.self) } ?? "") }) { $1 },
            recordedAt: RFC3339.format(Date())
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(entry) else { throw WriteError(description: "cannot encode a dead-letter entry", fsyncFailed: false) }
        line.append(0x0A)
        let created = access(path, F_OK) != 0
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw WriteError(description: "cannot open \(path): \(String(cString: strerror(errno)))", fsyncFailed: false) }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            throw WriteError(description: "cannot append to \(path): \(String(cString: strerror(errno)))", fsyncFailed: false)
        }
        guard fsync(fd) == 0 else { throw WriteError(description: "fsync of \(path) failed: \(String(cString: strerror(errno)))", fsyncFailed: true) }
        if created {
            let dir = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dir >= 0 else { return }
            defer { close(dir) }
            guard fsync(dir) == 0 else { throw WriteError(description: "fsync of the directory of \(path) failed", fsyncFailed: true) }
        }
    }
}
