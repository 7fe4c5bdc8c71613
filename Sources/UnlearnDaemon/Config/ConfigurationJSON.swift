import Foundation

/// A JSON value of the configuration file, kept with its JSON type so that `"256"` is not mistaken for `256`
/// nor `1` for `true`. Read with the events' parser (`StrictJSON`: RFC 8259 exactly, UTF-8, no repeated keys),
/// so the file and the deletion requests follow one grammar.
enum ConfigurationJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([ConfigurationJSON])
    case object([String: ConfigurationJSON])

    /// The configuration's view of a parsed value: a number whose value is an integer (`5`, `5.0`, `5e0`) is an
    /// `int`, as Foundation's decoder read it before; keys are unique already (the parser refuses repeats).
    init(_ value: StrictJSON) {
        switch value {
        case .null: self = .null
        case .bool(let bool): self = .bool(bool)
        case .integer(let int): self = .int(int)
        case .largeInteger(let text), .number(let text):
            if case .value(let int) = value.exactInteger {
                self = .int(int)
            } else {
                self = .double(Double(text) ?? (text.hasPrefix("-") ? -.infinity : .infinity))
            }
        case .string(let string): self = .string(string)
        case .array(let items): self = .array(items.map(ConfigurationJSON.init))
        case .object(let members):
            self = .object(Dictionary(members.map { ($0.key.string, ConfigurationJSON($0.value)) }) { first, _ in first })
        }
    }

    /// The JSON type, for error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value as it would be written in the file, for error messages (never used for secrets).
    var literal: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .int(let value): String(value)
        case .double(let value): ConfigurationFormat.number(value)
        case .string(let value): "\"\(value)\""
        case .array(let values): "[" + values.map(\.literal).joined(separator: ", ") + "]"
        case .object: "{...}"
        }
    }

    /// Parses a whole configuration file: a JSON object whose nested objects are flattened into dotted keys
    /// (`{"batch": {"max_rows": 5}}` and `{"batch.max_rows": 5}` both give `batch.max_rows`).
    static func flattenedObject(_ data: Data, path: String) throws(ConfigurationError) -> [String: ConfigurationJSON] {
        let root: ConfigurationJSON
        do {
            root = ConfigurationJSON(try StrictJSON.parse([UInt8](data)))
        } catch {
            switch error.kind {
            case .duplicateKey:
                // A second "batch" object would otherwise hide the first one's keys (or the other way round).
                let name = error.keyPath.joined(separator: ".")
                throw ConfigurationError(.duplicateKey, subject: name, "\(name) appears twice in \(path); merge the two into one")
            case .encoding:
                throw ConfigurationError(
                    .malformedFile, subject: path, "\(path) is not UTF-8 text; save it as UTF-8 without a byte order mark (RFC 8259 section 8.1)"
                )
            case .syntax:
                // Only the position, never the text: the mistake may be inside a secret.
                throw ConfigurationError(
                    .malformedFile, subject: path,
                    "\(path) is not valid JSON\(Self.position(error.offset, in: data)); fix the syntax (a JSON object as in Config/unlearnd.json)"
                )
            }
        }
        guard case .object(let object) = root else {
            throw ConfigurationError(
                .malformedFile, subject: path,
                "\(path) must hold a JSON object at the top level, not \(root.typeName) (see Config/unlearnd.json)"
            )
        }
        var result: [String: ConfigurationJSON] = [:]
        try flatten(object, prefix: "", into: &result, path: path)
        return result
    }

    private static func flatten(
        _ object: [String: ConfigurationJSON], prefix: String, into result: inout [String: ConfigurationJSON], path: String
    ) throws(ConfigurationError) {
        for (name, value) in object.sorted(by: { $0.key < $1.key }) {
            let key = prefix + name
            if case .object(let nested) = value {
                try flatten(nested, prefix: key + ".", into: &result, path: path)
            } else if result[key] != nil {
                throw ConfigurationError(
                    .duplicateKey, subject: key,
                    "\(key) is given twice in \(path) (once nested, once with a dotted name); keep one"
                )
            } else {
                result[key] = value
            }
        }
    }

    /// " (line 2, column 25)" for the byte offset of a syntax error ("" without one).
    private static func position(_ offset: Int?, in data: Data) -> String {
        guard let offset else { return "" }
        let prefix = data.prefix(offset)
        if offset >= data.count { return " (unexpected end of file)" }
        let line = prefix.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        let column = offset - (prefix.lastIndex(of: UInt8(ascii: "\n")).map { $0 - prefix.startIndex + 1 } ?? 0) + 1
        return " (line \(line), column \(column))"
    }
}
