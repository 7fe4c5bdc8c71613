import Foundation
import Testing
import UnlearningCore

@testable import UnlearnDaemon

@Suite("Configuration loading")
struct ConfigurationLoadingTests {
    @Test("the example file loads and yields the documented defaults")
    func exampleFile() throws {
        let configuration = try ConfigTest.load(["--config", ConfigTest.exampleFile])
        var expected = DaemonConfiguration()
        expected.models = [.init(id: "digits", bundle: "/var/lib/unlearnd/bundles/digits")]
        expected.configurationFile = ConfigTest.exampleFile
        #expect(configuration == expected)
    }

    @Test("a missing default file is fine: defaults apply")
    func missingDefaultFile() throws {
        let configuration = try ConfigTest.load(environment: ConfigTest.modelEnvironment)
        #expect(configuration.configurationFile == nil)
        #expect(configuration.batchMaxRows == DaemonConfiguration().batchMaxRows)
        #expect(configuration.kafka == ["bootstrap.servers": "localhost:9092"])
        #expect(configuration.models == [.init(id: "digits", bundle: "/var/lib/unlearnd/bundles/digits")])
    }

    @Test("a missing explicit file is an error naming it, from --config and from UNLEARND_CONFIG")
    func missingExplicitFile() throws {
        let path = "/nonexistent/unlearnd/explicit.json"
        for (arguments, environment) in [(["--config", path], [String: String]()), ([], ["UNLEARND_CONFIG": path])] {
            let error = try #require(ConfigTest.error(arguments, environment: environment.merging(ConfigTest.modelEnvironment) { a, _ in a }))
            #expect(error.code == .fileNotFound)
            #expect(error.description.contains(path))
        }
    }

    @Test("precedence: --set over environment over file over defaults, kafka properties included")
    func precedence() throws {
        let scratch = try ScratchDirectory()
        let file = try scratch.config(
            """
            {"models": ["digits=/bundles/digits"],
             "batch": {"max_rows": 100, "max_wait_ms": 50},
             "snapshots": {"retain": 5},
             "log": {"level": "debug"},
             "kafka": {"bootstrap.servers": "file:9092", "client.id": "file", "acks": "all"}}
            """)
        let environment = [
            "UNLEARND_BATCH_MAX_ROWS": "200",
            "UNLEARND_SNAPSHOTS_RETAIN": "6",
            "UNLEARND_KAFKA_BOOTSTRAP_SERVERS": "env:9092",
            "UNLEARND_KAFKA_CLIENT_ID": "env",
        ]
        let configuration = try ConfigTest.load(
            ["--config", file, "--set", "batch.max_rows=300", "--set=kafka.client.id=cli"], environment: environment
        )
        #expect(configuration.batchMaxRows == 300)  // --set beats environment and file
        #expect(configuration.snapshotsRetain == 6)  // environment beats file
        #expect(configuration.batchMaxWaitMilliseconds == 50)  // file beats default
        #expect(configuration.logLevel == "debug")
        #expect(configuration.metricsIntervalMilliseconds == DaemonConfiguration().metricsIntervalMilliseconds)
        #expect(configuration.kafka == ["bootstrap.servers": "env:9092", "client.id": "cli", "acks": "all"])
        #expect(configuration.models == [.init(id: "digits", bundle: "/bundles/digits")])
    }

    @Test("UNLEARND_CONFIG names the file when --config is absent; --config wins over it")
    func configVariable() throws {
        let scratch = try ScratchDirectory()
        let a = try scratch.config(#"{"models": ["a=/a"], "snapshots": {"retain": 2}}"#, name: "a.json")
        let b = try scratch.config(#"{"models": ["b=/b"], "snapshots": {"retain": 3}}"#, name: "b.json")
        #expect(try ConfigTest.load(environment: ["UNLEARND_CONFIG": a]).snapshotsRetain == 2)
        #expect(try ConfigTest.load(["--config=\(b)"], environment: ["UNLEARND_CONFIG": a]).snapshotsRetain == 3)
    }

    @Test("every key can be set from the environment and from --set, with text values")
    func everyKeyFromText() throws {
        let values: [String: String] = [
            "state_directory": "/srv/unlearnd", "models": "a=/m/a, b=/m/b", "consumer.group_id": "g",
            "topics.deletions": "d", "topics.dead_letter": "dl", "topics.alerts": "al", "topics.receipts": "rc",
            "batch.max_rows": "7", "batch.max_wait_ms": "0", "batch.group_by": "request",
            "unlearning.selection": "top1", "unlearning.noise_scope": "block", "unlearning.noise": "false",
            "unlearning.perturbations": "10", "unlearning.input_noise_sd": "0.5", "unlearning.perturbation_rows": "3",
            "unlearning.max_block_parameters": "9", "unlearning.max_slices": "2", "unlearning.hessian_rows": "500",
            "unlearning.tie_noise_fraction": "0.2", "unlearning.selection_level": "0",
            "unlearning.seed": "42", "unlearning.method": "lfoci", "unlearning.newton_tolerance": "1e-6",
            "unlearning.newton_max_iterations": "5", "unlearning.newton_max_seconds": "2.5", "unlearning.newton_damping": "0.1",
            "unlearning.cg_max_iterations": "50", "unlearning.cg_tolerance": "0.01", "unlearning.dense_block_limit": "100",
            "unlearning.newton_preconditioner_rank": "32", "unlearning.newton_preconditioner_memory_limit": "1000000",
            "unlearning.newton_preconditioner_rows": "777",
            "unlearning.dampening_alpha": "5", "unlearning.dampening_lambda": "0.5", "unlearning.dampening_scope": "lfoci",
            "unlearning.dampening_repair_steps": "3", "unlearning.lfoci_steps": "4", "unlearning.finetune_steps": "11",
            "unlearning.finetune_batch_size": "12", "unlearning.finetune_learning_rate": "0.01", "unlearning.finetune_scope": "lfoci",
            "unlearning.neggrad_steps": "13", "unlearning.neggrad_batch_size": "14", "unlearning.neggrad_learning_rate": "0.02",
            "unlearning.neggrad_beta": "0.9", "unlearning.neggrad_optimizer": "sgd", "unlearning.scrub_max_steps": "5",
            "unlearning.scrub_min_steps": "15", "unlearning.scrub_batch_size": "16", "unlearning.scrub_learning_rate": "0.03",
            "unlearning.scrub_alpha": "0.5", "unlearning.scrub_gamma": "2", "unlearning.scrub_temperature": "3",
            "unlearning.salun_fraction": "0.25", "unlearning.salun_steps": "17", "unlearning.salun_batch_size": "18",
            "unlearning.salun_learning_rate": "0.04", "unlearning.salun_alpha": "0.7",
            "budget.mode": "adaptive", "budget.sigma": "0.02", "release.every_updates": "3", "release.every_seconds": "1.5",
            "budget.epsilon": "2", "budget.delta": "1e-6", "budget.epsilon_step": "0.5", "budget.sigma_floor": "0.01",
            "budget.sigma_max": "0.2", "budget.max_removals": "100", "budget.max_accuracy_drop": "0.1",
            "budget.max_update_accuracy_drop": "0.03",
            "snapshots.retain": "4", "snapshots.compression_level": "19",
            "metrics.textfile": "", "metrics.interval_ms": "100", "log.level": "trace",
        ]
        #expect(Set(values.keys) == Set(DaemonConfiguration.configurationKeys.map(\.name)))
        var environment: [String: String] = [:]
        for (key, value) in values { environment[ConfigurationFormat.environmentVariable(for: key)] = value }
        let fromEnvironment = try ConfigTest.load(environment: environment)
        let fromArguments = try ConfigTest.load(values.flatMap { ["--set", "\($0.key)=\($0.value)"] })
        #expect(fromEnvironment == fromArguments)

        let c = fromEnvironment
        #expect(c.stateDirectory == "/srv/unlearnd")
        #expect(c.models == [.init(id: "a", bundle: "/m/a"), .init(id: "b", bundle: "/m/b")])
        #expect(c.groupID == "g" && c.deletionsTopic == "d" && c.deadLetterTopic == "dl" && c.alertsTopic == "al")
        #expect(c.batchMaxRows == 7 && c.batchMaxWaitMilliseconds == 0 && c.batchGroupBy == "request")
        #expect(c.unlearning.selection == .top1 && c.unlearning.noiseScope == .block && c.unlearning.noise == false)
        #expect(c.unlearning.perturbations == 10 && c.unlearning.inputNoiseSD == 0.5 && c.unlearning.perturbationRows == 3)
        #expect(c.unlearning.maxBlockParameters == 9 && c.unlearning.maxSlices == 2 && c.unlearning.hessianRows == 500)
        #expect(c.unlearning.tieNoiseFraction == 0.2 && c.unlearning.selectionLevel == 0 && c.unlearning.seed == 42)
        #expect(c.unlearning.method == .lfoci && c.unlearning.newtonTolerance == 1e-6 && c.unlearning.newtonMaxIterations == 5)
        #expect(c.unlearning.newtonMaxSeconds == 2.5 && c.unlearning.newtonDamping == 0.1 && c.unlearning.cgMaxIterations == 50)
        #expect(c.unlearning.cgTolerance == 0.01 && c.unlearning.denseBlockLimit == 100)
        #expect(
            c.unlearning.newtonPreconditionerRank == 32 && c.unlearning.newtonPreconditionerMemoryLimit == 1_000_000
                && c.unlearning.newtonPreconditionerRows == 777)
        #expect(c.unlearning.dampeningAlpha == 5 && c.unlearning.dampeningLambda == 0.5 && c.unlearning.dampeningScope == .lfoci)
        #expect(c.unlearning.dampeningRepairSteps == 3 && c.unlearning.lfociSteps == 4)
        #expect(c.unlearning.finetuneSteps == 11 && c.unlearning.finetuneBatchSize == 12 && c.unlearning.finetuneLearningRate == 0.01)
        #expect(c.unlearning.finetuneScope == .lfoci && c.unlearning.neggradSteps == 13 && c.unlearning.neggradBatchSize == 14)
        #expect(c.unlearning.neggradLearningRate == 0.02 && c.unlearning.neggradBeta == 0.9 && c.unlearning.neggradOptimizer == .sgd)
        #expect(c.unlearning.scrubMaxSteps == 5 && c.unlearning.scrubMinSteps == 15 && c.unlearning.scrubBatchSize == 16)
        #expect(c.unlearning.scrubLearningRate == 0.03 && c.unlearning.scrubAlpha == 0.5 && c.unlearning.scrubGamma == 2)
        #expect(c.unlearning.scrubTemperature == 3 && c.unlearning.salunFraction == 0.25 && c.unlearning.salunSteps == 17)
        #expect(c.unlearning.salunBatchSize == 18 && c.unlearning.salunLearningRate == 0.04 && c.unlearning.salunAlpha == 0.7)
        #expect(c.budget.epsilonBudget == 2 && c.budget.delta == 1e-6 && c.budget.epsilonStep == 0.5)
        #expect(c.budget.sigmaFloor == 0.01 && c.budget.sigmaMax == 0.2 && c.budget.maxRemovals == 100)
        #expect(c.budget.maxAccuracyDrop == 0.1 && c.budget.maxUpdateAccuracyDrop == 0.03)
        #expect(c.snapshotsRetain == 4 && c.snapshotsCompressionLevel == 19)
        #expect(c.metricsTextfile == "" && c.metricsIntervalMilliseconds == 100 && c.logLevel == "trace")
        // The options that only tests may set stay at their defaults.
        #expect(c.unlearning.noiseSeed == nil && c.unlearning.randomSlices == nil)
    }

    @Test("0 means 'all rows' for unlearning.hessian_rows and 'no cap' for budget.max_removals")
    func zeroMeansNone() throws {
        let configuration = try ConfigTest.load(
            ["--set", "unlearning.hessian_rows=0", "--set", "budget.max_removals=0"], environment: ConfigTest.modelEnvironment
        )
        #expect(configuration.unlearning.hessianRows == nil)
        #expect(configuration.budget.maxRemovals == nil)
    }

    @Test("budget.max_update_accuracy_drop: auto (absent) is the computed default; 0 and fractions are explicit, from every source")
    func updateAccuracyDropAuto() throws {
        #expect(try ConfigTest.load(environment: ConfigTest.modelEnvironment).budget.maxUpdateAccuracyDrop == nil)
        let fromSet = try ConfigTest.load(["--set", "budget.max_update_accuracy_drop=0"], environment: ConfigTest.modelEnvironment)
        #expect(fromSet.budget.maxUpdateAccuracyDrop == 0)
        var environment = ConfigTest.modelEnvironment
        environment["UNLEARND_BUDGET_MAX_UPDATE_ACCURACY_DROP"] = "auto"
        #expect(try ConfigTest.load(environment: environment).budget.maxUpdateAccuracyDrop == nil)
        let scratch = try ScratchDirectory()
        for (json, expected) in [("0.025", 0.025 as Double?), ("\"auto\"", nil), ("1", 1)] {
            let path = try scratch.config("{\"budget\": {\"max_update_accuracy_drop\": \(json)}}")
            let loaded = try ConfigTest.load(["--config", path], environment: ConfigTest.modelEnvironment)
            #expect(loaded.budget.maxUpdateAccuracyDrop == expected, "file value \(json)")
        }
    }

    @Test("nested objects and dotted names in the file are the same key; both at once is an error")
    func dottedNames() throws {
        let scratch = try ScratchDirectory()
        let dotted = try scratch.config(#"{"models": ["a=/a"], "batch.max_rows": 9, "kafka.client.id": "x"}"#)
        let configuration = try ConfigTest.load(["--config", dotted])
        #expect(configuration.batchMaxRows == 9)
        #expect(configuration.kafka["client.id"] == "x")

        let both = try scratch.config(#"{"models": ["a=/a"], "batch.max_rows": 9, "batch": {"max_rows": 10}}"#, name: "both.json")
        let error = try #require(ConfigTest.error(["--config", both]))
        #expect(error.code == .duplicateKey)
        #expect(error.description.contains("batch.max_rows"))
    }

    @Test("a name repeated within one JSON object is an error naming it, not a silent last-one-wins")
    func repeatedNames() throws {
        let scratch = try ScratchDirectory()
        let cases = [
            (#"{"models": ["a=/a"], "batch": {"max_rows": 9}, "batch": {"max_wait_ms": 10}}"#, "batch"),
            (#"{"models": ["a=/a"], "budget": {"delta": 1e-6, "epsilon": 2, "delta": 1e-5}}"#, "budget.delta"),
            (#"{"models": ["a\"=/a"], "kafka": {"x": [{"a": 1}, {"a": 2}], "acks": "1", "acks": "all"}}"#, "kafka.acks"),
        ]
        for (json, name) in cases {
            let error = try #require(ConfigTest.error(["--config", try scratch.config(json)]))
            #expect(error.code == .duplicateKey)
            #expect(error.subject == name, "\(error)")
        }
        // The same name in different objects, or in array elements, is fine.
        #expect(
            DaemonConfiguration.Model(id: "a", bundle: "/a")
                == (try ConfigTest.load(
                    ["--config", try scratch.config(#"{"models": ["a=/a"], "batch": {"max_rows": 9}, "snapshots": {"retain": 9}}"#)]
                )).models.first)
    }

    @Test("kafka values in the file may be numbers and booleans; librdkafka gets their text")
    func kafkaScalars() throws {
        let scratch = try ScratchDirectory()
        let file = try scratch.config(
            #"{"models": ["a=/a"], "kafka": {"session.timeout.ms": 45000, "enable.idempotence": true}}"#
        )
        let kafka = try ConfigTest.load(["--config", file]).kafka
        #expect(kafka["session.timeout.ms"] == "45000")
        #expect(kafka["enable.idempotence"] == "true")
        #expect(kafka["bootstrap.servers"] == "localhost:9092")
    }

    @Test("the summary lists every key and kafka property")
    func summary() throws {
        let configuration = try ConfigTest.load(["--config", ConfigTest.exampleFile, "--set", "kafka.client.id=unlearnd-1"])
        let summary = configuration.redactedSummary()
        let expected = Set(DaemonConfiguration.configurationKeys.map(\.name))
            .union(["kafka.bootstrap.servers", "kafka.client.id"])
        #expect(Set(summary.keys) == expected)
        #expect(summary["models"] == "digits=/var/lib/unlearnd/bundles/digits")
        #expect(summary["budget.delta"] == "1e-5")
        #expect(summary["unlearning.hessian_rows"] == "0")
        #expect(summary["kafka.client.id"] == "unlearnd-1")
    }
}
