import Configuration

/// One documented configuration key: its name, type, allowed values and meaning (the columns of the table in
/// Config/README.md), and how it is read into, defaulted from and shown from a ``DaemonConfiguration``.
struct ConfigurationKey {
    /// The dotted key, as in the file and in `--set`.
    let name: String
    /// "integer", "number", "boolean", "string", "list of strings".
    let type: String
    /// The allowed values, as errors and Config/README.md state them.
    let allowed: String
    /// What the key does (the README's last column).
    let meaning: String
    /// The default as swift-configuration content, served by the lowest-priority provider.
    let defaultContent: (DaemonConfiguration) -> ConfigContent
    /// Reads the effective value, validates it and stores it.
    let apply: (inout DaemonConfiguration, ConfigurationReader) throws(ConfigurationError) -> Void
    /// The value as the summary and the README show it.
    let render: (DaemonConfiguration) -> String

    /// The environment variable that sets this key.
    var environmentVariable: String { ConfigurationFormat.environmentVariable(for: name) }
}

extension ConfigurationKey {
    typealias Path<Value> = WritableKeyPath<DaemonConfiguration, Value>

    static func integer(_ name: String, _ path: Path<Int>, _ range: ClosedRange<Int>, _ meaning: String) -> Self {
        let allowed = "\(range.lowerBound) to \(range.upperBound)"
        return Self(
            name: name, type: "integer", allowed: allowed, meaning: meaning,
            defaultContent: { .int($0[keyPath: path]) },
            apply: { configuration, reader throws(ConfigurationError) in
                let value = try reader.integer(name, allowed: allowed)
                guard range.contains(value) else { throw reader.invalid(name, allowed: allowed) }
                configuration[keyPath: path] = value
            },
            render: { String($0[keyPath: path]) }
        )
    }

    /// An optional count whose absence is written as 0 ("all rows", "no cap"), so that every source can state it.
    static func optionalInteger(
        _ name: String, _ path: Path<Int?>, _ range: ClosedRange<Int>, zeroMeans: String, _ meaning: String
    ) -> Self {
        let allowed = "0 (\(zeroMeans)) or \(range.lowerBound) to \(range.upperBound)"
        return Self(
            name: name, type: "integer", allowed: allowed, meaning: meaning,
            defaultContent: { .int($0[keyPath: path] ?? 0) },
            apply: { configuration, reader throws(ConfigurationError) in
                let value = try reader.integer(name, allowed: allowed)
                guard value == 0 || range.contains(value) else { throw reader.invalid(name, allowed: allowed) }
                configuration[keyPath: path] = value == 0 ? nil : value
            },
            render: { String($0[keyPath: path] ?? 0) }
        )
    }

    static func seed(_ name: String, _ path: Path<UInt64>, _ meaning: String) -> Self {
        // 2^53 - 1: the largest integer every JSON parser reads exactly.
        let range = 0...9_007_199_254_740_991
        let allowed = "0 to \(range.upperBound)"
        return Self(
            name: name, type: "integer", allowed: allowed, meaning: meaning,
            defaultContent: { .int(Int($0[keyPath: path])) },
            apply: { configuration, reader throws(ConfigurationError) in
                let value = try reader.integer(name, allowed: allowed)
                guard range.contains(value) else { throw reader.invalid(name, allowed: allowed) }
                configuration[keyPath: path] = UInt64(value)
            },
            render: { String($0[keyPath: path]) }
        )
    }

    static func number(_ name: String, _ path: Path<Double>, _ interval: NumberInterval, _ meaning: String) -> Self {
        let allowed = interval.description
        return Self(
            name: name, type: "number", allowed: allowed, meaning: meaning,
            defaultContent: { .double($0[keyPath: path]) },
            apply: { configuration, reader throws(ConfigurationError) in
                let value = try reader.number(name, allowed: allowed)
                guard interval.contains(value) else { throw reader.invalid(name, allowed: allowed) }
                configuration[keyPath: path] = value
            },
            render: { ConfigurationFormat.number($0[keyPath: path]) }
        )
    }

    static func boolean(_ name: String, _ path: Path<Bool>, _ meaning: String) -> Self {
        let allowed = "true, false"
        return Self(
            name: name, type: "boolean", allowed: allowed, meaning: meaning,
            defaultContent: { .bool($0[keyPath: path]) },
            apply: { configuration, reader throws(ConfigurationError) in
                configuration[keyPath: path] = try reader.boolean(name, allowed: allowed)
            },
            render: { String($0[keyPath: path]) }
        )
    }

    /// A string that must be one of `options`.
    static func choice(_ name: String, _ path: Path<String>, _ options: [String], _ meaning: String) -> Self {
        let allowed = options.joined(separator: ", ")
        return Self(
            name: name, type: "string", allowed: allowed, meaning: meaning,
            defaultContent: { .string($0[keyPath: path]) },
            apply: { configuration, reader throws(ConfigurationError) in
                let value = try reader.string(name, allowed: allowed)
                guard options.contains(value) else { throw reader.invalid(name, allowed: allowed) }
                configuration[keyPath: path] = value
            },
            render: { $0[keyPath: path] }
        )
    }

    /// A string naming a case of `Option`.
    static func choice<Option: RawRepresentable<String> & CaseIterable>(
        _ name: String, _ path: Path<Option>, _ meaning: String
    ) -> Self {
        let allowed = Option.allCases.map(\.rawValue).joined(separator: ", ")
        return Self(
            name: name, type: "string", allowed: allowed, meaning: meaning,
            defaultContent: { .string($0[keyPath: path].rawValue) },
            apply: { configuration, reader throws(ConfigurationError) in
                let value = try reader.string(name, allowed: allowed)
                guard let option = Option(rawValue: value) else { throw reader.invalid(name, allowed: allowed) }
                configuration[keyPath: path] = option
            },
            render: { $0[keyPath: path].rawValue }
        )
    }

    /// A case of `Option`, or `none` for nil (the option's default chosen elsewhere, e.g. per model kind).
    static func optionalChoice<Option: RawRepresentable<String> & CaseIterable>(
        _ name: String, _ path: Path<Option?>, none: String, _ meaning: String
    ) -> Self {
        let allowed = ([none] + Option.allCases.map(\.rawValue)).joined(separator: ", ")
        return Self(
            name: name, type: "string", allowed: allowed, meaning: meaning,
            defaultContent: { .string($0[keyPath: path]?.rawValue ?? none) },
            apply: { configuration, reader throws(ConfigurationError) in
                let value = try reader.string(name, allowed: allowed)
                if value == none {
                    configuration[keyPath: path] = nil
                    return
                }
                guard let option = Option(rawValue: value) else { throw reader.invalid(name, allowed: allowed) }
                configuration[keyPath: path] = option
            },
            render: { $0[keyPath: path]?.rawValue ?? none }
        )
    }

    /// An optional number whose absence is written as 0 ("no cap").
    static func optionalNumber(
        _ name: String, _ path: Path<Double?>, _ interval: NumberInterval, zeroMeans: String, _ meaning: String
    ) -> Self {
        let allowed = "0 (\(zeroMeans)) or \(interval.description)"
        return Self(
            name: name, type: "number", allowed: allowed, meaning: meaning,
            defaultContent: { .double($0[keyPath: path] ?? 0) },
            apply: { configuration, reader throws(ConfigurationError) in
                let value = try reader.number(name, allowed: allowed)
                guard value == 0 || interval.contains(value) else { throw reader.invalid(name, allowed: allowed) }
                configuration[keyPath: path] = value == 0 ? nil : value
            },
            render: { ConfigurationFormat.number($0[keyPath: path] ?? 0) }
        )
    }

    /// An optional number whose absence is written as the string `auto` (a default computed elsewhere, e.g. from the
    /// model's validation accuracy), so that 0 keeps its meaning as a number.
    static func automaticNumber(
        _ name: String, _ path: Path<Double?>, _ interval: NumberInterval, autoMeans: String, _ meaning: String
    ) -> Self {
        let allowed = "auto (\(autoMeans)) or \(interval.description)"
        return Self(
            name: name, type: "number", allowed: allowed, meaning: meaning,
            defaultContent: { $0[keyPath: path].map { .double($0) } ?? .string("auto") },
            apply: { configuration, reader throws(ConfigurationError) in
                if let value = try? reader.number(name, allowed: allowed) {
                    guard interval.contains(value) else { throw reader.invalid(name, allowed: allowed) }
                    configuration[keyPath: path] = value
                    return
                }
                guard try reader.string(name, allowed: allowed) == "auto" else { throw reader.invalid(name, allowed: allowed) }
                configuration[keyPath: path] = nil
            },
            render: { $0[keyPath: path].map(ConfigurationFormat.number) ?? "auto" }
        )
    }

    /// A free string checked by `isValid`.
    static func string(
        _ name: String, _ path: Path<String>, allowed: String, _ meaning: String,
        isValid: @escaping (String) -> Bool
    ) -> Self {
        Self(
            name: name, type: "string", allowed: allowed, meaning: meaning,
            defaultContent: { .string($0[keyPath: path]) },
            apply: { configuration, reader throws(ConfigurationError) in
                let value = try reader.string(name, allowed: allowed)
                guard isValid(value) else { throw reader.invalid(name, allowed: allowed) }
                configuration[keyPath: path] = value
            },
            render: { $0[keyPath: path] }
        )
    }
}
