import Configuration
import KafkaLog
import UnlearningCore

extension DaemonConfiguration {
    /// Loads the configuration from the command line, the environment, credential files and the JSON file,
    /// validating every key (Config/README.md).
    ///
    /// Arguments (the program name excluded): `--config PATH` (default `$UNLEARND_CONFIG`, else
    /// `/etc/unlearnd/unlearnd.json`, which may be absent) and `--set KEY=VALUE`, repeatable; `--opt=value` works
    /// too. Anything else is an error.
    ///
    /// Precedence, highest first: `--set`; `UNLEARND_*` environment variables; for `kafka.*` properties, files
    /// named `kafka.<property>` in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`); the JSON file; the
    /// defaults of ``DaemonConfiguration/init()``.
    ///
    /// - Throws: ``ConfigurationError`` with a one-line message naming the key, the value (never a secret one),
    ///   its source and the allowed values; for unknown keys or variables, their name.
    public static func load(arguments: [String], environment: [String: String]) throws(ConfigurationError) -> Self {
        let (configFile, overrides) = try parse(arguments: arguments)
        return try load(configFile: configFile, overrides: overrides, environment: environment)
    }

    /// `--config PATH` and the `--set` values, in order.
    private static func parse(arguments: [String]) throws(ConfigurationError) -> (configFile: String?, overrides: [String]) {
        var configFile: String?
        var overrides: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            let (option, inlineValue) = Self.split(argument)
            guard option == "--config" || option == "--set" else {
                throw ConfigurationError(.invalidArgument, subject: option, Self.unexpectedArgumentReason(argument, position: index))
            }
            let value: String
            if let inlineValue {
                value = inlineValue
            } else if index < arguments.endIndex {
                value = arguments[index]
                index += 1
            } else {
                throw ConfigurationError(
                    .invalidArgument, subject: option,
                    option == "--config" ? "--config needs a path" : "--set needs KEY=VALUE (e.g. --set batch.max_rows=512)"
                )
            }
            if option == "--config" {
                guard configFile == nil else {
                    throw ConfigurationError(.invalidArgument, subject: option, "--config is given twice; keep one")
                }
                configFile = value
            } else {
                overrides.append(value)
            }
        }
        return (configFile, overrides)
    }

    /// ``load(arguments:environment:)`` with another default file path, for tests.
    static func load(
        arguments: [String], environment: [String: String], defaultFilePath: String
    ) throws(ConfigurationError) -> Self {
        let (configFile, overrides) = try parse(arguments: arguments)
        return try load(configFile: configFile, overrides: overrides, environment: environment, defaultFilePath: defaultFilePath)
    }

    /// Loads the configuration from already parsed options: for a `main` that parses its own command line
    /// (swift-argument-parser). `configFile` nil means `$UNLEARND_CONFIG`, else the default path; `overrides`
    /// are `KEY=VALUE` strings as given to `--set`. See ``load(arguments:environment:)``.
    public static func load(
        configFile: String?, overrides: [String], environment: [String: String]
    ) throws(ConfigurationError) -> Self {
        try load(
            configFile: configFile, overrides: overrides, environment: environment,
            defaultFilePath: ConfigurationSources.defaultFilePath
        )
    }

    /// ``load(configFile:overrides:environment:)`` with another default file path, for tests.
    static func load(
        configFile: String?, overrides: [String], environment: [String: String], defaultFilePath: String
    ) throws(ConfigurationError) -> Self {
        let keys = configurationKeys
        let sources = try ConfigurationSources(
            configFile: configFile, overrides: overrides, environment: environment, known: Set(keys.map(\.name)),
            defaultFilePath: defaultFilePath
        )
        let defaults = DaemonConfiguration()
        var defaultValues: [AbsoluteConfigKey: ConfigValue] = [:]
        for key in keys {
            defaultValues[AbsoluteConfigKey(ConfigKey(key.name))] = ConfigValue(key.defaultContent(defaults), isSecret: false)
        }
        for (property, value) in defaults.kafka {
            defaultValues[AbsoluteConfigKey(ConfigKey(ConfigurationSources.kafkaPrefix + property))] = ConfigValue(
                .string(value), isSecret: KafkaConfiguration.isSecret(property)
            )
        }
        let secretVariables = Set(sources.environment.values.filter(\.isSecret).map(\.origin))
        let environmentProvider = EnvironmentVariablesProvider(
            environmentVariables: sources.environmentVariables,
            secretsSpecifier: .dynamic { name, _ in secretVariables.contains(name) }
        )
        let config = ConfigReader(providers: [
            ConfigurationLayer(name: "command line (--set)", entries: sources.overrides),
            environmentProvider.prefixKeys(with: ConfigKey("unlearnd")),
            ConfigurationLayer(name: "credentials", entries: sources.credentials),
            ConfigurationLayer(name: sources.filePath ?? "configuration file", entries: sources.file),
            InMemoryProvider(name: "defaults", values: defaultValues),
        ])
        let reader = ConfigurationReader(config: config, sources: sources)

        var configuration = DaemonConfiguration()
        for key in keys { try key.apply(&configuration, reader) }
        try configuration.checkRelations(reader)

        var kafka = defaults.kafka
        var secretProperties = Set<String>()
        for property in sources.kafkaProperties.union(defaults.kafka.keys).sorted() {
            let key = ConfigurationSources.kafkaPrefix + property
            let fromCredentials = sources.credentials[key] != nil
            let isSecret = fromCredentials || KafkaConfiguration.isSecret(property)
            kafka[property] = try reader.string(key, allowed: "a librdkafka property value", isSecret: isSecret)
            if fromCredentials { secretProperties.insert(property) }
        }
        configuration.kafka = kafka
        configuration.secretKafkaProperties = secretProperties
        configuration.configurationFile = sources.filePath
        return configuration
    }

    /// Constraints between keys, checked once every key is valid on its own.
    private func checkRelations(_ reader: ConfigurationReader) throws(ConfigurationError) {
        if budget.epsilonStep > budget.epsilonBudget {
            throw ConfigurationError(
                .conflictingValues, subject: "budget.epsilon_step",
                "\(reader.describe("budget.epsilon_step", value: ConfigurationFormat.number(budget.epsilonStep))) exceeds \(reader.describe("budget.epsilon", value: ConfigurationFormat.number(budget.epsilonBudget))); allowed: budget.epsilon_step <= budget.epsilon"
            )
        }
        if budget.sigmaFloor > budget.sigmaMax {
            throw ConfigurationError(
                .conflictingValues, subject: "budget.sigma_floor",
                "\(reader.describe("budget.sigma_floor", value: ConfigurationFormat.number(budget.sigmaFloor))) exceeds \(reader.describe("budget.sigma_max", value: ConfigurationFormat.number(budget.sigmaMax))); allowed: budget.sigma_floor <= budget.sigma_max"
            )
        }
        let topics = [
            ("topics.deletions", deletionsTopic), ("topics.dead_letter", deadLetterTopic), ("topics.alerts", alertsTopic),
        ]
        for (i, first) in topics.enumerated() {
            for second in topics[(i + 1)...] where first.1 == second.1 {
                throw ConfigurationError(
                    .conflictingValues, subject: second.0,
                    "\(reader.describe(first.0, value: first.1)) and \(reader.describe(second.0, value: second.1)) name the same topic; the three topics must differ"
                )
            }
        }
    }

    /// `--opt=value` as (`--opt`, `value`); anything else as (argument, nil).
    private static func split(_ argument: String) -> (String, String?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    /// Names an unexpected option but never echoes a bare value: it may be a secret typed after `--set KEY`.
    private static func unexpectedArgumentReason(_ argument: String, position: Int) -> String {
        let usage = "unlearnd accepts --config PATH and --set KEY=VALUE (repeatable)"
        if argument.hasPrefix("-") {
            let option = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            return "unknown option \(option); \(usage)"
        }
        return "unexpected argument \(position) (not an option; is a value missing its KEY= or option?); \(usage)"
    }
}
