import Foundation

/// A JSON value of the configuration file, kept with its JSON type so that `"256"` is not mistaken for `256`
/// nor `1` for `true`.
enum ConfigurationJSON: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([ConfigurationJSON])
    case object([String: ConfigurationJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ConfigurationJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ConfigurationJSON].self))
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
            root = try JSONDecoder().decode(ConfigurationJSON.self, from: data)
        } catch {
            // The decoder's message can quote the offending character, which may belong to a secret: keep only
            // the position.
            throw ConfigurationError(
                .malformedFile, subject: path,
                "\(path) is not valid JSON\(Self.position(in: data)); fix the syntax (a JSON object as in Config/unlearnd.json)"
            )
        }
        guard case .object(let object) = root else {
            throw ConfigurationError(
                .malformedFile, subject: path,
                "\(path) must hold a JSON object at the top level, not \(root.typeName) (see Config/unlearnd.json)"
            )
        }
        if let duplicate = repeatedKey(in: data) {
            // JSONDecoder keeps the last of repeated names silently; an operator's second "batch" object would
            // hide the first one's keys.
            throw ConfigurationError(
                .duplicateKey, subject: duplicate, "\(duplicate) appears twice in \(path); merge the two into one"
            )
        }
        var result: [String: ConfigurationJSON] = [:]
        try flatten(object, prefix: "", into: &result, path: path)
        return result
    }

    /// The dotted path of the first name repeated within one object of a valid JSON text, if any.
    static func repeatedKey(in data: Data) -> String? {
        struct Frame {
            var isObject: Bool
            var names: Set<[UInt8]> = []
            var current: [UInt8] = []
            var expectingName: Bool
        }
        let bytes = [UInt8](data)
        var stack: [Frame] = []
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"): stack.append(Frame(isObject: true, expectingName: true))
            case UInt8(ascii: "["): stack.append(Frame(isObject: false, expectingName: false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = stack.popLast()
            case UInt8(ascii: ","): if stack.last?.isObject == true { stack[stack.count - 1].expectingName = true }
            case UInt8(ascii: ":"): if !stack.isEmpty { stack[stack.count - 1].expectingName = false }
            case UInt8(ascii: "\""):
                var j = i + 1
                while j < bytes.count, bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
                let string = Array(bytes[(i + 1)..<min(j, bytes.count)])
                if let last = stack.last, last.isObject, last.expectingName {
                    if last.names.contains(string) {
                        let path = stack.filter(\.isObject).dropLast().map(\.current) + [string]
                        return path.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".")
                    }
                    stack[stack.count - 1].names.insert(string)
                    stack[stack.count - 1].current = string
                }
                i = j
            default: break
            }
            i += 1
        }
        return nil
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

    /// " (line 2, column 25)" for a syntax error: JSONDecoder does not say where, JSONSerialization gives the
    /// byte offset. Only the position, never the parser's text, which may quote a secret.
    private static func position(in data: Data) -> String {
        let text: String
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return ""
        } catch {
            text = String(describing: error)
        }
        if text.contains("end of file") { return " (unexpected end of file)" }
        guard let range = text.range(of: #"character \d+"#, options: .regularExpression),
              let offset = Int(text[range].dropFirst("character ".count))
        else { return "" }
        let prefix = data.prefix(offset)
        let line = prefix.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        let column = offset - (prefix.lastIndex(of: UInt8(ascii: "\n")).map { $0 - prefix.startIndex + 1 } ?? 0) + 1
        return " (line \(line), column \(column))"
    }
}
