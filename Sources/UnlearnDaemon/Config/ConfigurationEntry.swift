import Configuration

/// One value as a source gave it, before conversion to its key's type.
struct ConfigurationEntry: Sendable {
    enum Raw: Sendable {
        /// Text from `--set`, an environment variable or a credential file; converted like environment variables.
        case text(String)
        /// A value of the JSON file, converted strictly by JSON type.
        case json(ConfigurationJSON)
    }

    var raw: Raw
    /// Where the value came from, for error messages: `--set batch.max_rows`, `UNLEARND_BATCH_MAX_ROWS`, a path.
    var origin: String
    var isSecret: Bool

    /// The value for an error message: quoted text or the JSON literal; `<redacted>` for secrets.
    var display: String {
        if isSecret { return ConfigurationFormat.redacted }
        switch raw {
        case .text(let text): return "\"\(text)\""
        case .json(let json): return json.literal
        }
    }

    /// The value as swift-configuration content of the requested type, or nil if it does not convert.
    func content(as type: ConfigType) -> ConfigContent? {
        switch raw {
        case .text(let text): Self.content(text: text, as: type)
        case .json(let json): Self.content(json: json, as: type)
        }
    }

    private static func content(text: String, as type: ConfigType) -> ConfigContent? {
        switch type {
        case .string: return .string(text)
        case .int: return Int(text).map(ConfigContent.int)
        case .double: return Double(text).map(ConfigContent.double)
        case .bool: return ConfigurationFormat.boolean(text).map(ConfigContent.bool)
        case .stringArray: return .stringArray(ConfigurationFormat.list(text))
        default: return nil
        }
    }

    private static func content(json: ConfigurationJSON, as type: ConfigType) -> ConfigContent? {
        switch (type, json) {
        case (.string, .string(let value)): return .string(value)
        case (.int, .int(let value)): return .int(value)
        case (.int, .double(let value)): return Int(exactly: value).map(ConfigContent.int)
        case (.double, .int(let value)): return .double(Double(value))
        case (.double, .double(let value)): return .double(value)
        case (.bool, .bool(let value)): return .bool(value)
        case (.stringArray, .array(let values)):
            var strings: [String] = []
            for value in values {
                guard case .string(let string) = value else { return nil }
                strings.append(string)
            }
            return .stringArray(strings)
        default: return nil
        }
    }
}
