import ArgumentParser
import Checkpoints
import Foundation
import KafkaLog
import Logging
import ProcessHarness
import UnlearnDaemon
import UnlearnSupport
import UnlearningCore

/// `unlearnctl demo`: the whole system on the bundled digits data, start to finish, on one machine.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train on the bundled digits, start the dev broker and unlearnd, forget subjects, and check every release against a retrain.",
        discussion: """
            Everything runs as separate processes like in production: `unlearnctl dev-broker` (librdkafka's mock \
            cluster), `unlearnd` with a generated config, and this command as the publisher and alert consumer. \
            Files go to --out: the bundle, the config, the state directory (snapshots, exclusion list, metrics) \
            and the daemon's log.
            """
    )

    @Option(help: "Working directory for the bundle, config, state and logs (replaced).")
    var out: String = "out/demo"

    /// `lr`: logistic regression, certified releases. `cnn`: the `small-cnn` preset (two conv layers) on the same
    /// digits, its default deep-model method, releases without noise (a deep model's residual bound gives no usable
    /// noise scale; README, Limits), each release beside a same-seed retrain.
    @Option(help: "Model: lr (logistic regression, certified) or cnn (a small convolutional network, heuristic).")
    var model: String = "lr"

    @Option(help: "Training-set CSV.")
    var data: String = "data/digits.csv.zst"

    @Option(help: "Most subjects to forget.")
    var maxSubjects: Int = 80

    @Option(name: .customLong("forget-fraction"), help: "Stop publishing once this fraction of the training rows is removed.")
    var forgetFraction: Double = 0.35

    @Option(name: .customLong("epsilon-budget"), help: "Privacy budget of the epoch.")
    var epsilonBudget: Double = 1

    @Option(name: .customLong("epsilon-step"), help: "Epsilon of each release.")
    var epsilonStep: Double = 0.1

    @Option(help: "Noise sd of every release in certified mode.")
    var sigma: Double = 0.01

    @Option(help: "Privacy mode: auto (certified for this logistic regression), certified or adaptive.")
    var mode: String = "auto"

    @Option(name: .customLong("sigma-max"), help: "adaptive mode: largest noise sd tolerated (the supported-removal limit).")
    var sigmaMax: Double = 0.1

    @Option(name: .customLong("release-every"), help: "Release once this many updates wait (release.every_updates).")
    var releaseEvery: Int = 5

    @Option(name: .customLong("release-seconds"), help: "Release once the oldest waiting update is this old (release.every_seconds).")
    var releaseSeconds: Double = 2

    /// The measured default per model kind (`auto`: newton for this logistic regression, certified); `lfoci` runs
    /// the paper's method in the daemon instead, whose residual bound reaches the noise limit after one or two
    /// updates on this model. Either way the demo first runs both on the first request, beside an exact retrain.
    @Option(help: "Update method of the daemon: auto (newton for logistic regression), newton or lfoci.")
    var method: String = "auto"

    @Option(help: "Block selection of the lfoci method: lfoci, full, random or top1.")
    var selection: String = "lfoci"

    @Option(help: "Seconds to wait for each request to become durable.")
    var timeout: Double = 60

    var isCNN: Bool { model == "cnn" }
    var modelID: String { isCNN ? "digits-cnn" : "digits" }
    /// Adam's settings for the CNN and for every retrain it is compared with (the same seed: Trainer's defaults).
    static let cnnEpochs = 30

    func validate() throws {
        guard ["lr", "cnn"].contains(model) else { throw ValidationError("--model must be lr or cnn, got \"\(model)\"") }
    }

    /// A running broker instead of the dev broker, e.g. Tansu from `./dev demo --broker tansu` (README, "Against a
    /// real broker"). Its topics unlearn.deletions, unlearn.deletions.dlq, unlearn.alerts and unlearn.receipts must exist.
    @Option(help: "Bootstrap servers of a running broker to use instead of starting the dev broker.")
    var bootstrap: String?

    func run() async throws {
        let started = Date()
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

        // 1. Train.
        let bundlePath = root.appendingPathComponent("bundle").path
        let train: ProcessOutput
        if isCNN {
            Self.step("training the small-cnn preset (two conv layers, Adam, \(Self.cnnEpochs) epochs, lambda 1e-4) on \(data)")
            train = try ProcessRunner.run(
                unlearnctl,
                ["train", "--data", data, "--architecture", "small-cnn", "--epochs", "\(Self.cnnEpochs)", "--lambda", "0.0001", "--out", bundlePath])
        } else {
            Self.step("training logistic regression (lambda 0.01) on \(data)")
            train = try ProcessRunner.run(unlearnctl, ["train", "--data", data, "--hidden", "0", "--lambda", "0.01", "--out", bundlePath])
        }
        guard train.status == 0 else { throw ValidationError("training failed: \(train.stderrText)") }
        print("    " + train.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
        let bundle = try ModelBundle.read(from: bundlePath)

        // The first request, three ways, from the same base: the default method, the paper's lfoci, exact retraining.
        let first = bundle.train.subjects.compactMap { $0 }.min()!
        if isCNN {
            Self.step("the first request (subject \(first)) four ways, offline from the same base: dampening, lfoci, newton, a same-seed retrain")
            try Self.compareDeepMethods(bundle, subject: first)
        } else {
            Self.step("the first request (subject \(first)) three ways, offline from the same base: newton, the paper's lfoci, exact retraining")
            try Self.compareMethods(bundle, subject: first)
        }

        // 2. Broker.
        let checked: Bool
        if let external = bootstrap {
            Self.step("using the broker at \(external) (librdkafka \(LibRdKafka.version))")
            let kafka = ["bootstrap.servers": external, "session.timeout.ms": "6000"]
            checked = try await runDaemon(unlearnd, kafka: kafka, bundle: bundle, bundlePath: bundlePath, root: root, started: started)
        } else {
            Self.step("starting the dev broker (librdkafka mock cluster, separate process)")
            let broker = try await DevBrokerProcess.start(
                unlearnctl: unlearnctl, arguments: ["--log-level", "warning"], stderr: .file(root.appendingPathComponent("dev-broker.log").path)
            )
            print("    bootstrap \(broker.bootstrapServers)")
            checked = try await withCleanup {
                try await runDaemon(unlearnd, kafka: broker.clientProperties, bundle: bundle, bundlePath: bundlePath, root: root, started: started)
            } finally: {
                await broker.stop()
            }
        }
        if !checked { throw ExitCode(1) }
    }

    /// Steps 3 and 4: starts unlearnd against the broker, forgets subjects, checks the releases, and stops it;
    /// returns whether every check held.
    func runDaemon(
        _ unlearnd: String, kafka: [String: String], bundle: ModelBundle, bundlePath: String, root: URL, started: Date
    ) async throws -> Bool {
        let terminal = Terminal.standardErrorIsTTY
        let stateDirectory = root.appendingPathComponent("state").path
        let configPath = root.appendingPathComponent("unlearnd.json").path
        let config: [String: Any] = [
            "state_directory": stateDirectory,
            "models": ["\(modelID)=\(bundlePath)"],
            "kafka": kafka,
            "batch": ["max_rows": 256, "max_wait_ms": 50],
            "budget": [
                "epsilon": epsilonBudget, "epsilon_step": epsilonStep, "sigma": sigma, "sigma_max": sigmaMax, "delta": 1e-5,
                "max_accuracy_drop": 0.05, "mode": mode,
            ] as [String: Any],
            "release": ["every_updates": releaseEvery, "every_seconds": releaseSeconds],
            "metrics": ["interval_ms": 250],
            "unlearning": ["method": method, "selection": selection, "noise": !isCNN],
        ]
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: configPath))
        Self.step("starting unlearnd --config \(configPath)")
        let daemonLog = root.appendingPathComponent("unlearnd.log").path
        let notify = try NotifySocket(directory: root)
        let daemon = try ChildProcess.unlearnd(
            executable: unlearnd, config: configPath, stdout: .file(daemonLog), stderr: .file(daemonLog), notify: notify
        )
        return try await withCleanup {
            try await daemon.waitUntilReady(notify: notify, timeout: .seconds(60))
            let checked = try await forgetAndCheck(
                daemon: daemon, kafka: kafka, bundle: bundle, stateDirectory: stateDirectory, terminal: terminal
            )
            let status = await daemon.stop(grace: .seconds(15))
            print("unlearnd stopped with status \(status.map(String.init) ?? "?"); its log: \(daemonLog)")
            print(
                String(
                    format: "demo finished in %.0f s. Next: `unlearnctl status --state-dir %@`, `unlearnctl release --state-dir %@ --model %@`",
                    Date().timeIntervalSince(started), stateDirectory, stateDirectory, modelID))
            return checked
        } finally: {
            await daemon.stop()
        }
    }

    /// Step 4: deletions, one subject at a time, until the target fraction of the rows is removed or a limit is
    /// reached; then the receipts and the releases beside exact retrains. Returns whether every check held.
    func forgetAndCheck(
        daemon: ChildProcess, kafka: [String: String], bundle: ModelBundle, stateDirectory: String, terminal: Bool
    ) async throws -> Bool {
        let daemonLog = daemon.stderrPath ?? "the daemon's log"
        var logger = Logger(label: "unlearnctl.demo")
        logger.logLevel = .critical  // the demo's own clients: their broker-down notice at the end is expected
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: kafka["bootstrap.servers"] ?? ""), logger: logger)
        let listen = KafkaConfiguration(kafka.merging(["auto.offset.reset": "earliest"]) { $1 })
        let alerts = try KafkaConsumer(configuration: listen, groupID: "demo-alerts", logger: logger)
        try alerts.subscribe(topics: ["unlearn.alerts"])
        let receiptsConsumer = try KafkaConsumer(configuration: listen, groupID: "demo-receipts", logger: logger)
        try receiptsConsumer.subscribe(topics: ["unlearn.receipts"])
        var receipts: [String: ReleaseEvent] = [:]
        var subjects: [String: Int] = [:]
        for s in bundle.train.subjects.compactMap({ $0 }) { subjects[s, default: 0] += 1 }
        let order = subjects.keys.sorted()
        let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: stateDirectory, modelId: modelID))
        if isCNN {
            Self.step(
                "forgetting subjects one at a time (scope subject, method \(method), releases without noise, a release every \(releaseEvery) updates or \(releaseSeconds) s)"
            )
        } else {
            Self.step(
                "forgetting subjects one at a time (scope subject, method \(method), \(mode) privacy, sigma \(sigma), epsilon \(epsilonStep) per release, budget \(epsilonBudget), a release every \(releaseEvery) updates or \(releaseSeconds) s)"
            )
        }
        var rows: [[String]] = []
        var alert: RetrainEvent?
        var published = 0
        var applied: [String] = []
        var subjectOf: [String: String] = [:]
        var removedRows = 0
        // Why a step was not applied (a method that did not converge, or the per-update accuracy guard).
        var failures: [String] = []
        while alert == nil, published < min(maxSubjects, order.count), Double(removedRows) < forgetFraction * Double(bundle.train.count) {
            let subject = order[published]
            published += 1
            let request = DeletionRequest(
                requestID: "demo-\(published)", model: modelID, scope: .subject(subject), requestedAt: RFC3339.format(Date()))
            let t0 = Date()
            try await producer.send(topic: "unlearn.deletions", key: Array(modelID.utf8), value: request.encoded())
            let snapshot: Snapshot = try await eventually(.seconds(timeout), "request \(published) to become durable") { () throws -> Snapshot? in
                guard daemon.isRunning else { throw ValidationError("unlearnd exited; see \(daemonLog)") }
                guard let s = try? store.loadNewestValid(quarantine: false).snapshot else { return nil }
                return s.manifest.appliedRequestIds.contains(request.requestID) ? s : nil
            }
            let latency = Date().timeIntervalSince(t0)
            let record = snapshot.manifest.updates.last { $0.requestIds.contains(request.requestID) }
            if record?.outcome == .applied {
                applied.append(request.requestID)
                subjectOf[request.requestID] = subject
                removedRows = snapshot.manifest.n0 - snapshot.manifest.residualN
            }
            if let failure = record?.failure { failures.append("request \(published): \(failure)") }
            let spent = try snapshot.manifest.budget.decode(BudgetState.self).epsilonSpent(delta: 1e-5)
            rows.append(
                Self.row(
                    number: published, label: "subject (\(subjects[subject]!) rows)", record: record, spent: spent, budget: epsilonBudget,
                    latency: latency))
            if terminal {
                FileHandle.standardError.write(
                    Data(
                        "\r    \(published) requests durable, \(removedRows) rows removed, epsilon \(String(format: "%.3f", spent)) of \(epsilonBudget)   "
                            .utf8))
            }
            alert = try await Self.pollAlert(alerts)
            try await Self.collect(receiptsConsumer, into: &receipts)
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        // The last updates are released by the cadence's timer.
        let appliedSet = Set(applied)
        let deadline = Date().addingTimeInterval(max(30, 5 * releaseSeconds))
        while alert == nil, !appliedSet.isSubset(of: Set(receipts.values.flatMap(\.requestIDs))), Date() < deadline {
            try await Self.collect(receiptsConsumer, into: &receipts, seconds: 0.5)
            alert = try await Self.pollAlert(alerts, seconds: 0.1)
        }
        try? await producer.close()
        try? await alerts.close()
        try? await receiptsConsumer.close()

        print("")
        Self.table(
            ["#", "request", "rows", "outcome", "block", "Delta", "released", "epsilon spent", "val acc (noise-free)", "forgotten acc", "latency"],
            rows)
        for failure in failures { print("    not applied, \(failure)") }
        print("")
        let final = try store.loadNewestValid(quarantine: false).snapshot.manifest
        let checks = try Self.checkReleases(
            bundle, final: final, receipts: Array(receipts.values), applied: applied, subjectOf: subjectOf, deep: isCNN)
        if let alert {
            print(
                "retrain alert received: alert_id \(alert.alertID), reasons \(alert.reasons.joined(separator: ", ")), epsilon \(String(format: "%.3f", alert.epsilonSpent)) of \(alert.epsilonBudget), \(alert.removalsSinceBase) rows removed, snapshot v\(alert.snapshotVersion)"
            )
            print("exclusion list for the retrain job: \(alert.tombstonesFile)")
        } else {
            let budget = try final.budget.decode(BudgetState.self)
            let left = budget.accountant.forecastRemainingReleases(budget: epsilonBudget, delta: 1e-5)
            print(
                String(
                    format: "no limit reached: epsilon %.3f of %g spent by %d releases; about %@ more releases like these fit in the budget",
                    budget.epsilonSpent(delta: 1e-5), epsilonBudget, budget.accountant.releases, left.map(String.init) ?? "?"))
        }
        print(
            "released weights: \((stateDirectory as NSString).appendingPathComponent("released/\(modelID)/current.safetensors")) (SHA-256 beside it); snapshots in \(store.directory)"
        )
        return checks
    }

    /// Every release of the epoch beside the model retrained without the same rows, and the checks the demo stands
    /// for: every applied request in exactly one receipt, fewer releases than updates, each release within 1 point of
    /// its retrain. Logistic regression: L-BFGS from the base to |grad F| < 1e-9 on the rows the release's requests
    /// leave. A deep model (`deep`): Adam from the same seed and settings as the base, and a 3-point tolerance, since
    /// retrains that differ only in their seed already disagree by about a point on these 368 validation rows.
    static func checkReleases(
        _ bundle: ModelBundle, final: SnapshotManifest, receipts: [ReleaseEvent], applied: [String], subjectOf: [String: String],
        deep: Bool = false
    ) throws -> Bool {
        let index = RowIndex(bundle.train, classes: bundle.descriptor.architecture.classes)
        let releases = final.updates.compactMap { $0.released ? $0.release : nil }
        let updates = final.updates.filter { $0.outcome == .applied }.count
        var covered: [String] = []
        var table: [[String]] = []
        var worst = 0.0
        for release in releases {
            covered += release.requestIds
            var removed = Set<Int>()
            for id in covered { if let subject = subjectOf[id] { removed.formUnion(try index.rows(for: .subject(subject)).get()) } }
            let residual = (0..<bundle.train.count).filter { !removed.contains($0) }
            let retrained = try retrain(bundle, residual: residual, deep: deep)
            let retrainedAccuracy = retrained.accuracy(bundle.validationFeatures, labels: bundle.validation.labels)
            let releasedAccuracy = release.validationAccuracy ?? .nan
            worst = max(worst, abs(releasedAccuracy - retrainedAccuracy))
            table.append([
                "v\(release.version)", "\(release.requestIds.count)",
                "\(removed.count) (\(String(format: "%.1f%%", 100 * Double(removed.count) / Double(bundle.train.count))))",
                release.certified ? "certified" : release.mode + " (not certified)", String(format: "%.2e", release.residualBound),
                String(format: "%.2e", release.sensitivityLimit ?? .nan), String(format: "%.4f", release.epsilonSpent),
                String(format: "%.2f%%", 100 * releasedAccuracy), String(format: "%.2f%%", 100 * retrainedAccuracy),
                String(format: "%+.2f", 100 * (releasedAccuracy - retrainedAccuracy)),
            ])
        }
        step("releases, each beside the model retrained exactly without the rows its requests removed")
        Self.table(
            ["release", "requests", "rows removed", "mode", "Delta", "Delta limit", "epsilon spent", "released val acc", "retrained val acc", "pt"],
            table)
        var counts: [String: Int] = [:]
        for receipt in receipts { for id in receipt.requestIDs { counts[id, default: 0] += 1 } }
        // Requests applied after the last release wait for the next one; once a limit is reached there is none (the
        // retrain excludes their rows), so they are never in a receipt.
        let lastRelease = final.updates.lastIndex(where: \.released) ?? -1
        let waiting = Set(
            final.updates.enumerated().filter { $0.offset > lastRelease && $0.element.outcome == .applied }.flatMap(\.element.requestIds))
        let missing = applied.filter { counts[$0] == nil && !waiting.contains($0) }.count
        let repeated = counts.values.filter { $0 > 1 }.count
        let removedFraction = Double(final.n0 - final.residualN) / Double(final.n0)
        let results = [
            (
                "every applied request is in exactly one receipt (\(applied.count) applied, \(receipts.count) receipts, \(missing) missing, \(repeated) in more than one"
                    + (waiting.isEmpty ? ")" : "; \(waiting.count) applied after the last release, never released)"),
                missing == 0 && repeated == 0 && waiting.allSatisfy { counts[$0] == nil }
            ),
            ("fewer releases than updates (\(releases.count) releases, \(updates) updates)", releases.count < updates),
            (
                String(
                    format: "every release within %d point%@ of its retrain (largest gap %.2f points)", deep ? 3 : 1, deep ? "s" : "", 100 * worst),
                worst <= (deep ? 0.03 : 0.01) && !releases.isEmpty
            ),
            (String(format: "%.1f%% of the training rows forgotten by applied updates", 100 * removedFraction), true),
        ]
        print("")
        for (text, ok) in results { print("    \(ok ? "ok  " : "FAIL") \(text)") }
        print("")
        return results.allSatisfy(\.1)
    }

    static func step(_ text: String) { print("==> \(text)") }

    /// The model retrained on `residual`: L-BFGS from the base for logistic regression (the exact residual optimum);
    /// for a deep model, Adam from a fresh initialisation with the base's seed and settings (Trainer's defaults).
    static func retrain(_ bundle: ModelBundle, residual: [Int], deep: Bool) throws -> Network {
        let x = bundle.trainFeatures.selectingRows(residual)
        let labels = residual.map { bundle.train.labels[$0] }
        if deep {
            var model = try Network(architecture: bundle.model.architecture, lambda: bundle.model.lambda, seed: 1)
            var options = Trainer.AdamOptions()
            options.epochs = cnnEpochs
            options.evaluateEveryEpoch = false
            _ = Trainer.adam(&model, x: x, labels: labels, options: options)
            return model
        }
        var model = bundle.model
        _ = Trainer.lbfgs(&model, x: x, labels: labels)
        return model
    }

    /// The rows of `subject`, the bundle's model as an unlearning state, and the residual rows: what both comparisons
    /// start from.
    static func removal(of subject: String, from bundle: ModelBundle) throws -> (rows: [Int], base: UnlearningState, residual: [Int]) {
        let rows = try RowIndex(bundle.train, classes: bundle.descriptor.architecture.classes).rows(for: .subject(subject)).get()
        let base = UnlearningState(
            model: bundle.model, trainFeatures: bundle.trainFeatures, trainLabels: bundle.train.labels,
            validationFeatures: bundle.validationFeatures, validationLabels: bundle.validation.labels
        )
        let removing = Set(rows)
        return (rows, base, (0..<bundle.train.count).filter { !removing.contains($0) })
    }

    /// The deep-model comparison: each method's update of `subject` from the same base (noise off), beside a
    /// same-seed retrain; forgotten-row loss, validation accuracy and time. One retrain is no reference for a deep
    /// model (its seed alone moves the forgotten loss several-fold); BENCHMARKS.md has the multi-seed measurements.
    static func compareDeepMethods(_ bundle: ModelBundle, subject: String) throws {
        let (rows, base, residual) = try removal(of: subject, from: bundle)
        let forgottenX = base.trainFeatures.selectingRows(rows)
        let forgottenY = rows.map { bundle.train.labels[$0] }
        func loss(_ m: Network) -> String {
            let l = m.perRowLoss(forgottenX, labels: forgottenY)
            return String(format: "%.3f", l.reduce(0, +) / Double(l.count))
        }
        func validation(_ m: Network) -> String {
            String(format: "%.1f%%", 100 * m.accuracy(bundle.validationFeatures, labels: bundle.validation.labels))
        }
        var table: [[String]] = []
        var refusals: [String] = []
        for method in [UnlearningOptions.Method.dampening, .lfoci, .newton] {
            var state = base
            var options = UnlearningOptions()
            options.method = method
            options.noise = false
            let name = method == .dampening ? "dampening (default)" : method.rawValue
            let t = Date()
            switch Result(catching: { () throws(UnlearningError) in try Unlearner.update(rows: rows, in: &state, options: options) }) {
            case .success(let report):
                let seconds = Date().timeIntervalSince(t)
                table.append([
                    name, report.outcome.rawValue, "\(report.blockSize)", loss(state.model), validation(state.model),
                    String(format: "%.2f s", seconds),
                ])
            case .failure(let error) where error.code == .destructiveUpdate:
                // The per-update guard refused the step (the daemon would record the rows and ask for a retrain).
                table.append([name, "refused", "-", "-", "-", String(format: "%.2f s", Date().timeIntervalSince(t))])
                refusals.append("\(method.rawValue): \(error.reason)")
            case .failure(let error):
                throw error
            }
        }
        let t0 = Date()
        let retrained = try retrain(bundle, residual: residual, deep: true)
        table.append([
            "same-seed retrain", "-", "\(bundle.model.theta.count)", loss(retrained), validation(retrained),
            String(format: "%.2f s", Date().timeIntervalSince(t0)),
        ])
        Self.table(["method", "outcome", "block", "forgotten loss", "val acc", "time"], table)
        for refusal in refusals { print("    refused by the per-update accuracy guard, \(refusal)") }
        print(
            String(
                format: "    (the base model: forgotten loss %@, validation %@; heuristics, never certified)", loss(bundle.model),
                validation(bundle.model)))
    }

    /// Reads receipts for up to `seconds`, keyed by event id (re-sends carry the same id).
    static func collect(_ consumer: KafkaConsumer, into receipts: inout [String: ReleaseEvent], seconds: Double = 0.05) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            for event in try await consumer.poll(timeout: .milliseconds(50)) {
                if case .message(let m) = event, let v = m.value, let e = try? JSONDecoder().decode(ReleaseEvent.self, from: Data(v)) {
                    receipts[e.eventID] = e
                }
            }
        } while Date() < deadline
    }

    /// Forgets `subject` from the bundle's model with newton and with lfoci (noise off: the comparison is of the
    /// steps), retrains exactly without it (L-BFGS from the base to |grad F| < 1e-9), and prints, per method, the
    /// distance to the retrained weights relative to the base's distance, the residual bound and the time.
    static func compareMethods(_ bundle: ModelBundle, subject: String) throws {
        let (rows, base, residual) = try removal(of: subject, from: bundle)
        let t0 = Date()
        let retrained = try retrain(bundle, residual: residual, deep: false)
        let retrainSeconds = Date().timeIntervalSince(t0)
        let baseDistance = Vector.distance(bundle.model.theta, retrained.theta)
        let forgottenX = base.trainFeatures.selectingRows(rows)
        let forgottenY = rows.map { bundle.train.labels[$0] }
        func loss(_ m: Network) -> Double {
            let l = m.perRowLoss(forgottenX, labels: forgottenY)
            return l.reduce(0, +) / Double(l.count)
        }
        var table: [[String]] = []
        var refusals: [String] = []
        for method in [UnlearningOptions.Method.newton, .lfoci] {
            var state = base
            var options = UnlearningOptions()
            options.method = method
            options.noise = false
            let t = Date()
            let report: UpdateReport
            switch Result(catching: { () throws(UnlearningError) in try Unlearner.forget(rows: rows, in: &state, options: options) }) {
            case .success(let r):
                report = r
            case .failure(let error) where error.code == .destructiveUpdate:
                // lfoci is a heuristic on logistic regression too: the per-update guard may refuse its step.
                table.append([method == .newton ? "newton (default)" : "lfoci (paper)", "refused", "-", "-", "-", "-"])
                refusals.append("\(method.rawValue): \(error.reason)")
                continue
            case .failure(let error):
                throw error
            }
            let seconds = Date().timeIntervalSince(t)
            table.append([
                method == .newton ? "newton (default)" : "lfoci (paper)", "\(report.blockSize)",
                String(format: "%.2e", Vector.distance(state.model.theta, retrained.theta) / baseDistance),
                String(format: "%.2e", report.residualBound), String(format: "%.3f", loss(state.model)), String(format: "%.2f s", seconds),
            ])
        }
        table.append([
            "exact retrain", "\(bundle.model.theta.count)", "0", "-", String(format: "%.3f", loss(retrained)),
            String(format: "%.2f s", retrainSeconds),
        ])
        Self.table(["method", "block", "distance to retrain / base's", "Delta", "forgotten loss", "time"], table)
        for refusal in refusals { print("    refused by the per-update accuracy guard, \(refusal)") }
        print(
            String(
                format:
                    "    (the base model's forgotten loss: %.3f; Delta = ||grad F_residual|| / lambda bounds the distance for logistic regression)",
                loss(bundle.model)))
    }

    /// One line of the summary table.
    static func row(number: Int, label: String, record: SnapshotManifest.UpdateRecord?, spent: Double, budget: Double, latency: Double) -> [String] {
        var forgotten = "-"
        if let before = record?.forgottenAccuracyBefore, let after = record?.forgottenAccuracyAfter {
            forgotten = String(format: "%.0f%% -> %.0f%%", 100 * before, 100 * after)
        }
        var cells: [String] = ["\(number)", label]
        if let record {
            cells.append("\(record.rowsRemoved)")
            cells.append(record.outcome.rawValue)
            cells.append("\(record.blockSize)")
            cells.append(String(format: "%.2e", record.residualBound))
            cells.append(record.released ? "v\(record.release?.version ?? 0)" : "-")
        } else {
            cells += ["0", "recorded_only", "-", "-", "-"]
        }
        cells.append(String(format: "%.3f / %g", spent, budget))
        cells.append(record?.validationAccuracyAfter.map { String(format: "%.1f%%", 100 * $0) } ?? "-")
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
