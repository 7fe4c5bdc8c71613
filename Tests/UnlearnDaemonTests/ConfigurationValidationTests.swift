import Foundation
import Testing

@testable import UnlearnDaemon

@Suite("Configuration validation")
struct ConfigurationValidationTests {
    @Test("an unknown key in the file is rejected with its name and a suggestion")
    func unknownFileKey() throws {
        let scratch = try ScratchDirectory()
        for (json, name) in [
            (#"{"models": ["a=/a"], "batch": {"max_row": 5}}"#, "batch.max_row"),
            (#"{"models": ["a=/a"], "colour": "blue"}"#, "colour"),
            (#"{"models": ["a=/a"], "budget": {"epsilon": {"total": 5}}}"#, "budget.epsilon.total"),
        ] {
            let file = try scratch.config(json)
            let error = try #require(ConfigTest.error(["--config", file]))
            #expect(error.code == .unknownKey)
            #expect(error.subject == name)
            #expect(error.description.contains(name) && error.description.contains(file))
        }
        let file = try scratch.config(#"{"models": ["a=/a"], "batch": {"max_row": 5}}"#)
        #expect(ConfigTest.error(["--config", file])?.description.contains("did you mean batch.max_rows?") == true)
    }

    @Test("an unknown UNLEARND_* variable is rejected with its name; other software's variables are not")
    func unknownVariable() throws {
        var environment = ConfigTest.modelEnvironment
        environment["UNLEARND_BATCH_MAXROWS"] = "5"
        let error = try #require(ConfigTest.error(environment: environment))
        #expect(error.code == .unknownEnvironmentVariable)
        #expect(error.description.contains("UNLEARND_BATCH_MAXROWS"))
        #expect(error.description.contains("did you mean UNLEARND_BATCH_MAX_ROWS?"))

        var harmless = ConfigTest.modelEnvironment
        harmless["UNLEARND_SHA256"] = "software"
        harmless["PATH"] = "/usr/bin"
        harmless["KAFKA_HOME"] = "/opt/kafka"
        #expect(throws: Never.self) { try ConfigTest.load(environment: harmless) }
    }

    @Test("an unknown --set key and unknown options are rejected with their names")
    func unknownArguments() throws {
        let key = try #require(ConfigTest.error(["--set", "batch.maxrows=5"], environment: ConfigTest.modelEnvironment))
        #expect(key.code == .unknownKey && key.description.contains("batch.maxrows"))

        let option = try #require(ConfigTest.error(["--verbose"], environment: ConfigTest.modelEnvironment))
        #expect(option.code == .invalidArgument && option.description.contains("--verbose"))

        let noEquals = try #require(ConfigTest.error(["--set", "batch.max_rows"], environment: ConfigTest.modelEnvironment))
        #expect(noEquals.code == .invalidArgument && noEquals.description.contains("KEY=VALUE"))

        let missing = try #require(ConfigTest.error(["--config"], environment: ConfigTest.modelEnvironment))
        #expect(missing.code == .invalidArgument)

        let twice = try #require(
            ConfigTest.error(["--set", "snapshots.retain=2", "--set", "snapshots.retain=3"], environment: ConfigTest.modelEnvironment)
        )
        #expect(twice.code == .duplicateKey && twice.description.contains("snapshots.retain"))
    }

    /// (where the value comes from, key, value as given, what the message must contain besides key and value).
    static let invalidValues: [(source: String, key: String, value: String, allowed: String)] = [
        ("file", "batch.max_rows", "0", "1 to 100000"),
        ("file", "batch.max_rows", "100001", "1 to 100000"),
        ("env", "batch.max_rows", "lots", "1 to 100000"),
        ("file", "budget.delta", "0.5", "> 0 and <= 0.01"),
        ("env", "budget.delta", "0", "> 0 and <= 0.01"),
        ("set", "budget.epsilon", "-1", "> 0 and <= 1000"),
        ("file", "snapshots.retain", "0", "1 to 1000"),
        ("set", "snapshots.compression_level", "22", "1 to 19"),
        ("file", "unlearning.perturbations", "5", "10 to 100000"),
        ("file", "unlearning.selection", "\"best\"", "lfoci, full, random, top1"),
        ("env", "unlearning.noise_scope", "everything", "all, block"),
        ("env", "unlearning.noise", "maybe", "true, false"),
        ("file", "unlearning.noise", "1", "true, false"),
        ("file", "unlearning.tie_noise_fraction", "0", "> 0 and <= 1"),
        ("env", "unlearning.selection_level", "0.5", ">= 0 and < 0.5"),
        ("set", "unlearning.hessian_rows", "-3", "0 (all rows) or 1 to 1000000000"),
        ("file", "unlearning.seed", "-1", "0 to 9007199254740991"),
        ("file", "budget.max_accuracy_drop", "1.5", "0 to 1"),
        ("file", "budget.max_update_accuracy_drop", "1.5", "auto (two binomial standard errors of the base's validation accuracy) or 0 to 1"),
        ("file", "budget.max_update_accuracy_drop", "\"none\"", "auto (two binomial"),
        ("env", "budget.max_update_accuracy_drop", "-0.01", "auto (two binomial"),
        ("set", "budget.max_update_accuracy_drop", "automatic", "auto (two binomial"),
        ("set", "log.level", "verbose", "trace, debug, info, notice, warning, error, critical"),
        ("file", "batch.group_by", "\"model\"", "subject_or_class, request"),
        ("file", "batch.max_rows", "\"256\"", "1 to 100000"),
        ("file", "batch.max_rows", "2.5", "1 to 100000"),
        ("set", "topics.deletions", "bad topic!", "Kafka topic name"),
        ("file", "consumer.group_id", "\"\"", "1 to 255 characters"),
        ("set", "metrics.interval_ms", "10", "100 to 60000"),
        ("set", "unlearning.method", "retrain", "auto, newton, lfoci, dampening, finetune, neggrad, scrub, salun"),
        ("file", "unlearning.finetune_steps", "-1", "0 to 1000000"),
        ("env", "unlearning.finetune_learning_rate", "0", "> 0 and <= 10"),
        ("file", "unlearning.finetune_scope", "\"block\"", "all, lfoci"),
        ("set", "unlearning.neggrad_beta", "1.5", "0 to 1"),
        ("env", "unlearning.neggrad_optimizer", "rmsprop", "adam, sgd"),
        ("file", "unlearning.scrub_batch_size", "0", "1 to 100000"),
        ("set", "unlearning.scrub_temperature", "0", "> 0 and <= 1000"),
        ("file", "unlearning.salun_fraction", "0", "> 0 and <= 1"),
        ("env", "unlearning.salun_fraction", "1.2", "> 0 and <= 1"),
        ("set", "unlearning.lfoci_steps", "0", "1 to 1000"),
        ("file", "unlearning.dampening_repair_steps", "-5", "0 to 1000000"),
    ]

    @Test("an invalid value names the key, the value, its source and the allowed range or set", arguments: invalidValues)
    func invalidValue(source: String, key: String, value: String, allowed: String) throws {
        let scratch = try ScratchDirectory()
        var arguments: [String] = []
        var environment = ConfigTest.modelEnvironment
        let origin: String
        let shown: String
        switch source {
        case "file":
            // A nested object for the key's dotted path.
            let parts = key.split(separator: ".").map(String.init)
            var json = "\(value)"
            for part in parts.reversed() { json = "{\"\(part)\": \(json)}" }
            let path = try scratch.config(json)
            arguments = ["--config", path]
            origin = path
            shown = value
        case "env":
            origin = ConfigurationFormat.environmentVariable(for: key)
            environment[origin] = value
            shown = "\"\(value)\""
        default:
            arguments = ["--set", "\(key)=\(value)"]
            origin = "--set \(key)"
            shown = "\"\(value)\""
        }
        let error = try #require(ConfigTest.error(arguments, environment: environment))
        #expect(error.code == .invalidValue)
        #expect(error.subject == key)
        let message = error.description
        #expect(message.contains(key), "\(message)")
        #expect(message.contains(shown), "\(message)")
        #expect(message.contains(origin), "\(message)")
        #expect(message.contains("allowed: ") && message.contains(allowed), "\(message)")
        #expect(!message.contains("\n"))
    }

    @Test("models: ids must match the pattern and be unique; at least one is required")
    func models() throws {
        let bad = try #require(ConfigTest.error(environment: ["UNLEARND_MODELS": "Digits=/b"]))
        #expect(bad.code == .invalidValue && bad.description.contains("\"Digits\"") && bad.description.contains("[a-z0-9]"))

        let twice = try #require(ConfigTest.error(environment: ["UNLEARND_MODELS": "a=/x,a=/y"]))
        #expect(twice.description.contains("registered twice"))

        let noPath = try #require(ConfigTest.error(environment: ["UNLEARND_MODELS": "a"]))
        #expect(noPath.description.contains("has no \"=\""))

        let none = try #require(ConfigTest.error())
        #expect(none.subject == "models" && none.description.contains("UNLEARND_MODELS"))

        let long = String(repeating: "m", count: 65)
        #expect(ConfigTest.error(environment: ["UNLEARND_MODELS": "\(long)=/x"]) != nil)
        #expect(throws: Never.self) {
            try ConfigTest.load(environment: ["UNLEARND_MODELS": "\(long.dropLast())=/x,mnist-5k.v2_b=/y"])
        }
    }

    @Test("keys that constrain each other are checked together, naming both")
    func relations() throws {
        let cases: [([String], String, String)] = [
            (["budget.epsilon=2", "budget.epsilon_step=3"], "budget.epsilon_step", "budget.epsilon"),
            (["budget.sigma_floor=0.5", "budget.sigma_max=0.1"], "budget.sigma_floor", "budget.sigma_max"),
            (["topics.alerts=unlearn.deletions"], "topics.deletions", "topics.alerts"),
        ]
        for (overrides, first, second) in cases {
            let error = try #require(
                ConfigTest.error(overrides.flatMap { ["--set", $0] }, environment: ConfigTest.modelEnvironment)
            )
            #expect(error.code == .conflictingValues)
            #expect(error.description.contains(first) && error.description.contains(second), "\(error)")
        }
    }

    @Test("a file that is not a JSON object is rejected naming the file")
    func malformedFile() throws {
        let scratch = try ScratchDirectory()
        for json in ["{\"batch\": ", "[1, 2]", ""] {
            let path = try scratch.config(json)
            let error = try #require(ConfigTest.error(["--config", path]))
            #expect(error.code == .malformedFile)
            #expect(error.description.contains(path))
        }
        let directory = try #require(ConfigTest.error(["--config", scratch.url.path]))
        #expect(directory.code == .unreadableFile)
    }

    @Test("kafka properties the daemon sets itself are rejected, saying what to do instead")
    func controlledKafkaProperties() throws {
        let group = try #require(ConfigTest.error(["--set", "kafka.group.id=x"], environment: ConfigTest.modelEnvironment))
        #expect(group.subject == "kafka.group.id" && group.description.contains("consumer.group_id"))
        var environment = ConfigTest.modelEnvironment
        environment["UNLEARND_KAFKA_ENABLE_AUTO_COMMIT"] = "true"
        #expect(ConfigTest.error(environment: environment)?.subject == "kafka.enable.auto.commit")
    }

    @Test("null values and a non-object kafka are rejected with the key")
    func nullsAndKafkaShape() throws {
        let scratch = try ScratchDirectory()
        let null = try scratch.config(#"{"models": ["a=/a"], "batch": {"max_rows": null}}"#)
        #expect(ConfigTest.error(["--config", null])?.subject == "batch.max_rows")
        let kafka = try scratch.config(#"{"models": ["a=/a"], "kafka": "localhost:9092"}"#, name: "k.json")
        #expect(ConfigTest.error(["--config", kafka])?.subject == "kafka")
        let list = try scratch.config(#"{"models": ["a=/a"], "kafka": {"bootstrap.servers": ["a", "b"]}}"#, name: "l.json")
        #expect(ConfigTest.error(["--config", list])?.subject == "kafka.bootstrap.servers")
    }
}
