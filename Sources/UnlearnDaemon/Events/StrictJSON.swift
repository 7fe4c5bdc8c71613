/// A JSON value parsed strictly from the bytes of an event (RFC 8259), keeping the distinctions validation needs.
///
/// Stricter than Foundation's `JSONDecoder`, which accepts UTF-16 and UTF-32 input, trailing commas, keeps the first of
/// duplicate keys and rounds numbers through `Double`:
/// - the text must be UTF-8 without a byte order mark (RFC 8259 sections 8.1: "MUST be encoded using UTF-8" and
///   "MUST NOT add a byte order mark");
/// - the grammar is section 2-7's exactly: no trailing commas, no comments, no leading zeros, no `NaN`, only the
///   four whitespace characters, no unescaped control characters in strings, escapes valid and surrogate pairs paired;
/// - a key that appears twice in one object is an error (section 4 leaves it to the implementation; consumers differ,
///   so an auditing consumer could read another request than the daemon applied);
/// - number literals are kept as written: `integer` only for a literal with neither fraction nor exponent.
enum StrictJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    /// An integer literal (`-?(0|[1-9][0-9]*)`) that fits in `Int`.
    case integer(Int)
    /// An integer literal outside `Int`'s range, as written.
    case largeInteger(String)
    /// A literal with a fraction or an exponent, as written (never converted: `1e-400` is not 0).
    case number(String)
    case string(String)
    case array([StrictJSON])
    /// Members in document order; keys are unique by their exact UTF-8 bytes.
    case object([(key: ExactText, value: StrictJSON)])

    static func == (a: StrictJSON, b: StrictJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.largeInteger(let x), .largeInteger(let y)), (.number(let x), .number(let y)): Array(x.utf8) == Array(y.utf8)
        case (.string(let x), .string(let y)): Array(x.utf8) == Array(y.utf8)
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// The exact integer value of a number literal, as JSON Schema's `integer` means it (a number whose fraction is
    /// zero: `7`, `7.0`, `7e0`, `0.7e1`), computed from the decimal digits without rounding through `Double`
    /// (`1e-400` and `0.99999999999999999999` are not integers). `.outOfRange` when the integer does not fit in `Int`.
    enum ExactInteger: Equatable {
        case value(Int)
        case outOfRange
        case notInteger
    }

    var exactInteger: ExactInteger {
        switch self {
        case .integer(let v): return .value(v)
        case .largeInteger: return .outOfRange
        case .number(let text): return Self.exactInteger(literal: text)
        default: return .notInteger
        }
    }

    /// `text` is a valid RFC 8259 number literal.
    static func exactInteger(literal text: String) -> ExactInteger {
        var b = Substring(text)
        let negative = b.first == "-"
        if negative { b = b.dropFirst() }
        let mantissaEnd = b.firstIndex { $0 == "e" || $0 == "E" } ?? b.endIndex
        var exponent = 0
        if mantissaEnd < b.endIndex {
            let exponentText = b[b.index(after: mantissaEnd)...]
            // Far beyond any Int: a non-zero mantissa with such an exponent is out of range or a fraction.
            guard let e = Int(exponentText.count > 6 ? (exponentText.hasPrefix("-") ? "-999999" : "999999") : String(exponentText)) else {
                return .notInteger
            }
            exponent = e
        }
        let mantissa = b[..<mantissaEnd]
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        var digits = Array(parts[0]) + (parts.count > 1 ? Array(parts[1]) : [])
        exponent -= parts.count > 1 ? parts[1].count : 0
        while digits.count > 1, digits.first == "0" { digits.removeFirst() }
        if digits.allSatisfy({ $0 == "0" }) { return .value(0) }
        while digits.last == "0" {
            digits.removeLast()
            exponent += 1
        }
        guard exponent >= 0 else { return .notInteger }
        guard digits.count + exponent <= 19 else { return .outOfRange }
        let text = String(digits) + String(repeating: "0", count: exponent)
        guard let magnitude = Int(text) else {
            return negative && text == "9223372036854775808" ? .value(Int.min) : .outOfRange
        }
        return .value(negative ? -magnitude : magnitude)
    }

    /// The JSON type name, for error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .largeInteger: "integer"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Why a text is not accepted. `position` is a byte offset; messages never quote the text.
    struct ParseError: Error, Equatable {
        enum Kind: Equatable {
            /// Not UTF-8 (another encoding, a byte order mark, or invalid UTF-8 sequences).
            case encoding
            /// UTF-8 but not RFC 8259 JSON.
            case syntax
            /// A key repeated in one object.
            case duplicateKey
        }

        var kind: Kind
        var message: String
        /// The byte offset of a syntax error.
        var offset: Int? = nil
        /// For a repeated key, the keys of the enclosing objects and the repeated key (for the config file's
        /// messages; the events' messages never quote a key a producer sent).
        var keyPath: [String] = []
    }

    /// Nesting deeper than this is refused (a deletion request is two levels deep), so parsing cannot exhaust the stack.
    static let maxDepth = 32

    static func parse(_ bytes: [UInt8]) throws(ParseError) -> StrictJSON {
        try checkEncoding(bytes)
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.syntax("unexpected data after the JSON value") }
        return value
    }

    /// Names the encoding of a text that is not UTF-8 (by its byte order mark or, without one, by the pattern of
    /// zero bytes that RFC 4627 section 3 uses: JSON text starts with two ASCII characters).
    static func checkEncoding(_ b: [UInt8]) throws(ParseError) {
        func reject(_ name: String) -> ParseError {
            ParseError(
                kind: .encoding, message: "the value is \(name); encode deletion requests as UTF-8 without a byte order mark (RFC 8259 section 8.1)")
        }
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { throw reject("UTF-8 with a byte order mark") }
        if b.starts(with: [0x00, 0x00, 0xFE, 0xFF]) { throw reject("UTF-32BE (byte order mark)") }
        if b.starts(with: [0xFF, 0xFE, 0x00, 0x00]) { throw reject("UTF-32LE (byte order mark)") }
        if b.starts(with: [0xFE, 0xFF]) { throw reject("UTF-16BE (byte order mark)") }
        if b.starts(with: [0xFF, 0xFE]) { throw reject("UTF-16LE (byte order mark)") }
        if b.count >= 4 {
            switch (b[0] == 0, b[1] == 0, b[2] == 0, b[3] == 0) {
            case (true, true, true, false): throw reject("UTF-32BE")
            case (false, true, true, true): throw reject("UTF-32LE")
            case (true, false, true, false): throw reject("UTF-16BE")
            case (false, true, false, true): throw reject("UTF-16LE")
            default: break
            }
        }
        if b.contains(0) { throw ParseError(kind: .encoding, message: "the value contains zero bytes; JSON text is UTF-8 and never contains NUL") }
        if String(validating: b, as: UTF8.self) == nil {
            throw ParseError(kind: .encoding, message: "the value is not valid UTF-8; encode deletion requests as UTF-8 (RFC 8259 section 8.1)")
        }
    }

    /// A recursive-descent parser over validated UTF-8 bytes.
    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        /// Keys of the objects being parsed, outermost first.
        var keys: [String] = []

        func syntax(_ what: String) -> ParseError {
            ParseError(kind: .syntax, message: "the value is not RFC 8259 JSON: \(what) at byte \(index)", offset: index)
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { index += 1 }
        }

        mutating func expect(_ literal: String) throws(ParseError) {
            for c in literal.utf8 {
                guard current == c else { throw syntax("invalid literal") }
                index += 1
            }
        }

        mutating func value(depth: Int) throws(ParseError) -> StrictJSON {
            guard depth < StrictJSON.maxDepth else { throw syntax("nesting deeper than \(StrictJSON.maxDepth) levels") }
            guard let c = current else { throw syntax("the text ends where a value should start") }
            switch c {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw syntax("unexpected character where a value should start")
            }
        }

        mutating func object(depth: Int) throws(ParseError) -> StrictJSON {
            index += 1
            var members: [(key: ExactText, value: StrictJSON)] = []
            var seen = Set<ExactText>()
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else {
                    throw syntax(current == UInt8(ascii: "}") ? "trailing comma in an object" : "an object key must be a string")
                }
                let keyStart = index
                let key = ExactText(try string())
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw syntax("missing ':' after an object key") }
                index += 1
                skipWhitespace()
                self.keys.append(key.string)
                let member = try value(depth: depth + 1)
                self.keys.removeLast()
                guard seen.insert(key).inserted else {
                    throw ParseError(
                        kind: .duplicateKey, message: "the object starting before byte \(keyStart) has a key twice; send each field once",
                        keyPath: self.keys + [key.string]
                    )
                }
                members.append((key, member))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"):
                    index += 1
                    return .object(members)
                default: throw syntax("expected ',' or '}' in an object")
                }
            }
        }

        mutating func array(depth: Int) throws(ParseError) -> StrictJSON {
            index += 1
            var items: [StrictJSON] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            while true {
                skipWhitespace()
                if current == UInt8(ascii: "]") { throw syntax("trailing comma in an array") }
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"):
                    index += 1
                    return .array(items)
                default: throw syntax("expected ',' or ']' in an array")
                }
            }
        }

        /// RFC 8259 section 6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
        mutating func number() throws(ParseError) -> StrictJSON {
            let start = index
            func digits(_ p: inout Parser) -> Int {
                let s = p.index
                while let c = p.current, c >= 0x30 && c <= 0x39 { p.index += 1 }
                return p.index - s
            }
            if current == UInt8(ascii: "-") { index += 1 }
            if current == UInt8(ascii: "0") {
                index += 1
                if let c = current, c >= 0x30 && c <= 0x39 { throw syntax("a number has a leading zero") }
            } else if digits(&self) == 0 {
                throw syntax("a number has no digits")
            }
            var integral = true
            if current == UInt8(ascii: ".") {
                index += 1
                integral = false
                guard digits(&self) > 0 else { throw syntax("a number has no digits after '.'") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                integral = false
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard digits(&self) > 0 else { throw syntax("a number has no digits in its exponent") }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            guard integral else { return .number(text) }
            return Int(text).map { .integer($0) } ?? .largeInteger(text)
        }

        /// RFC 8259 section 7. The bytes between escapes are already valid UTF-8 (checked up front).
        mutating func string() throws(ParseError) -> String {
            index += 1
            var out: [UInt8] = []
            while true {
                guard let c = current else { throw syntax("unterminated string") }
                switch c {
                case UInt8(ascii: "\""):
                    index += 1
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let e = current else { throw syntax("unterminated escape") }
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                                throw syntax("a high surrogate escape without its low surrogate")
                            }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw syntax("a high surrogate escape without its low surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw syntax("a low surrogate escape without its high surrogate")
                        }
                        out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
                    default:
                        throw syntax("an invalid escape in a string")
                    }
                case 0x00...0x1F:
                    throw syntax("an unescaped control character in a string")
                default:
                    out.append(c)
                    index += 1
                }
            }
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let c = current else { throw syntax("a \\u escape needs four hex digits") }
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw syntax("a \\u escape needs four hex digits")
                }
                v = v << 4 | d
                index += 1
            }
            return v
        }
    }
}
