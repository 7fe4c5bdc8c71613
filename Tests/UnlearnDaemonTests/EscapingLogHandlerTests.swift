import Logging
import Testing

@testable import UnlearnDaemon

/// A handler that keeps what it is asked to write.
private struct RecordingHandler: LogHandler {
    let recorder: LockedValue<[LogEvent]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { recorder.withLock { $0.append(event) } }
}

@Suite("Log escaping")
struct EscapingLogHandlerTests {
    @Test("newlines, ANSI escapes, NUL, DEL, C1 and bidirectional controls are escaped in messages, keys and values")
    func escapes() throws {
        let recorder = LockedValue<[LogEvent]>([])
        var logger = Logger(label: "t") { _ in EscapingLogHandler(RecordingHandler(recorder: recorder)) }
        logger.logLevel = .trace
        logger[metadataKey: "handler"] = "a\nb"
        let forged = "x\n2026-12-01T00:00:00+0000 critical unlearnd: FORGED"
        logger.warning(
            "line\r\nbreak",
            metadata: [
                "k": "\(forged)", "ansi": "\u{1B}[31mred", "nul": "a\u{0}b", "c1": "\u{85}\u{9B}", "bidi": "\u{202E}txt\u{2028}",
                "k\nkey": "v", "list": .array(["\u{7F}"]), "back": "a\\b", "plain": "café ✓",
            ])
        let event = try #require(recorder.value.first)
        #expect(event.message.description == "line\\u{D}\\u{A}break")
        let m = try #require(event.metadata)
        #expect(m["k"] == .string("x\\u{A}2026-12-01T00:00:00+0000 critical unlearnd: FORGED"))
        #expect(m["ansi"] == .string("\\u{1B}[31mred"))
        #expect(m["nul"] == .string("a\\u{0}b"))
        #expect(m["c1"] == .string("\\u{85}\\u{9B}"))
        #expect(m["bidi"] == .string("\\u{202E}txt\\u{2028}"))
        #expect(m["k\\u{A}key"] == .string("v"))
        #expect(m["list"] == .array([.string("\\u{7F}")]))
        #expect(m["back"] == .string("a\\\\b"), "a backslash is doubled, so an escape in the input cannot pass for one of ours")
        #expect(m["plain"] == .string("café ✓"), "printable text is left alone")
        #expect(m["handler"] == .string("a\\u{A}b"), "handler metadata is escaped too")
        // Nothing that reaches the inner handler holds a control character.
        let all = ([event.message.description] + m.flatMap { [$0.key, "\($0.value)"] }).joined()
        #expect(!all.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
    }
}
