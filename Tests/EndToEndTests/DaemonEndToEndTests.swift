import Checkpoints
import Foundation
import KafkaLog
import Logging
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// The real `unlearnd` against the real dev broker, fed by kcat.
@Suite("unlearnd end to end", .serialized, .enabled(if: Kcat.path != nil, "kcat is not installed (apt-get install kcat)"), .blockingWaits)
struct DaemonEndToEndTests {
    /// A mixed stream for one model: 2 class deletions, subject deletions, sample lists, and re-sent duplicates.
    static func stream(model: String, bundle: ModelBundle, count: Int, seed: UInt64) -> (lines: [String], ids: [String], rows: Set<Int>) {
        var rng = SeededGenerator(seed: seed)
        let subjects = bundle.train.rowsBySubject
        var subjectNames = subjects.keys.sorted()
        subjectNames.shuffle(using: &rng)
        var lines: [String] = []
        var ids: [String] = []
        var rows = Set<Int>()
        func add(_ scope: DeletionRequest.Scope, _ selected: [Int]) {
            let id = "\(model)-r\(ids.count)"
            ids.append(id)
            rows.formUnion(selected)
            lines.append(Requests.line(id: id, model: model, scope: scope))
        }
        for c in [3, 7] { add(.class(c), bundle.train.labels.indices.filter { bundle.train.labels[$0] == c }) }
        for name in subjectNames.prefix(min(count / 4, 50)) { add(.subject(name), subjects[name]!) }
        while ids.count < count - 10 {
            let picks = (0..<(1 + Int(rng.next() % 3))).map { _ in Int(rng.next() % UInt64(bundle.train.count)) }
            add(.samples(picks.map { bundle.train.sampleIDs[$0] }), picks)
        }
        // Ten re-sent copies of earlier requests: counted as duplicates, applied once.
        for k in 0..<10 { lines.append(lines[(k * 7) % lines.count]) }
        lines.shuffle(using: &rng)
        return (lines, ids, rows)
    }

    /// 500 requests of all three scopes for 2 models; every valid request applied exactly once,
    /// offsets committed, and each snapshot equal to calling the engine directly on the same batch and seed.
    @Test("500 requests for 2 models are applied exactly once and match the engine run directly", .timeLimit(.minutes(8)))
    func exactlyOnce() async throws {
        let fixture = try await DaemonFixture(label: "exactly-once")
        do {
            let config = try fixture.writeConfig()
            let notify = try NotifySocket(directory: fixture.directory)
            // The replay below runs the engine in this process and asks for bit-identical weights, so the daemon
            // must run the OpenBLAS kernels this process runs (it would restart itself with better ones).
            let daemon = try fixture.startDaemon(
                config: config, notify: notify,
                environment: fixture.broker.clientEnvironment.merging(["OPENBLAS_CORETYPE": BLASLibrary.coreName]) { $1 })
            try await daemon.waitUntilReady(notify: notify, timeout: .seconds(60))

            var expected: [String: (ids: [String], rows: Set<Int>)] = [:]
            var all: [String] = []
            for (i, model) in ["digits-a", "digits-b"].enumerated() {
                let s = Self.stream(model: model, bundle: try fixture.bundle(model), count: 255, seed: UInt64(10 + i))
                expected[model] = (s.ids, s.rows)
                all += s.lines
            }
            #expect(all.count == 510)  // 490 distinct requests + 20 re-sent copies (>= 500 messages)
            try Kcat.produce(bootstrap: fixture.broker.bootstrapServers, topic: "unlearn.deletions", lines: all)

            for (model, e) in expected {
                let newest = try await fixture.waitForLedger(model, contains: Set(e.ids))
                let ledger = newest.manifest.appliedRequestIds
                #expect(ledger.count == Set(ledger).count, "a request id was applied twice for \(model)")
                #expect(Set(ledger) == Set(e.ids))
                #expect(Set(newest.manifest.tombstones.rows) == e.rows, "tombstones differ from the requested rows for \(model)")
                #expect(newest.manifest.residualN == newest.manifest.n0 - e.rows.count)
            }
            #expect(try Kcat.consume(bootstrap: fixture.broker.bootstrapServers, topic: "unlearn.deletions.dlq").isEmpty)

            // Offsets: the group's committed offsets reach the end of every partition.
            let records = try Kcat.consume(bootstrap: fixture.broker.bootstrapServers, topic: "unlearn.deletions", format: "%p %o")
            #expect(records.count == 510)
            var ends: [Int32: Int64] = [:]
            for r in records {
                let parts = r.split(separator: " ")
                if let p = Int32(parts[0]), let o = Int64(parts[1]) { ends[p] = max(ends[p] ?? 0, o + 1) }
            }
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let probe = try KafkaConsumer(
                configuration: KafkaConfiguration(bootstrapServers: fixture.broker.bootstrapServers), groupID: "unlearnd", logger: logger)
            let committed = try await eventually(.seconds(30), "committed offsets at the end of every partition") {
                () -> [KafkaTopicPartitionOffset]? in
                let c = try await probe.committed(ends.keys.sorted().map { KafkaTopicPartition(topic: "unlearn.deletions", partition: $0) })
                return c.allSatisfy { $0.offset == ends[$0.partition] } ? c : nil
            }
            #expect(committed.count == ends.count)
            try? await probe.close()
            let metricsPath = fixture.stateDirectory + "/metrics/unlearnd.prom"
            _ = try await eventually(.seconds(30), "duplicates counted in the metrics") {
                let text = (try? String(contentsOfFile: metricsPath, encoding: .utf8)) ?? ""
                let duplicates = text.split(separator: "\n").filter { $0.hasPrefix("unlearnd_requests_duplicate_total{") }
                    .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
                return duplicates == 20 ? true : nil
            }
            await daemon.stop()
            #expect(daemon.status == 0, "\(fixture.logs)")
            #expect(!daemon.stderr.contains("-r1\""), "request ids must not be logged above debug")

            // The same batches through the engine directly, version by version.
            for model in expected.keys.sorted() {
                try Self.replay(model: model, fixture: fixture, seed: UnlearningOptions().seed)
            }
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    /// Recomputes every update of a model from the previous version's weights with the engine called directly,
    /// and checks the snapshot holds exactly that result.
    static func replay(model: String, fixture: DaemonFixture, seed: UInt64) throws {
        let store = try fixture.store(model)
        let versions = try store.versions().map(\.version)
        let bundle = try fixture.bundle(model)
        var previous = try store.load(version: versions[0]).snapshot
        var options = UnlearningOptions()
        options.noise = false
        options.perturbations = 300
        var checked = 0
        var worst = 0.0
        // The daemon builds newton's preconditioner from the state it loads at start-up (the base here: one daemon
        // run, no rebase) and every update of the run uses it; the replay does the same.
        let base = previous
        let baseStandardization = base.parameters.standardization
        var baseState = UnlearningState(
            model: try base.parameters.engineModel(lambda: base.manifest.lambda),
            trainFeatures: baseStandardization!.apply(bundle.train.features), trainLabels: bundle.train.labels,
            validationFeatures: baseStandardization!.apply(bundle.validation.features), validationLabels: bundle.validation.labels,
            removed: (0..<bundle.train.count).map { Set(base.manifest.tombstones.rows).contains($0) },
            budget: try base.manifest.budget.decode(BudgetState.self)
        )
        if options.resolvedMethod(for: baseState.model.architecture) == .newton {
            baseState.prepareNewtonPreconditioner(options: options)
        }
        for v in versions.dropFirst() {
            let current = try store.load(version: v).snapshot
            let before = Set(previous.manifest.tombstones.rows)
            let rows = current.manifest.tombstones.rows.filter { !before.contains($0) }.sorted()
            if !rows.isEmpty {
                let standardization = previous.parameters.standardization
                var state = UnlearningState(
                    model: try previous.parameters.engineModel(lambda: previous.manifest.lambda),
                    trainFeatures: standardization!.apply(bundle.train.features), trainLabels: bundle.train.labels,
                    validationFeatures: standardization!.apply(bundle.validation.features), validationLabels: bundle.validation.labels,
                    removed: (0..<bundle.train.count).map { before.contains($0) },
                    budget: try previous.manifest.budget.decode(BudgetState.self)
                )
                state.keepNewtonPreconditioning(of: baseState)
                options.seed = seed &+ v
                var policy = BudgetPolicy()
                policy.epsilonBudget = 1e9
                policy.sigmaMax = 1e12
                policy.maxAccuracyDrop = 1
                _ = try Unlearner.forget(rows: rows, in: &state, options: options, policy: policy)
                // The noise-free state (releases happen at the cadence; with noise off they equal it).
                let stored = current.parameters.privateTheta ?? current.parameters.theta
                let diff = zip(state.model.theta, stored).map { abs($0 - $1) }.max() ?? 0
                worst = max(worst, diff)
                checked += 1
            }
            previous = current
        }
        print("\(model): replayed \(checked) updates through the engine; largest parameter difference \(worst)")
        // Batches due together are applied as one update, so 500 requests make fewer updates than batches.
        #expect(checked >= 5)
        #expect(worst == 0, "snapshots differ from the engine run directly by up to \(worst)")
    }
}
