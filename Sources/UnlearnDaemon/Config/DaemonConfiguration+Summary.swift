import KafkaLog

extension DaemonConfiguration {
    /// Every effective key and value, for the daemon to log at start: the keys of Config/README.md plus one
    /// `kafka.<property>` per librdkafka property, with secret values replaced by `<redacted>`. Lists are
    /// comma-separated; `models` reads `id=bundle,...`.
    public func redactedSummary() -> [String: String] {
        var summary: [String: String] = [:]
        for key in Self.configurationKeys {
            summary[key.name] = key.render(self)
        }
        for (property, value) in kafka {
            summary[ConfigurationSources.kafkaPrefix + property] =
                isSecretKafkaProperty(property) ? ConfigurationFormat.redacted : value
        }
        return summary
    }

    /// Whether a librdkafka property's value must not be shown: secret by name, or read from a credential file.
    public func isSecretKafkaProperty(_ property: String) -> Bool {
        KafkaConfiguration.isSecret(property) || secretKafkaProperties.contains(property)
    }
}
