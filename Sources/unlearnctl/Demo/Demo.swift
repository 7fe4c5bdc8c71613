import ArgumentParser
import Checkpoints
import Foundation
import KafkaLog
import Logging
import UnlearnDaemon
import UnlearningCore

/// `unlearnctl demo`: the whole system on the bundled digits data, start to finish, on one machine.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train on the bundled digits, start the dev broker and unlearnd, forget subjects until the retrain alert.",
        discussion: """
            Everything runs as separate processes like in production: `unlearnctl dev-broker` (librdkafka's mock \
            cluster), `unlearnd` with a generated config, and this command as the publisher and alert consumer. \
            Files go to --out: the bundle, the config, the state directory (snapshots, exclusion list, metrics) \
            and the daemon's log.
            """
    )

    @Option(help: "Working directory for the bundle, config, state and logs (replaced).")
    var out: String = "out/demo"

    @Option(help: "Training-set CSV.")
    var data: String = "data/digits.csv.zst"

    @Option(help: "Most subjects to forget before giving up on reaching the retrain alert.")
    var maxSubjects: Int = 40

    @Option(name: .customLong("epsilon-budget"), help: "Privacy budget of the epoch.")
    var epsilonBudget: Double = 30

    @Option(name: .customLong("epsilon-step"), help: "Epsilon of each update.")
    var epsilonStep: Double = 5

    @Option(name: .customLong("sigma-max"), help: "Largest noise sd tolerated (the supported-removal limit).")
    var sigmaMax: Double = 0.2

    /// The measured default per model kind (`auto`: newton for this logistic regression, certified); `lfoci` runs
    /// the paper's method in the daemon instead, whose residual bound reaches the noise limit after one or two
    /// updates on this model. Either way the demo first runs both on the first request, beside an exact retrain.
    @Option(help: "Update method of the daemon: auto (newton for logistic regression), newton or lfoci.")
    var method: String = "auto"

    @Option(help: "Block selection of the lfoci method: lfoci, full, random or top1.")
    var selection: String = "lfoci"

    @Option(help: "Seconds to wait for each request to become durable.")
    var timeout: Double = 60

    /// A running broker instead of the dev broker, e.g. Tansu from `./dev demo --broker tansu` (README, "Against a
    /// real broker"). Its topics unlearn.deletions, unlearn.deletions.dlq and unlearn.alerts must exist.
    @Option(help: "Bootstrap servers of a running broker to use instead of starting the dev broker.")
    var bootstrap: String?

    func run() async throws {
        let started = Date()
        let terminal = Terminal.standardErrorIsTTY
        let fm = FileManager.default
        let root = URL(fileURLWithPath: out).standardizedFileURL
        try? fm.removeItem(at: root)
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let unlearnctl = binDir.appendingPathComponent("unlearnctl").path
        let unlearnd = binDir.appendingPathComponent("unlearnd").path
        guard fm.isExecutableFile(atPath: unlearnd) else {
            throw ValidationError("unlearnd is not built next to unlearnctl (\(unlearnd)); run `swift build` first")
        }
        func step(_ text: String) { print("==> \(text)") }

        // 1. Train.
        step("training logistic regression (lambda 0.01) on \(data)")
        let bundlePath = root.appendingPathComponent("bundle").path
        let train = try DemoProcess.run(unlearnctl, ["train", "--data", data, "--hidden", "0", "--lambda", "0.01", "--out", bundlePath])
        guard train.status == 0 else { throw ValidationError("training failed: \(train.stderr)") }
        print("    " + train.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let bundle = try ModelBundle.read(from: bundlePath)

        // The first request, three ways, from the same base: the default method, the paper's lfoci, exact retraining.
        let first = bundle.train.subjects.compactMap { $0 }.min()!
        step("the first request (subject \(first)) three ways, offline from the same base: newton, the paper's lfoci, exact retraining")
        try Self.compareMethods(bundle, subject: first)

        // 2. Broker.
        var broker: DemoProcess?
        defer { broker?.stop() }
        let bootstrap: String
        if let external = self.bootstrap {
            step("using the broker at \(external) (librdkafka \(LibRdKafka.version))")
            bootstrap = external
        } else {
            step("starting the dev broker (librdkafka mock cluster, separate process)")
            let bootstrapFile = root.appendingPathComponent("bootstrap.txt").path
            broker = try DemoProcess(
                unlearnctl, ["dev-broker", "--bootstrap-file", bootstrapFile, "--ignore-eof", "--log-level", "warning"],
                log: root.appendingPathComponent("dev-broker.log").path
            )
            bootstrap = try DemoProcess.waitFor(seconds: 30, "the dev broker") {
                (try? String(contentsOfFile: bootstrapFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines).nilIfEmpty
            }
        }
        print("    bootstrap \(bootstrap)")

        // 3. Daemon.
        let stateDirectory = root.appendingPathComponent("state").path
        let configPath = root.appendingPathComponent("unlearnd.json").path
        let config: [String: Any] = [
            "state_directory": stateDirectory,
            "models": ["digits=\(bundlePath)"],
            "kafka": ["bootstrap.servers": bootstrap, "session.timeout.ms": "6000"],
            "batch": ["max_rows": 256, "max_wait_ms": 50],
            "budget": ["epsilon": epsilonBudget, "epsilon_step": epsilonStep, "sigma_max": sigmaMax, "delta": 1e-5, "max_accuracy_drop": 0.05],
            "metrics": ["interval_ms": 250],
            "unlearning": ["method": method, "selection": selection],
        ]
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: configPath))
        step("starting unlearnd --config \(configPath)")
        let daemonLog = root.appendingPathComponent("unlearnd.log").path
        let daemon = try DemoProcess(unlearnd, ["--config", configPath], log: daemonLog)
        defer { daemon.stop() }
        _ = try DemoProcess.waitFor(seconds: 60, "unlearnd to become ready") {
            guard daemon.isRunning else { throw ValidationError("unlearnd exited; see \(daemonLog)") }
            return ((try? String(contentsOfFile: daemonLog, encoding: .utf8)) ?? "").contains("unlearnd ready") ? true : nil
        }

        // 4. Deletions, one subject at a time, until the retrain alert.
        var logger = Logger(label: "unlearnctl.demo")
        logger.logLevel = .critical  // the demo's own clients: their broker-down notice at the end is expected
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: bootstrap), logger: logger)
        let alerts = try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap, ["session.timeout.ms": "6000"]), groupID: "demo-alerts", logger: logger)
        try alerts.subscribe(topics: ["unlearn.alerts"])
        var subjects: [String: Int] = [:]
        for s in bundle.train.subjects.compactMap({ $0 }) { subjects[s, default: 0] += 1 }
        let order = subjects.keys.sorted()
        let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: stateDirectory, modelId: "digits"))
        step("forgetting subjects one at a time (scope subject, method \(method), epsilon \(epsilonStep) per update, budget \(epsilonBudget), sigma_max \(sigmaMax)), then a class, until the retrain alert")
        var rows: [[String]] = []
        var alert: RetrainEvent?
        var published = 0
        func publish(_ scope: DeletionRequest.Scope, label: String) async throws -> Snapshot {
            published += 1
            let request = DeletionRequest(requestID: "demo-\(published)", model: "digits", scope: scope, requestedAt: RFC3339.format(Date()))
            let t0 = Date()
            try await producer.send(topic: "unlearn.deletions", key: Array("digits".utf8), value: request.encoded())
            let snapshot: Snapshot = try DemoProcess.waitFor(seconds: timeout, "request \(published) to become durable") { () throws -> Snapshot? in
                guard daemon.isRunning else { throw ValidationError("unlearnd exited; see \(daemonLog)") }
                guard let s = try? store.loadNewestValid(quarantine: false).snapshot else { return nil }
                return s.manifest.appliedRequestIds.contains(request.requestID) ? s : nil
            }
            let latency = Date().timeIntervalSince(t0)
            let budget = try snapshot.manifest.budget.decode(BudgetState.self)
            let record = snapshot.manifest.updates.last.flatMap { $0.requestIds.contains(request.requestID) ? $0 : nil }
            let spent = budget.epsilonSpent(delta: 1e-5)
            rows.append(Self.row(number: published, label: label, record: record, spent: spent, budget: epsilonBudget, latency: latency))
            if terminal {
                FileHandle.standardError.write(Data("\r    \(published) requests durable, epsilon \(String(format: "%.2f", budget.epsilonSpent(delta: 1e-5))) of \(epsilonBudget)   ".utf8))
            }
            return snapshot
        }
        for subject in order.prefix(maxSubjects) where alert == nil {
            _ = try await publish(.subject(subject), label: "subject (\(subjects[subject]!) rows)")
            alert = try await Self.pollAlert(alerts)
        }
        if alert == nil { alert = try await Self.pollAlert(alerts, seconds: 5) }
        // After the limit, deletions are still recorded (tombstoned, on the exclusion list) but not applied.
        let classSnapshot = try await publish(.class(7), label: "class 7")
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        try? await producer.close()
        try? await alerts.close()

        print("")
        Self.table(["#", "request", "rows", "outcome", "block", "Delta", "sigma", "epsilon spent", "val acc", "forgotten acc", "latency"], rows)
        print("")
        if let alert {
            print("retrain alert received: alert_id \(alert.alertID), reasons \(alert.reasons.joined(separator: ", ")), epsilon \(String(format: "%.2f", alert.epsilonSpent)) of \(alert.epsilonBudget), \(alert.removalsSinceBase) rows removed, snapshot v\(alert.snapshotVersion)")
            print("exclusion list for the retrain job: \(alert.tombstonesFile)")
        } else {
            print("no retrain alert after \(published) requests (raise --max-subjects or lower --epsilon-budget / --sigma-max)")
        }
        print("residual rows: \(classSnapshot.manifest.residualN) of \(classSnapshot.manifest.n0); snapshots in \(store.directory)")
        daemon.terminate()
        _ = daemon.waitForExit(seconds: 15)
        print("unlearnd stopped with status \(daemon.status.map(String.init) ?? "?"); its log: \(daemonLog)")
        print(String(format: "demo finished in %.0f s. Next: `unlearnctl status --state-dir %@`, `unlearnctl rebase --state-dir %@ --model digits --retrain`", Date().timeIntervalSince(started), stateDirectory, stateDirectory))
        if alert == nil { throw ExitCode(1) }
    }

    /// Forgets `subject` from the bundle's model with newton and with lfoci (noise off: the comparison is of the
    /// steps), retrains exactly without it (L-BFGS from the base to |grad F| < 1e-9), and prints, per method, the
    /// distance to the retrained weights relative to the base's distance, the residual bound and the time.
    static func compareMethods(_ bundle: ModelBundle, subject: String) throws {
        let rows = try RowIndex(bundle.train, classes: bundle.descriptor.architecture.classes).rows(for: .subject(subject)).get()
        let base = UnlearningState(
            model: bundle.model, trainFeatures: bundle.trainFeatures, trainLabels: bundle.train.labels,
            validationFeatures: bundle.validationFeatures, validationLabels: bundle.validation.labels
        )
        let removing = Set(rows)
        let residual = (0..<bundle.train.count).filter { !removing.contains($0) }
        var retrained = bundle.model
        let t0 = Date()
        _ = Trainer.lbfgs(&retrained, x: base.trainFeatures.selectingRows(residual), labels: residual.map { bundle.train.labels[$0] })
        let retrainSeconds = Date().timeIntervalSince(t0)
        let baseDistance = Vector.distance(bundle.model.theta, retrained.theta)
        let forgottenX = base.trainFeatures.selectingRows(rows)
        let forgottenY = rows.map { bundle.train.labels[$0] }
        func loss(_ m: MLP) -> Double { let l = m.perRowLoss(forgottenX, labels: forgottenY); return l.reduce(0, +) / Double(l.count) }
        var table: [[String]] = []
        for method in [UnlearningOptions.Method.newton, .lfoci] {
            var state = base
            var options = UnlearningOptions()
            options.method = method
            options.noise = false
            let t = Date()
            let report = try Unlearner.forget(rows: rows, in: &state, options: options)
            let seconds = Date().timeIntervalSince(t)
            table.append([
                method == .newton ? "newton (default)" : "lfoci (paper)", "\(report.blockSize)",
                String(format: "%.2e", Vector.distance(state.model.theta, retrained.theta) / baseDistance),
                String(format: "%.2e", report.residualBound), String(format: "%.3f", loss(state.model)), String(format: "%.2f s", seconds),
            ])
        }
        table.append(["exact retrain", "\(bundle.model.theta.count)", "0", "-", String(format: "%.3f", loss(retrained)), String(format: "%.2f s", retrainSeconds)])
        Self.table(["method", "block", "distance to retrain / base's", "Delta", "forgotten loss", "time"], table)
        print(String(format: "    (the base model's forgotten loss: %.3f; Delta = ||grad F_residual|| / lambda bounds the distance for logistic regression)", loss(bundle.model)))
    }

    /// One line of the summary table.
    static func row(number: Int, label: String, record: SnapshotManifest.UpdateRecord?, spent: Double, budget: Double, latency: Double) -> [String] {
        let extensions: [String: JSONValue] = record?.extensions ?? [:]
        var outcome = "recorded_only"
        if case .string(let o)? = extensions["outcome"] { outcome = o }
        var forgotten = "-"
        if case .number(let before)? = extensions["forgotten_accuracy_before"],
           case .number(let after)? = extensions["forgotten_accuracy_after"]
        {
            forgotten = String(format: "%.0f%% -> %.0f%%", 100 * before, 100 * after)
        }
        var cells: [String] = ["\(number)", label]
        if let record {
            cells.append("\(record.rowsRemoved)")
            cells.append(outcome)
            cells.append("\(record.blockSize)")
            cells.append(String(format: "%.2e", record.residualBound))
            cells.append(String(format: "%.2e", record.noiseSigma))
        } else {
            cells += ["0", outcome, "-", "-", "-"]
        }
        cells.append(String(format: "%.2f / %g", spent, budget))
        cells.append(record?.validationAccuracy.map { String(format: "%.1f%%", 100 * $0) } ?? "-")
        cells.append(forgotten)
        cells.append(String(format: "%.2f s", latency))
        return cells
    }

    static func pollAlert(_ consumer: KafkaConsumer, seconds: Double = 0.3) async throws -> RetrainEvent? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            for event in try await consumer.poll(timeout: .milliseconds(100)) {
                if case .message(let m) = event, let v = m.value, let e = try? JSONDecoder().decode(RetrainEvent.self, from: Data(v)) { return e }
            }
        } while Date() < deadline
        return nil
    }

    static func table(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        print(line(header))
        print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for row in rows { print(line(row)) }
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
