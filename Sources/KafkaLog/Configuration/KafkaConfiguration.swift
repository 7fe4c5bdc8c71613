/// librdkafka configuration properties, passed through as given (see librdkafka's CONFIGURATION.md), so that
/// operator settings such as `security.protocol`, `sasl.*` and `ssl.*` reach librdkafka unchanged.
///
/// Values of secret properties (``isSecret(_:)``) never appear in ``description``, logs or error messages.
public struct KafkaConfiguration: Sendable, CustomStringConvertible {
    /// The properties, keyed by librdkafka property name.
    public var properties: [String: String]

    /// Creates a configuration from librdkafka properties.
    public init(_ properties: [String: String] = [:]) {
        self.properties = properties
    }

    /// Creates a configuration with `bootstrap.servers` set, plus any further properties.
    public init(bootstrapServers: String, _ properties: [String: String] = [:]) {
        self.properties = properties
        self.properties["bootstrap.servers"] = bootstrapServers
    }

    /// Creates a configuration from the keys of a larger key space that start with `prefix`, prefix removed:
    /// `kafka.security.protocol` becomes `security.protocol`. Other keys are ignored.
    public init(keysPrefixed prefix: String, in settings: [String: String]) {
        var properties: [String: String] = [:]
        for (key, value) in settings where key.hasPrefix(prefix) && key.count > prefix.count {
            properties[String(key.dropFirst(prefix.count))] = value
        }
        self.properties = properties
    }

    public subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// Whether a property's value is a secret: passwords, private keys, OAuth client secrets and configs.
    public static func isSecret(_ key: String) -> Bool {
        let key = key.lowercased()
        return key.contains("password") || key.contains("secret") || key.hasSuffix("key.pem")
            || key == "ssl_key" || key == "sasl.oauthbearer.config"
    }

    /// The properties with secret values replaced by `[REDACTED]`, for logging.
    public var redacted: [String: String] {
        var result = properties
        for key in result.keys where Self.isSecret(key) { result[key] = "[REDACTED]" }
        return result
    }

    public var description: String {
        let pairs = redacted.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return "KafkaConfiguration(\(pairs.joined(separator: ", ")))"
    }
}
