import Configuration

/// A configuration provider over entries parsed by the daemon itself: the `--set` overrides, the credential files
/// and the JSON file. Keys are the dotted names of Config/README.md.
struct ConfigurationLayer: ConfigProvider, ConfigSnapshot {
    /// Thrown when an entry does not convert to the requested type; ``ConfigurationReader`` turns it into a
    /// ``ConfigurationError`` that names the key, the value and the allowed values.
    struct TypeMismatch: Error {
        var key: String
    }

    let providerName: String
    let entries: [String: ConfigurationEntry]

    init(name: String, entries: [String: ConfigurationEntry]) {
        self.providerName = name
        self.entries = entries
    }

    func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
        let name = key.components.joined(separator: ".")
        guard let entry = entries[name] else { return LookupResult(encodedKey: name, value: nil) }
        guard let content = entry.content(as: type) else { throw TypeMismatch(key: name) }
        return LookupResult(encodedKey: name, value: ConfigValue(content, isSecret: entry.isSecret))
    }

    func fetchValue(forKey key: AbsoluteConfigKey, type: ConfigType) async throws -> LookupResult {
        try value(forKey: key, type: type)
    }

    // swift-configuration is built with NonisolatedNonsendingByDefault; its requirements spell it out here.
    nonisolated(nonsending) func watchValue<Return: ~Copyable>(
        forKey key: AbsoluteConfigKey,
        type: ConfigType,
        updatesHandler:
            nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<Result<LookupResult, any Error>, Never>) async throws ->
            Return
    ) async throws -> Return {
        try await watchValueFromValue(forKey: key, type: type, updatesHandler: updatesHandler)
    }

    func snapshot() -> any ConfigSnapshot { self }

    nonisolated(nonsending) func watchSnapshot<Return: ~Copyable>(
        updatesHandler: nonisolated(nonsending) (_ updates: ConfigUpdatesAsyncSequence<any ConfigSnapshot, Never>) async throws -> Return
    ) async throws -> Return {
        try await watchSnapshotFromSnapshot(updatesHandler: updatesHandler)
    }
}
