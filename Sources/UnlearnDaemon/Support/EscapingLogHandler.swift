import Logging

/// A log handler that escapes every message and metadata value before another handler writes it.
///
/// Values that came from outside (librdkafka's texts, error descriptions, request ids at debug level) may hold
/// newlines that forge whole log lines, ANSI escape sequences that rewrite a terminal, NUL, or Unicode line and
/// direction controls. Each such character is written as `\u{XX}` (and `\` as `\\`), so one event is one line and
/// prints as it was sent. Handler and provider metadata are merged here and escaped with the event's.
public struct EscapingLogHandler<Inner: LogHandler>: LogHandler {
    private var inner: Inner
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(_ inner: Inner, metadataProvider: Logger.MetadataProvider? = nil) {
        var inner = inner
        inner.metadata = [:]
        // Setting it on a handler that has none would make swift-log warn; only clear one that is there.
        if inner.metadataProvider != nil { inner.metadataProvider = nil }
        self.inner = inner
        self.metadataProvider = metadataProvider
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        var escaped = event
        escaped.message = Logger.Message(stringLiteral: Self.escape(event.message.description))
        escaped.metadata = merged.isEmpty ? nil : Dictionary(uniqueKeysWithValues: merged.map { (Self.escape($0.key), Self.escape($0.value)) })
        inner.log(event: escaped)
    }

    static func escape(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let s): .string(escape(s))
        case .stringConvertible(let c): .string(escape(c.description))
        case .array(let items): .array(items.map(escape))
        case .dictionary(let d): .dictionary(Dictionary(uniqueKeysWithValues: d.map { (escape($0.key), escape($0.value)) }))
        }
    }

    /// Escapes C0 and C1 control characters, DEL, the backslash, and the Unicode line separators and bidirectional
    /// controls (U+2028, U+2029, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069) that change how a line reads.
    public static func escape(_ text: String) -> String {
        func needsEscape(_ v: UInt32) -> Bool {
            v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x5C || v == 0x2028 || v == 0x2029
                || (0x200E...0x200F).contains(v) || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
        }
        guard text.unicodeScalars.contains(where: { needsEscape($0.value) }) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0x5C {
                out.append(contentsOf: "\\\\".unicodeScalars)
            } else if needsEscape(scalar.value) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}
