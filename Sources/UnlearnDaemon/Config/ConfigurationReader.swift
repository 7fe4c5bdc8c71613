import Configuration

/// Reads typed values through swift-configuration's `ConfigReader` and turns every failure into a
/// ``ConfigurationError`` that names the key, the value, where it came from and what is allowed.
struct ConfigurationReader {
    let config: ConfigReader
    let sources: ConfigurationSources

    func integer(_ key: String, allowed: String) throws(ConfigurationError) -> Int {
        do { return try config.requiredInt(forKey: ConfigKey(key)) } catch { throw invalid(key, allowed: allowed) }
    }

    func number(_ key: String, allowed: String) throws(ConfigurationError) -> Double {
        do { return try config.requiredDouble(forKey: ConfigKey(key)) } catch { throw invalid(key, allowed: allowed) }
    }

    func boolean(_ key: String, allowed: String) throws(ConfigurationError) -> Bool {
        do { return try config.requiredBool(forKey: ConfigKey(key)) } catch { throw invalid(key, allowed: allowed) }
    }

    func string(_ key: String, allowed: String, isSecret: Bool = false) throws(ConfigurationError) -> String {
        do {
            return try config.requiredString(forKey: ConfigKey(key), isSecret: isSecret)
        } catch {
            throw invalid(key, allowed: allowed)
        }
    }

    func list(_ key: String, allowed: String) throws(ConfigurationError) -> [String] {
        do {
            return try config.requiredStringArray(forKey: ConfigKey(key))
        } catch {
            throw invalid(key, allowed: allowed)
        }
    }

    /// The error for a value of `key` that is of the wrong type or outside `allowed`: names the key, the value as
    /// given (redacted if secret), its source, and the allowed values, plus an optional detail.
    func invalid(_ key: String, allowed: String, detail: String? = nil) -> ConfigurationError {
        let detail = detail.map { " (\($0))" } ?? ""
        guard let entry = sources.entry(for: key) else {
            let variable = ConfigurationFormat.environmentVariable(for: key)
            return ConfigurationError(
                .invalidValue, subject: key,
                "\(key) is not set\(detail); set it in the configuration file, as \(variable) or with --set \(key)=...; allowed: \(allowed)"
            )
        }
        return ConfigurationError(
            .invalidValue, subject: key,
            "invalid value \(entry.display) for \(key) from \(entry.origin)\(detail); allowed: \(allowed)"
        )
    }

    /// Where the effective value of `key` came from and how it reads, for messages about two keys.
    func describe(_ key: String, value: String) -> String {
        guard let entry = sources.entry(for: key) else { return "\(key) = \(value) (default)" }
        return "\(key) = \(entry.display) (from \(entry.origin))"
    }
}
