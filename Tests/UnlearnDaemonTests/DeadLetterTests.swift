import Foundation
import KafkaLog
import Testing

@testable import UnlearnDaemon

@Suite("Dead letters")
struct DeadLetterTests {
    static func header(_ letter: DeadLetter, _ key: String) -> String? {
        letter.headers.first { $0.key == key }.flatMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
    }

    @Test("a 2 MB key and a 10 MB value are cut to 1 KiB and 256 KiB, with their original sizes in headers")
    func shrinks() {
        let message = KafkaMessage(
            topic: "unlearn.deletions", partition: 3, offset: 42, key: [UInt8](repeating: 0x6B, count: 2_000_000),
            value: [UInt8](repeating: 0x76, count: 10_000_000), headers: []
        )
        let letter = DeadLetter(message, reason: RejectionReason(RejectionReason.tooLarge, "too large"))
        #expect(letter.key?.count == DeadLetter.keyLimit)
        #expect(letter.value?.count == DeadLetter.valueLimit)
        #expect(Self.header(letter, "original_key_bytes") == "2000000")
        #expect(Self.header(letter, "original_bytes") == "10000000")
        #expect(Self.header(letter, "source_offset") == "42")
        let bare = letter.withoutPayload()
        #expect(bare.key == nil && bare.value == nil && Self.header(bare, "payload_dropped") == "true")
        #expect(Self.header(bare, "reason") == "too_large")
    }

    @Test("a small letter keeps its key and value whole and adds no size headers")
    func keepsSmall() {
        let message = KafkaMessage(topic: "t", partition: 0, offset: 1, key: Array("digits".utf8), value: Array("{}".utf8), headers: [])
        let letter = DeadLetter(message, reason: RejectionReason(RejectionReason.notJSON, "x"))
        #expect(letter.key == Array("digits".utf8) && letter.value == Array("{}".utf8))
        #expect(Self.header(letter, "original_key_bytes") == nil && Self.header(letter, "original_bytes") == nil)
    }

    @Test("the local dead-letter file gets one fsynced JSON line per letter, mode 0600, with the source offset and the bytes")
    func localFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("unlearnd-dlq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = DeadLetterFile(stateDirectory: directory.path)
        for offset in [7, 9] as [Int64] {
            let message = KafkaMessage(
                topic: "unlearn.deletions", partition: 1, offset: offset, key: Array("k".utf8), value: Array("v\n".utf8), headers: [])
            try file.append(
                DeadLetter(message, reason: RejectionReason(RejectionReason.notJSON, "x")), topic: "dlq", error: "TOPIC_AUTHORIZATION_FAILED")
        }
        let lines = try String(contentsOfFile: file.path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONDecoder().decode(DeadLetterFile.Entry.self, from: Data(lines[0].utf8))
        #expect(first.sourceOffset == 7 && first.sourcePartition == 1 && first.reason == "not_json")
        #expect(first.publishError == "TOPIC_AUTHORIZATION_FAILED")
        #expect(first.valueBase64.flatMap { Data(base64Encoded: $0) } == Data("v\n".utf8))
        let mode = (try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as! NSNumber).intValue
        #expect(mode == 0o600)
    }

    @Test("size, authorisation and unknown-topic errors are permanent; outages and timeouts are not")
    func permanence() {
        for name in ["MSG_SIZE_TOO_LARGE", "TOPIC_AUTHORIZATION_FAILED", "_UNKNOWN_TOPIC", "UNKNOWN_TOPIC_OR_PART", "INVALID_RECORD"] {
            #expect(KafkaErrorCode(name: name)?.isPermanentForProduce == true, "\(name)")
        }
        for name in ["_ALL_BROKERS_DOWN", "_TRANSPORT", "_MSG_TIMED_OUT", "REQUEST_TIMED_OUT", "NOT_LEADER_FOR_PARTITION"] {
            #expect(KafkaErrorCode(name: name)?.isPermanentForProduce == false, "\(name)")
        }
    }
}
