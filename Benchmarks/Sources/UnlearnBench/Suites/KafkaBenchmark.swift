import ArgumentParser
import Checkpoints
import Foundation
import KafkaLog
import Logging
import ProcessHarness
import UnlearnDaemon
import UnlearnSupport
import UnlearningCore

extension Bench {
    /// `unlearn-bench kafka`: end-to-end throughput and latency of the daemon, from publishing a deletion
    /// request to the snapshot that records it being durable.
    struct KafkaBenchmark: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kafka",
            abstract: "End-to-end requests/s and publish-to-durable latency of unlearnd (class and subject batching).",
            discussion: """
                Trains the MNIST-extract Network (784-128-10, lambda 0.001) once, then per scenario starts a fresh dev \
                broker and a fresh unlearnd (separate processes, like `unlearnctl demo`), publishes warm-up \
                requests and waits for them, then publishes the measured requests open-loop at --rate (each send's \
                start is its publish time) while a background thread lists the model's snapshot directory every \
                --poll-ms and loads each new version: a request's durable time is the first listing that shows a \
                snapshot whose ledger holds its id. Throughput = measured requests / (last durable - first \
                publish). Scenarios: class (class-scope requests, one batch per class), subject (one request per \
                subject, one batch per subject), samples (the same subjects' rows as sample-list requests, which \
                the batcher puts in one group per model). Privacy noise is off (unlearning.noise=false) so the \
                budget and the removal limit never stop updates mid-run; the accuracy guards are off \
                (budget.max_accuracy_drop=1 because removing a whole class drops validation accuracy by about \
                10 points by design; budget.max_update_accuracy_drop=1 so that every heuristic step is applied). Everything else is the daemon's default unless --daemon-set says otherwise.
                """
        )

        @Option(help: "Training-set CSV.")
        var data: String = "data/mnist5k.csv.zst"

        @Option(help: "Use this trained bundle instead of training one.")
        var bundle: String?

        @Option(help: "Model to train when no --bundle is given: mlp (784-128-10) or lr (logistic regression, 784-10).")
        var model: String = "mlp"

        @Option(help: "Working directory for the bundle, configs, state directories and logs (replaced).")
        var work: String = "/tmp/unlearnd-bench-kafka"

        @Option(help: "Scenarios to run, comma-separated: class, subject, samples.")
        var scenarios: String = "class,subject,samples"

        /// An open-loop run cannot show more throughput than it offers, so the default offers twice the class target.
        @Option(
            help:
                "Offered load: measured requests published per second (open loop; the subject and samples runs are far below it, so they run as a burst)."
        )
        var rate: Double = 200

        @Option(help: "Seconds of class-scope requests at --rate (the class scenario's length).")
        var seconds: Double = 15

        @Option(help: "Classes the class scenario cycles through (0..<N); each is removed by its first batch.")
        var classes: Int = 3

        @Option(help: "Subjects forgotten in the subject and samples scenarios (the first N, sorted by id).")
        var subjects: Int = 40

        @Option(help: "Warm-up requests per scenario (subjects not used by the measurement), waited for, not measured.")
        var warmup: Int = 2

        @Option(name: .customLong("max-wait-ms"), help: "batch.max_wait_ms of the daemon.")
        var maxWaitMs: Int = 200

        @Option(
            name: .customLong("class-max-rows"),
            help: "batch.max_rows in the class scenario (a class selects ~400 rows; a smaller limit flushes every class request alone).")
        var classMaxRows: Int = 100_000

        @Option(name: .customLong("max-rows"), help: "batch.max_rows in the subject and samples scenarios.")
        var maxRows: Int = 256

        @Option(
            name: .customLong("daemon-set"),
            help:
                "Extra daemon setting KEY=VALUE (repeatable), passed as unlearnd --set; it replaces a default of the bench with the same key (e.g. unlearning.noise=true)."
        )
        var daemonSet: [String] = []

        @Option(name: .customLong("poll-ms"), help: "How often the observer lists the snapshot directory (milliseconds).")
        var pollMs: Double = 5

        @Option(help: "Seconds to wait, after the last publish, for every request to become durable.")
        var timeout: Double = 180

        @Option(help: "Directory holding the built unlearnd and unlearnctl (default: next to this binary, else the main package's .build/release).")
        var binDir: String?

        @Option(help: "Where to write the JSON result.")
        var json: String = "/tmp/unlearnd-bench-kafka.json"

        static let model = "mnist"

        func validate() throws {
            guard rate > 0 else { throw ValidationError("--rate must be > 0") }
            guard seconds > 0 else { throw ValidationError("--seconds must be > 0") }
            guard (1...9).contains(classes) else { throw ValidationError("--classes must be 1...9 (removing all 10 would leave no rows)") }
            guard subjects >= 1 else { throw ValidationError("--subjects must be >= 1") }
            guard warmup >= 0 else { throw ValidationError("--warmup must be >= 0") }
            guard pollMs >= 0.5 else { throw ValidationError("--poll-ms must be >= 0.5") }
            for name in scenarioNames where !["class", "subject", "samples"].contains(name) {
                throw ValidationError("unknown scenario \"\(name)\"; use class, subject or samples")
            }
            for setting in daemonSet where !setting.contains("=") {
                throw ValidationError("--daemon-set \(setting): expected KEY=VALUE")
            }
        }

        var scenarioNames: [String] {
            scenarios.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        func run() async throws {
            let started = Date()
            #if DEBUG
                print("warning: debug build; run `swift run -c release --package-path Benchmarks unlearn-bench kafka` for meaningful numbers")
            #endif
            let fm = FileManager.default
            let root = URL(fileURLWithPath: work).standardizedFileURL
            try? fm.removeItem(at: root)
            try fm.createDirectory(at: root, withIntermediateDirectories: true)
            let tools = try Tools.locate(binDir)
            let load0 = BenchTools.loadAverage()
            print("unlearn-bench kafka  (\(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(load0) at start)")
            let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { " (OPENBLAS_CORETYPE=\($0))" } ?? ""
            let version = (try? ProcessRunner.run(tools.unlearnd, ["--version"]))?.stdoutText ?? ""
            let daemonKernels = version.split(separator: "\n").first { $0.hasPrefix("OpenBLAS ") }.map(String.init) ?? "OpenBLAS unknown"
            print(
                "OpenBLAS: this process \(BLASLibrary.coreName) kernels\(forced); unlearnd \(daemonKernels.dropFirst("OpenBLAS ".count)) (its --version)"
            )

            // The model: trained once, shared by every scenario (each scenario imports it into a fresh state).
            let bundlePath: String
            var trainSeconds: Double?
            if let bundle {
                bundlePath = bundle
            } else {
                bundlePath = root.appendingPathComponent("bundle").path
                guard ["mlp", "lr"].contains(model) else { throw ValidationError("--model is mlp or lr, not \(model)") }
                let hidden = model == "lr" ? "0" : "128"
                print(
                    "==> training the MNIST-extract \(model == "lr" ? "logistic regression (784-10" : "Network (784-128-10"), lambda 0.001) on \(data)"
                )
                let (train, s) = try BenchTools.timed {
                    try ProcessRunner.run(tools.unlearnctl, ["train", "--data", data, "--hidden", hidden, "--lambda", "0.001", "--out", bundlePath])
                }
                guard train.status == 0 else { throw ValidationError("training failed: \(train.stderrText)") }
                trainSeconds = s
                print("    " + train.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) + " (\(BenchTools.fmt(s, 1)) s)")
            }
            let bundle = try ModelBundle.read(from: bundlePath)
            let architecture = bundle.descriptor.architecture
            let modelText =
                "\(architecture.summary) \(architecture.isConvex ? "logistic regression" : "network"), "
                + "\(architecture.parameterCount) parameters, lambda \(bundle.descriptor.lambda), \(bundle.train.count) training rows, "
                + "\(bundle.validation.count) validation rows"
            print("model: \(modelText)")
            print("daemon settings (besides the defaults): \(daemonSettings.joined(separator: " "))")

            var results: [ScenarioResult] = []
            for name in scenarioNames {
                let scenario = try makeScenario(name, bundle: bundle)
                print("\n==> scenario \(name): \(scenario.workload)")
                print("    batching: \(scenario.batching)")
                results.append(try await run(scenario, tools: tools, bundlePath: bundlePath, root: root))
            }

            print("\nResults (throughput = durable requests / (last durable - first publish); latency = publish to durable snapshot)")
            BenchTools.printTable(
                [
                    "scenario", "requests", "offered/s", "throughput/s", "kept up", "p50", "p99", "max", "snapshots", "engine updates",
                    "req/snapshot", "daemon busy", "load avg",
                ],
                results.map { r in
                    [
                        r.name, "\(r.durable)/\(r.requests)", BenchTools.fmt(r.offeredRate, 0), BenchTools.fmt(r.throughput, 1),
                        r.throughput >= 0.95 * r.offeredRate ? "yes" : "no",
                        Self.seconds(r.latency.p50), Self.seconds(r.latency.p99), Self.seconds(r.latency.max),
                        "\(r.snapshots)", "\(r.engineUpdates)", BenchTools.fmt(Double(r.durable) / Double(max(1, r.snapshots)), 1),
                        BenchTools.fmt(100 * r.profile.busyFraction, 0) + "%", r.loadAverageAfter,
                    ]
                }
            )
            print("\nWhere the time goes (measurement window only)")
            BenchTools.printTable(
                [
                    "scenario", "wall", "engine", "per update", "snapshot writes", "per snapshot", "daemon CPU", "publish->ack mean",
                    "publish->consumed", "consumed->durable", "engine phases (s)",
                ],
                results.map { r in
                    let p = r.profile
                    return [
                        r.name, Self.seconds(p.wallSeconds), Self.seconds(p.engineSeconds),
                        r.engineUpdates > 0 ? Self.seconds(p.engineSeconds / Double(r.engineUpdates)) : "-",
                        Self.seconds(p.snapshotSeconds),
                        Self.seconds(p.snapshotSeconds / Double(max(1, p.snapshotWrites))),
                        Self.seconds(p.daemonCPUSeconds),
                        Self.seconds(r.ackLatency.mean),
                        p.daemonLatencyMean.map { Self.seconds(r.latency.mean - $0) } ?? "-",
                        p.daemonLatencyMean.map(Self.seconds) ?? "-",
                        p.enginePhases.sorted { $0.value > $1.value }.prefix(4).map { "\($0.key) \(BenchTools.fmt($0.value, 2))" }.joined(
                            separator: ", "),
                    ]
                }
            )
            print(
                """
                    engine and snapshot writes: the daemon's update and snapshot-write duration metrics; daemon busy = (engine + \
                snapshot) / wall; daemon CPU: user+system seconds of the unlearnd process (BLAS uses both cores); \
                publish->ack: until the broker's delivery report; publish->consumed and consumed->durable: means, split by the \
                daemon's own consumed-to-durable latency metric (publish->consumed includes Kafka and the time a message waits \
                while the daemon's single apply loop is busy with an earlier batch and is not polling)
                """)
            if let c = results.first(where: { $0.name == "class" }) {
                let throughputMet = c.throughput >= 100
                let latencyMet = c.latency.p50 < 2
                print(
                    "\ntarget (class batching): >= 100 requests/s: \(BenchTools.fmt(c.throughput, 1)) -> \(throughputMet ? "met" : "MISSED"); "
                        + "p50 < 2 s: \(Self.seconds(c.latency.p50)) -> \(latencyMet ? "met" : "MISSED")"
                        + " (\(c.engineUpdates) of \(c.snapshots) snapshots carried an engine update; the others only recorded requests of an already removed class)"
                )
            }
            let observer = results.map(\.observerLoadMs).filter(\.isFinite)
            print(
                "\nmeasurement resolution: the observer lists the directory every \(BenchTools.fmt(pollMs, 1)) ms and then loads and verifies the new "
                    + "version (mean \(BenchTools.fmt(BenchTools.mean(observer), 1)) ms); a request is stamped at the listing that first shows it, so "
                    + "latencies are late by at most about \(BenchTools.fmt(pollMs + (observer.max() ?? 0), 0)) ms. The observer's loads compete with the daemon for the cores."
            )
            let load1 = BenchTools.loadAverage()
            print("load average at end: \(load1); other processes on the machine (builds, tests) share the cores and are included in these numbers")
            let result = Result(
                command: CommandLine.arguments.joined(separator: " "), date: RFC3339.format(started),
                cores: ProcessInfo.processInfo.activeProcessorCount, loadAverageStart: load0, loadAverageEnd: load1,
                model: modelText, trainSeconds: trainSeconds, pollMilliseconds: pollMs,
                daemonSettings: daemonSettings, scenarios: results,
                totalSeconds: Date().timeIntervalSince(started)
            )
            try BenchTools.writeJSON(result, to: json)
            print("finished in \(BenchTools.fmt(Date().timeIntervalSince(started), 0)) s; logs and state under \(root.path)")
            if results.contains(where: { $0.durable < $0.requests }) { throw ExitCode(1) }
        }

        // MARK: Scenarios

        struct Scenario {
            var name: String
            var workload: String
            var batching: String
            var settings: [String: Any]
            var warmup: [DeletionRequest]
            var requests: [DeletionRequest]
        }

        /// Settings every scenario shares (besides the model, the state and the broker): noise off so that the
        /// privacy budget and the removal limit cannot stop updates mid-run, and no accuracy guards (see the help).
        static let commonSettings = [
            "unlearning.noise=false", "budget.max_accuracy_drop=1", "budget.max_update_accuracy_drop=1", "metrics.interval_ms=100",
        ]

        /// The common settings, less those --daemon-set gives another value, then --daemon-set's.
        var daemonSettings: [String] {
            func key(_ setting: String) -> Substring { setting.prefix { $0 != "=" } }
            let overridden = Set(daemonSet.map(key))
            return Self.commonSettings.filter { !overridden.contains(key($0)) } + daemonSet
        }

        func makeScenario(_ name: String, bundle: ModelBundle) throws -> Scenario {
            var rowsBySubject: [String: [Int]] = [:]
            for (i, s) in bundle.train.subjects.enumerated() { if let s { rowsBySubject[s, default: []].append(i) } }
            let ordered = rowsBySubject.keys.sorted()
            guard ordered.count >= subjects + warmup else {
                throw ValidationError("the training set has \(ordered.count) subjects; --subjects \(subjects) + --warmup \(warmup) is too many")
            }
            let now = RFC3339.format(Date())
            func request(_ id: String, _ scope: DeletionRequest.Scope) -> DeletionRequest {
                DeletionRequest(requestID: id, model: Self.model, scope: scope, requestedAt: now)
            }
            // Warm-up: subjects from the end of the order, never measured (group join, first snapshot, caches).
            let warm = ordered.suffix(warmup).enumerated().map { i, s in request("kb-\(name)-warmup-\(i)", .subject(s)) }
            let chosen = Array(ordered.prefix(subjects))
            let chosenRows = chosen.reduce(0) { $0 + rowsBySubject[$1]!.count }
            var batch: [String: Any] = ["group_by": "subject_or_class", "max_wait_ms": maxWaitMs, "max_rows": maxRows]
            switch name {
            case "class":
                let count = max(1, Int((rate * seconds).rounded()))
                var perClass = [Int](repeating: 0, count: bundle.descriptor.architecture.classes)
                for label in bundle.train.labels { perClass[label] += 1 }
                let rows = (0..<classes).map { perClass[$0] }
                batch["max_rows"] = classMaxRows
                return Scenario(
                    name: name,
                    workload: "\(count) class-scope requests (distinct request ids) cycling over classes 0..<\(classes) "
                        + "(\(rows.map(String.init).joined(separator: "/")) training rows) at \(BenchTools.fmt(rate, 0))/s for \(BenchTools.fmt(seconds, 0)) s; "
                        + "the first batch of each class removes its rows with one update, later batches of that class find "
                        + "nothing left and only record their requests (ledger + offsets in a new snapshot)",
                    batching: "group_by=subject_or_class (one group per class), max_rows=\(classMaxRows), max_wait_ms=\(maxWaitMs)",
                    settings: ["batch": batch], warmup: warm,
                    requests: (0..<count).map { i in request("kb-class-\(i)", .class(i % classes)) }
                )
            case "subject":
                return Scenario(
                    name: name,
                    workload: "\(chosen.count) subject-scope requests, one per distinct subject (\(chosenRows) rows, "
                        + "\(BenchTools.fmt(100 * Double(chosenRows) / Double(bundle.train.count), 1))% of the training rows), "
                        + "published at \(BenchTools.fmt(rate, 0))/s; one batch per subject; batches due together go into one update",
                    batching: "group_by=subject_or_class (one group per subject), max_rows=\(maxRows), max_wait_ms=\(maxWaitMs)",
                    settings: ["batch": batch], warmup: warm,
                    requests: chosen.enumerated().map { i, s in request("kb-subject-\(i)", .subject(s)) }
                )
            default:
                let ids = bundle.train.sampleIDs
                return Scenario(
                    name: name,
                    workload:
                        "the same \(chosen.count) subjects as sample-scope requests (each lists one subject's \(BenchTools.fmt(Double(chosenRows) / Double(chosen.count), 1)) "
                        + "sample ids on average), published at \(BenchTools.fmt(rate, 0))/s; sample requests share one group per model, so "
                        + "several subjects go into one update",
                    batching: "group_by=subject_or_class (one samples group per model), max_rows=\(maxRows), max_wait_ms=\(maxWaitMs)",
                    settings: ["batch": batch], warmup: warm,
                    requests: chosen.enumerated().map { i, s in request("kb-samples-\(i)", .samples(rowsBySubject[s]!.map { ids[$0] })) }
                )
            }
        }

        // MARK: One scenario

        func run(_ scenario: Scenario, tools: Tools, bundlePath: String, root: URL) async throws -> ScenarioResult {
            let dir = root.appendingPathComponent(scenario.name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

            // A fresh broker per scenario: no offsets, groups or messages carried over.
            let broker = try await DevBrokerProcess.start(
                unlearnctl: tools.unlearnctl, arguments: ["--log-level", "warning"],
                stderr: .file(dir.appendingPathComponent("dev-broker.log").path)
            )
            return try await withCleanup {
                try await run(scenario, tools: tools, broker: broker, bundlePath: bundlePath, directory: dir)
            } finally: {
                await broker.stop()
            }
        }

        /// Starts a fresh unlearnd against `broker`, waits for its READY=1, measures the scenario and stops it.
        func run(
            _ scenario: Scenario, tools: Tools, broker: DevBrokerProcess, bundlePath: String, directory dir: URL
        ) async throws -> ScenarioResult {
            let bootstrap = broker.bootstrapServers
            let stateDirectory = dir.appendingPathComponent("state").path
            let configPath = dir.appendingPathComponent("unlearnd.json").path
            var config = scenario.settings
            config["state_directory"] = stateDirectory
            config["models"] = ["\(Self.model)=\(bundlePath)"]
            config["kafka"] = broker.clientProperties
            try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: configPath))
            let daemonLog = dir.appendingPathComponent("unlearnd.log").path
            let notify = try NotifySocket(directory: dir)
            let daemon = try ChildProcess.unlearnd(
                executable: tools.unlearnd, config: configPath, arguments: daemonSettings.flatMap { ["--set", $0] },
                stdout: .file(daemonLog), stderr: .file(daemonLog), notify: notify
            )
            return try await withCleanup {
                try await daemon.waitUntilReady(notify: notify, timeout: .seconds(90))
                return try await measure(
                    scenario, daemon: daemon, broker: broker.child, bootstrap: bootstrap, stateDirectory: stateDirectory, daemonLog: daemonLog
                )
            } finally: {
                await daemon.stop()
            }
        }

        /// Warm-up, then the measured requests against a ready daemon; stops the daemon to read its final metrics.
        func measure(
            _ scenario: Scenario, daemon: ChildProcess, broker: ChildProcess, bootstrap: String, stateDirectory: String, daemonLog: String
        ) async throws -> ScenarioResult {
            // The broker is stopped while the producer still exists; its "all brokers down" report is expected noise.
            var logger = Logger(label: "unlearn-bench.kafka")
            logger.logLevel = .critical
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: bootstrap), logger: logger)
            let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: stateDirectory, modelId: Self.model))
            let watcher = DurabilityWatcher(store: store, intervalNanoseconds: UInt64(pollMs * 1e6))
            watcher.start()
            defer { watcher.stop() }

            // Warm-up: not measured.
            if !scenario.warmup.isEmpty {
                let (_, s) = try await BenchTools.timedAsync {
                    let warm = try await publish(scenario.warmup, rate: 1000, producer: producer)
                    try await waitDurable(
                        scenario.warmup.map(\.requestID), watcher: watcher, daemon: daemon, log: daemonLog, after: warm.sent.last ?? 0)
                }
                print("    warm-up: \(scenario.warmup.count) subject requests durable after \(BenchTools.fmt(s, 1)) s (group join included)")
            }
            // Wait for a metrics file that includes the warm-up's snapshot, to subtract it (a fixed pause was sometimes
            // too short, and the warm-up update then counted as measured engine time).
            let metricsPath = (stateDirectory as NSString).appendingPathComponent("metrics/unlearnd.prom")
            let warmVersion = Double(watcher.newest?.manifest.version ?? 0)
            var metrics0 = Self.readMetrics(metricsPath)
            for _ in 0..<100 where (metrics0["unlearnd_snapshot_version"] ?? 0) < warmVersion {
                try await Task.sleep(for: .milliseconds(50))
                metrics0 = Self.readMetrics(metricsPath)
            }
            guard (metrics0["unlearnd_snapshot_version"] ?? 0) >= warmVersion else {
                throw ValidationError("the daemon's metrics file \(metricsPath) did not reach the warm-up's snapshot \(Int(warmVersion)) within 5 s")
            }
            let cpu0 = Self.cpuSeconds(pid: daemon.pid)
            let brokerCPU0 = Self.cpuSeconds(pid: broker.pid)
            let versionsBefore = watcher.versionCount

            // Measurement: open-loop publishing at the offered rate.
            let ids = scenario.requests.map(\.requestID)
            let progress = ProgressLine(enabled: Terminal.standardErrorIsTTY)
            let (sent, acked) = try await publish(scenario.requests, rate: rate, producer: producer)
            try await waitDurable(ids, watcher: watcher, daemon: daemon, log: daemonLog, after: sent.last ?? 0, progress: progress)
            progress.finish()
            let cpu1 = Self.cpuSeconds(pid: daemon.pid)
            let brokerCPU1 = Self.cpuSeconds(pid: broker.pid)
            let loadAfter = BenchTools.loadAverage()
            let sights = watcher.sights(ids)
            let versions = Array(watcher.versionsSeen.dropFirst(versionsBefore))
            try? await producer.close(timeout: .seconds(5))

            // Stop the daemon cleanly: it writes its final metrics file on the way out.
            await daemon.stop(grace: .seconds(15))
            let metrics1 = Self.readMetrics(metricsPath)
            watcher.stop()

            // Numbers.
            var latencies: [Double] = []
            var lastDurable: UInt64 = 0
            for (i, id) in ids.enumerated() {
                guard let t = sights[id] else { continue }
                latencies.append(Double(t &- sent[i]) / 1e9)
                lastDurable = max(lastDurable, t)
            }
            let firstPublish = sent.first ?? 0
            let wall = Double(lastDurable &- firstPublish) / 1e9
            let throughput = latencies.isEmpty ? 0 : Double(latencies.count) / wall
            let ackLatencies = zip(sent, acked).map { Double($1 &- $0) / 1e9 }
            let measured = Set(ids)
            let finalSnapshot = watcher.newest
            let records = (finalSnapshot?.manifest.updates ?? []).filter { $0.requestIds.contains { measured.contains($0) } }
            var phases: [String: Double] = [:]
            for record in records {
                for (phase, value) in record.seconds { phases[phase, default: 0] += value }
            }
            let measuredVersions = versions.filter { $0.newIDs.contains { measured.contains($0) } }
            func delta(_ name: String) -> Double { (metrics1[name] ?? 0) - (metrics0[name] ?? 0) }
            let engineSeconds = delta("unlearnd_update_duration_seconds_sum")
            let snapshotSeconds = delta("unlearnd_snapshot_write_duration_seconds_sum")
            let snapshotWrites = Int(delta("unlearnd_snapshot_write_duration_seconds_count").rounded())
            let daemonLatencyCount = delta("unlearnd_request_latency_seconds_count")
            let profile = Profile(
                wallSeconds: wall, engineSeconds: engineSeconds, snapshotSeconds: snapshotSeconds, snapshotWrites: snapshotWrites,
                busyFraction: wall > 0 ? (engineSeconds + snapshotSeconds) / wall : .nan,
                daemonCPUSeconds: cpu1 - cpu0, brokerCPUSeconds: brokerCPU1 - brokerCPU0,
                daemonLatencyMean: daemonLatencyCount > 0 ? delta("unlearnd_request_latency_seconds_sum") / daemonLatencyCount : nil,
                enginePhases: phases
            )
            let result = ScenarioResult(
                name: scenario.name, workload: scenario.workload, batching: scenario.batching,
                offeredRate: rate, requests: ids.count, durable: latencies.count, throughput: throughput,
                latency: Percentiles(latencies), ackLatency: Percentiles(ackLatencies),
                publishSeconds: Double((sent.last ?? 0) &- firstPublish) / 1e9,
                snapshots: measuredVersions.count, engineUpdates: records.count,
                rowsRemoved: records.reduce(0) { $0 + $1.rowsRemoved },
                blockSizes: records.map(\.blockSize), profile: profile,
                observerLoadMs: 1000 * BenchTools.mean(versions.map(\.loadSeconds)),
                loadAverageAfter: loadAfter, daemonExitStatus: daemon.status, log: daemonLog
            )
            print(
                "    \(result.durable)/\(result.requests) durable; \(BenchTools.fmt(throughput, 1)) requests/s over \(BenchTools.fmt(wall, 1)) s; "
                    + "p50 \(Self.seconds(result.latency.p50)), p99 \(Self.seconds(result.latency.p99)); \(result.snapshots) snapshots, "
                    + "\(result.engineUpdates) engine updates (\(result.rowsRemoved) rows); daemon busy \(BenchTools.fmt(100 * profile.busyFraction, 0))% "
                    + "(engine \(Self.seconds(engineSeconds)), snapshots \(Self.seconds(snapshotSeconds)))")
            return result
        }

        /// Publishes `requests` open-loop, request i at start + i / rate, without waiting for earlier deliveries.
        /// Returns each request's publish time (the start of its send) and the time its delivery report arrived.
        func publish(_ requests: [DeletionRequest], rate: Double, producer: KafkaProducer) async throws -> (sent: [UInt64], acked: [UInt64]) {
            var sent = [UInt64](repeating: 0, count: requests.count)
            var acked = [UInt64](repeating: 0, count: requests.count)
            let values = requests.map { $0.encoded() }
            let key = Array(Self.model.utf8)
            let start = Self.now()
            try await withThrowingTaskGroup(of: (Int, UInt64).self) { group in
                for i in requests.indices {
                    let due = start + UInt64(Double(i) / rate * 1e9)
                    let now = Self.now()
                    if due > now { try await Task.sleep(nanoseconds: due - now) }
                    sent[i] = Self.now()
                    let value = values[i]
                    group.addTask {
                        try await producer.send(topic: "unlearn.deletions", key: key, value: value)
                        return (i, Self.now())
                    }
                }
                for try await (i, t) in group { acked[i] = t }
            }
            return (sent, acked)
        }

        /// Waits until every id has been seen durable, failing when the daemon dies or `timeout` passes after `after`.
        func waitDurable(
            _ ids: [String], watcher: DurabilityWatcher, daemon: ChildProcess, log: String, after: UInt64, progress: ProgressLine? = nil
        ) async throws {
            let deadline = max(after, Self.now()) + UInt64(timeout * 1e9)
            while true {
                let seen = watcher.countSeen(ids)
                progress?.update("\(seen)/\(ids.count) requests durable")
                if seen == ids.count { return }
                guard daemon.isRunning else { throw ValidationError("unlearnd exited with status \(daemon.status ?? -1); see \(log)") }
                if Self.now() > deadline {
                    print(
                        "\n    timed out: \(ids.count - seen) of \(ids.count) requests not durable \(BenchTools.fmt(timeout, 0)) s after the last publish; see \(log)"
                    )
                    return
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        // MARK: Helpers

        static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

        static func seconds(_ x: Double) -> String {
            guard x.isFinite else { return "n/a" }
            return x < 1 ? "\(BenchTools.fmt(1000 * x, 0)) ms" : "\(BenchTools.fmt(x, 2)) s"
        }

        /// User + system CPU seconds of a process (from /proc/<pid>/stat), or NaN when unreadable.
        static func cpuSeconds(pid: Int32) -> Double {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = text.lastIndex(of: ")")
            else { return .nan }
            // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }

        /// Sums the samples of each metric name in a Prometheus text file (over all label sets).
        static func readMetrics(_ path: String) -> [String: Double] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
            var values: [String: Double] = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: " ")
                guard parts.count >= 2, let value = Double(parts[parts.count - 1]) else { continue }
                let name = parts[0].prefix { $0 != "{" }
                values[String(name), default: 0] += value
            }
            return values
        }

        // MARK: Results

        struct Percentiles: Codable {
            var p50: Double
            var p90: Double
            var p99: Double
            var max: Double
            var mean: Double

            /// Nearest-rank percentiles.
            init(_ xs: [Double]) {
                let s = xs.sorted()
                func rank(_ q: Double) -> Double {
                    guard !s.isEmpty else { return .nan }
                    return s[min(s.count - 1, Swift.max(0, Int((q * Double(s.count)).rounded(.up)) - 1))]
                }
                p50 = rank(0.5)
                p90 = rank(0.9)
                p99 = rank(0.99)
                max = s.last ?? .nan
                mean = BenchTools.mean(s)
            }
        }

        struct Profile: Codable {
            var wallSeconds: Double
            /// Engine time of the updates (the daemon's update-duration metric) within the window.
            var engineSeconds: Double
            /// Snapshot build + write + fsync time (the daemon's snapshot-duration metric) within the window.
            var snapshotSeconds: Double
            var snapshotWrites: Int
            /// (engine + snapshot) / wall: near 1 means the daemon's single apply loop is the bottleneck.
            var busyFraction: Double
            var daemonCPUSeconds: Double
            var brokerCPUSeconds: Double
            /// The daemon's own consumed-to-durable latency (its latency metric), mean.
            var daemonLatencyMean: Double?
            /// Engine phases summed over the window's update records (perturb, select, hessian, ...).
            var enginePhases: [String: Double]
        }

        struct ScenarioResult: Codable {
            var name: String
            var workload: String
            var batching: String
            var offeredRate: Double
            var requests: Int
            var durable: Int
            var throughput: Double
            var latency: Percentiles
            /// Publish to the broker's delivery report (the producer side of Kafka).
            var ackLatency: Percentiles
            var publishSeconds: Double
            var snapshots: Int
            var engineUpdates: Int
            var rowsRemoved: Int
            var blockSizes: [Int]
            var profile: Profile
            var observerLoadMs: Double
            var loadAverageAfter: String
            var daemonExitStatus: Int32?
            var log: String
        }

        struct Result: Codable {
            var command: String
            var date: String
            var cores: Int
            var loadAverageStart: String
            var loadAverageEnd: String
            var model: String
            var trainSeconds: Double?
            var pollMilliseconds: Double
            var daemonSettings: [String]
            var scenarios: [ScenarioResult]
            var totalSeconds: Double
        }
    }
}
