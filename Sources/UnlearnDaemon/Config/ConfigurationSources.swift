import Foundation
import KafkaLog

/// The raw values of every source, parsed and checked for unknown keys before any value is converted:
/// `--set` overrides, `UNLEARND_*` environment variables, credential files and the JSON file.
struct ConfigurationSources {
    /// `--set KEY=VALUE`, by key.
    var overrides: [String: ConfigurationEntry] = [:]
    /// `UNLEARND_*` variables that set keys, by key.
    var environment: [String: ConfigurationEntry] = [:]
    /// The same variables by name, for swift-configuration's `EnvironmentVariablesProvider`.
    var environmentVariables: [String: String] = [:]
    /// `$CREDENTIALS_DIRECTORY/kafka.*` files, by key (`kafka.sasl.password`).
    var credentials: [String: ConfigurationEntry] = [:]
    /// The JSON file's values, by flattened key.
    var file: [String: ConfigurationEntry] = [:]
    /// The JSON file read, if any.
    var filePath: String?

    /// The entry that decides the value of `key`, in precedence order.
    func entry(for key: String) -> ConfigurationEntry? {
        overrides[key] ?? environment[key] ?? credentials[key] ?? file[key]
    }

    /// Every `kafka.*` property set by some source, without the `kafka.` prefix.
    var kafkaProperties: Set<String> {
        var names = Set<String>()
        for layer in [overrides, environment, credentials, file] {
            for key in layer.keys where key.hasPrefix(Self.kafkaPrefix) {
                names.insert(String(key.dropFirst(Self.kafkaPrefix.count)))
            }
        }
        return names
    }

    static let kafkaPrefix = "kafka."
    static let defaultFilePath = "/etc/unlearnd/unlearnd.json"
    /// Names the configuration file when `--config` is not given.
    static let fileVariable = "UNLEARND_CONFIG"
    /// `UNLEARND_*` variables that are not configuration keys and are read elsewhere, so they are not rejected.
    static let otherVariables: Set<String> = [
        "UNLEARND_SHA256",  // Checkpoints: force the portable SHA-256
        "UNLEARND_BIN_DIR",  // end-to-end tests: where the built binaries are
        "UNLEARND_TORCH_PYTHON",  // tests and benchmarks: the Python interpreter that imports torch (./dev torch)
        "UNLEARND_KEEP_TEST_DIRS",  // end-to-end tests: keep scratch directories (inherited by the daemon)
    ]

    /// Reads every source. Throws for unknown keys and variables, duplicate keys, and unreadable or malformed files.
    init(
        configFile: String?, overrides: [String], environment: [String: String], known: Set<String>,
        defaultFilePath: String = Self.defaultFilePath
    ) throws(ConfigurationError) {
        for override in overrides { try addOverride(override, known: known) }
        try readEnvironment(environment, known: known)
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            try readCredentials(directory)
        }
        let explicitPath = configFile ?? environment[Self.fileVariable]
        try readFile(explicitPath ?? defaultFilePath, explicit: explicitPath != nil, known: known)
    }

    private mutating func addOverride(_ override: String, known: Set<String>) throws(ConfigurationError) {
        guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
            throw ConfigurationError(
                .invalidArgument, subject: "--set",
                "--set needs KEY=VALUE, got \"\(Self.redactedOverride(override))\" (e.g. --set batch.max_rows=512)"
            )
        }
        let key = String(override[..<equals])
        let value = String(override[override.index(after: equals)...])
        let origin = "--set \(key)"
        try Self.checkKnown(key, known: known, source: "--set")
        guard overrides[key] == nil else {
            throw ConfigurationError(.duplicateKey, subject: key, "--set \(key) is given twice; keep one")
        }
        overrides[key] = ConfigurationEntry(raw: .text(value), origin: origin, isSecret: Self.isSecret(key))
    }

    private mutating func readEnvironment(_ variables: [String: String], known: Set<String>) throws(ConfigurationError) {
        let keysByVariable = Dictionary(
            uniqueKeysWithValues: known.map { (ConfigurationFormat.environmentVariable(for: $0), $0) }
        )
        let kafkaVariablePrefix = "UNLEARND_KAFKA_"
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) where name.uppercased().hasPrefix("UNLEARND_") {
            if name == Self.fileVariable || Self.otherVariables.contains(name) { continue }
            let key: String
            if let known = keysByVariable[name] {
                key = known
            } else if name.hasPrefix(kafkaVariablePrefix), name.count > kafkaVariablePrefix.count {
                // librdkafka property names are lower case with dots, so the variable maps back unambiguously.
                let property = name.dropFirst(kafkaVariablePrefix.count).lowercased()
                    .replacingOccurrences(of: "_", with: ".")
                key = Self.kafkaPrefix + property
                try Self.checkKafkaProperty(key, source: name)
            } else {
                let candidates = Array(keysByVariable.keys) + [Self.fileVariable]
                let hint =
                    ConfigurationFormat.suggestion(for: name.uppercased(), among: candidates)
                    .map { "did you mean \($0)? " } ?? ""
                throw ConfigurationError(
                    .unknownEnvironmentVariable, subject: name,
                    "unknown environment variable \(name); \(hint)remove it or use a variable listed in Config/README.md"
                )
            }
            environmentVariables[name] = value
            environment[key] = ConfigurationEntry(raw: .text(value), origin: name, isSecret: Self.isSecret(key))
        }
    }

    private mutating func readCredentials(_ directory: String) throws(ConfigurationError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ConfigurationError(
                .unreadableFile, subject: directory,
                "cannot list CREDENTIALS_DIRECTORY \(directory); check the unit's LoadCredential= lines"
            )
        }
        // Files not named kafka.<property> may be credentials of other software in the unit; they are not ours.
        for name in names.sorted() where name.hasPrefix(Self.kafkaPrefix) {
            let path = (directory as NSString).appendingPathComponent(name)
            try Self.checkKafkaProperty(name, source: "credential file \(path)")
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(
                    .unreadableFile, subject: path,
                    "cannot read credential file \(path); check its permissions and the unit's LoadCredential= line"
                )
            }
            guard var value = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(
                    .invalidValue, subject: name, "credential file \(path) is not UTF-8 text; store the value as text"
                )
            }
            // Files written with echo or an editor end in a newline that is not part of the secret.
            if value.hasSuffix("\r\n") { value.removeLast(2) } else if value.hasSuffix("\n") { value.removeLast() }
            credentials[name] = ConfigurationEntry(raw: .text(value), origin: "credential \(path)", isSecret: true)
        }
    }

    private mutating func readFile(_ path: String, explicit: Bool, known: Set<String>) throws(ConfigurationError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            if !explicit { return }
            throw ConfigurationError(
                .fileNotFound, subject: path,
                "configuration file \(path) does not exist; create it (see Config/unlearnd.json) or fix the path"
            )
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(
                .unreadableFile, subject: path,
                "cannot read configuration file \(path); it must be a regular file readable by the daemon's user"
            )
        }
        filePath = path
        for (key, value) in try ConfigurationJSON.flattenedObject(data, path: path) {
            if key.hasPrefix(Self.kafkaPrefix) {
                try Self.checkKafkaProperty(key, source: path)
                let text: String
                switch value {
                case .string(let string): text = string
                case .bool(let bool): text = String(bool)
                case .int(let int): text = String(int)
                case .double(let double): text = ConfigurationFormat.number(double)
                case .null, .array, .object:
                    throw ConfigurationError(
                        .invalidValue, subject: key,
                        "\(key) in \(path) is \(value.typeName); librdkafka properties are strings, numbers or booleans"
                    )
                }
                file[key] = ConfigurationEntry(raw: .text(text), origin: path, isSecret: Self.isSecret(key))
            } else if key == "kafka" {
                throw ConfigurationError(
                    .invalidValue, subject: key,
                    "kafka in \(path) must be an object of librdkafka properties, e.g. {\"bootstrap.servers\": \"host:9092\"}"
                )
            } else {
                try Self.checkKnown(key, known: known, source: path)
                if case .null = value {
                    throw ConfigurationError(
                        .invalidValue, subject: key,
                        "\(key) in \(path) is null; remove the key to use its default or give a value"
                    )
                }
                file[key] = ConfigurationEntry(raw: .json(value), origin: path, isSecret: false)
            }
        }
    }

    private static func checkKnown(_ key: String, known: Set<String>, source: String) throws(ConfigurationError) {
        if key.hasPrefix(kafkaPrefix) {
            try checkKafkaProperty(key, source: source)
            return
        }
        guard known.contains(key) else {
            let hint = ConfigurationFormat.suggestion(for: key, among: known).map { "did you mean \($0)? " } ?? ""
            throw ConfigurationError(
                .unknownKey, subject: key,
                "unknown configuration key \(key) in \(source); \(hint)the keys are listed in Config/README.md"
            )
        }
    }

    /// librdkafka checks the property itself; here only that the name can be one (no empty parts, no blanks).
    private static func checkKafkaProperty(_ key: String, source: String) throws(ConfigurationError) {
        let property = key.dropFirst(kafkaPrefix.count)
        let valid =
            !property.isEmpty
            && property.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
                !part.isEmpty && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
            }
        guard valid else {
            throw ConfigurationError(
                .unknownKey, subject: key,
                "\(key) in \(source) is not a librdkafka property name (letters, digits, dots, e.g. kafka.bootstrap.servers)"
            )
        }
        if let reason = controlledKafkaProperties[String(property)] {
            throw ConfigurationError(.conflictingValues, subject: key, "\(key) in \(source) cannot be set: \(reason)")
        }
    }

    /// librdkafka properties the daemon sets itself; a value in the configuration would be overridden silently.
    static let controlledKafkaProperties: [String: String] = [
        "group.id": "set consumer.group_id instead",
        "enable.auto.commit": "the daemon commits offsets itself, once the snapshot that applied them is durable",
        "enable.auto.offset.store": "the daemon stores offsets itself, once the snapshot that applied them is durable",
    ]

    /// Whether a key's value is secret: `kafka.*` properties that KafkaConfiguration deems secret.
    static func isSecret(_ key: String) -> Bool {
        key.hasPrefix(kafkaPrefix) && KafkaConfiguration.isSecret(String(key.dropFirst(kafkaPrefix.count)))
    }

    /// A malformed `--set` argument for an error message: hidden entirely if it might hold a secret.
    private static func redactedOverride(_ argument: String) -> String {
        KafkaConfiguration.isSecret(argument) ? ConfigurationFormat.redacted : argument
    }
}
