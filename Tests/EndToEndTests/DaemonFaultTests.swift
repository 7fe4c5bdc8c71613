import Checkpoints
import Foundation
import KafkaLog
import Logging
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// Crashes, broker outages and rebalances against the real processes, on the mock cluster and on Tansu.
@Suite("unlearnd under faults", .serialized, .enabled(if: Kcat.path != nil, "kcat is not installed (apt-get install kcat)"), .blockingWaits)
struct DaemonFaultTests {
    /// Every version of a model loads and verifies; budget counters never decrease along the history.
    static func checkHistory(_ fixture: DaemonFixture, _ model: String) throws -> [Snapshot] {
        let store = try fixture.store(model)
        var history: [Snapshot] = []
        for v in try store.versions() where v.hasSnapshot && v.hasRecord {
            history.append(try store.load(version: v.version).snapshot)
        }
        for (a, b) in zip(history, history.dropFirst()) {
            #expect(b.manifest.parentVersion == a.manifest.version, "\(model): v\(b.manifest.version) does not derive from v\(a.manifest.version)")
            let x = try a.manifest.budget.decode(BudgetState.self)
            let y = try b.manifest.budget.decode(BudgetState.self)
            if x.epoch == y.epoch {
                #expect(y.removedRows >= x.removedRows)
                #expect(y.accountant.releases >= x.accountant.releases)
                #expect(y.epsilonSpent(delta: 1e-5) >= x.epsilonSpent(delta: 1e-5))
            }
            #expect(Set(a.manifest.appliedRequestIds).isSubset(of: Set(b.manifest.appliedRequestIds)))
        }
        return history
    }

    /// Kill -9 at 20 random moments during a 1,000-request stream, restarting each time. The full stream on
    /// Tansu too: each run's chunk must outlast the kill; the restarts, not the requests, take the time. On Tansu, as on
    /// Kafka, a killed member's partitions move only once its session (6 s here) expires.
    @Test(
        "kill -9 at 20 random moments: every request applied exactly once, every snapshot verifies, budget monotone", .timeLimit(.minutes(8)),
        arguments: Broker.allCases)
    func killNine(broker: Broker) async throws {
        let fixture = try await DaemonFixture(label: "kill9", broker: broker)
        // lfoci on the full block (a dense solve per batch): updates slow enough that the kills, 0-0.4 s after a run's
        // first snapshot, land while requests are still pending; newton finishes a chunk sooner.
        await Self.killNine(fixture, models: ["digits-a", "digits-b"], requests: 500, unlearning: ["method": "lfoci", "selection": "full"])
    }

    /// The same on a convolutional network (Config/architectures/digits-cnn.json) with its default method: a CNN's
    /// updates are slower than logistic regression's, so 200 requests keep every kill inside the stream. On the
    /// dev broker; the broker's part of the guarantee does not depend on the model.
    @Test(
        "kill -9 at 20 random moments on a CNN: every request applied exactly once, every snapshot verifies, budget monotone",
        .timeLimit(.minutes(8)))
    func killNineConvolutional() async throws {
        let fixture = try await DaemonFixture(label: "kill9-cnn", models: ["digits-cnn"], broker: .mock)
        // Without noise: a noisy adaptive release of this network reaches the removal limit at once (its Delta =
        // ||grad F|| / lambda is in the thousands), after which updates are only recorded; noise-free releases keep
        // every update a real CNN step.
        await Self.killNine(fixture, models: ["digits-cnn"], requests: 200, unlearning: ["noise": false], everyUpdateApplied: true)
    }

    /// Kills and restarts the daemon 20 times while a shuffled stream of `requests` per model arrives in 20 chunks.
    /// With `everyUpdateApplied`, no update record in the final history may be recorded only (every step applied).
    static func killNine(
        _ fixture: DaemonFixture, models: [String], requests: Int, unlearning: [String: Any], everyUpdateApplied: Bool = false
    ) async {
        do {
            let config = try fixture.writeConfig([
                "unlearning": unlearning.merging(["noise": true]) { given, _ in given },
                "budget": ["epsilon": 1000, "epsilon_step": 5, "sigma_max": 100, "max_accuracy_drop": 1.0],
                "batch": ["max_rows": 32, "max_wait_ms": 20],
            ])
            var expected: [String: [String]] = [:]
            var lines: [String] = []
            for (i, model) in models.enumerated() {
                let s = DaemonEndToEndTests.stream(model: model, bundle: try fixture.bundle(model), count: requests, seed: UInt64(40 + i))
                expected[model] = s.ids
                lines += s.lines
            }
            // The stream arrives in 20 chunks, one per daemon run, so every kill falls inside it.
            var rng = SeededGenerator(seed: 2026)
            lines.shuffle(using: &rng)
            let chunk = (lines.count + 19) / 20
            var kills = 0
            var killedMidBatch = 0
            while kills < 20 {
                // Counted before the run starts: a snapshot it writes before its chunk is published (a replay) is its work too.
                let before = try expected.keys.map { try fixture.newest($0)?.manifest.version ?? 0 }.reduce(0, +)
                let daemon = try fixture.startDaemon(config: config, label: "kill9-\(kills)")
                try fixture.produce(lines: Array(lines[(kills * chunk)..<min(lines.count, (kills + 1) * chunk)]))
                // Random moment while it works: wait until this run has written a snapshot (after a kill the mock
                // broker needs ~5 s, more on a loaded machine, to hand the partitions to the new member), then kill
                // 0 to 0.4 s later, so the kill lands between or inside the next batches.
                let working = try await eventually(.seconds(120), "the restarted daemon to write a snapshot") { () -> Bool? in
                    // Versions and ledgers from one read of each model: read apart, a snapshot written in between
                    // made a run that had just finished its chunk look like one that had written nothing.
                    let newest = try expected.keys.map { ($0, try fixture.newest($0)) }
                    let now = newest.map { $0.1?.manifest.version ?? 0 }.reduce(0, +)
                    if now > before { return true }
                    let done = newest.allSatisfy { model, snapshot in
                        Set(expected[model] ?? []).isSubset(of: Set(snapshot?.manifest.appliedRequestIds ?? []))
                    }
                    return done ? false : nil
                }
                try await Task.sleep(for: .milliseconds(Int(rng.next() % 400)))
                daemon.signal(SIGKILL)
                _ = await daemon.waitForExit(timeout: .seconds(10))
                kills += 1
                if working { killedMidBatch += 1 }
            }
            let final = try fixture.startDaemon(config: config, label: "kill9-final")
            for (model, ids) in expected {
                let newest = try await fixture.waitForLedger(model, contains: Set(ids), timeout: .seconds(180))
                let ledger = newest.manifest.appliedRequestIds
                #expect(ledger.count == Set(ledger).count, "\(model): a request was applied twice")
                #expect(Set(ledger) == Set(ids))
                let history = try Self.checkHistory(fixture, model)
                #expect(history.count >= 2)
                if everyUpdateApplied {
                    let outcomes = newest.manifest.updates.map(\.outcome)
                    #expect(!outcomes.contains(.recordedOnly), "\(model): outcomes \(Set(outcomes.map(\.rawValue)))")
                    print("\(model): \(outcomes.filter { $0 == .applied }.count) applied updates")
                }
            }
            let verify = try Binaries.run("unlearnctl", ["verify", fixture.stateDirectory + "/models/\(models[0])"])
            #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")
            print(
                "kill -9 (\(models.joined(separator: ", "))): 20 kills, \(killedMidBatch) of them after the run's first snapshot, while requests were pending"
            )
            #expect(killedMidBatch == 20, "some kills came after the stream was fully applied")
            await final.stop()
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    /// The broker is down for 20 s mid-stream.
    ///
    /// The mock cluster takes its broker down (`down 1`: connections refused and closed). Tansu has no such command,
    /// so its process is frozen with SIGSTOP instead: connections stay open and nothing is answered, which librdkafka
    /// notices only when requests time out, hence a short socket.timeout.ms for the daemon there.
    @Test(
        "broker down for 20 s mid-stream: nothing lost or duplicated, the daemon stays up and says so", .timeLimit(.minutes(5)),
        arguments: Broker.allCases)
    func brokerDown(broker: Broker) async throws {
        let fixture = try await DaemonFixture(label: "broker-down", models: ["digits-a"], broker: broker)
        if broker == .tansu {
            await Self.brokerPausedOnTansu(fixture)
            return
        }
        do {
            let config = try fixture.writeConfig()
            let notify = try NotifySocket(directory: fixture.directory)
            let daemon = try fixture.startDaemon(config: config, notify: notify)
            try await daemon.waitUntilReady(notify: notify, timeout: .seconds(60))
            let bundle = try fixture.bundle("digits-a")
            let names = Array(Set(bundle.train.subjects.compactMap { $0 })).sorted().prefix(60)
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: fixture.broker.bootstrapServers), logger: logger)
            var ids: [String] = []
            // The outage's end and the sends made during it are child tasks: a failure of any of them (the broker
            // refusing `up 1`, a delivery that fails for good) ends the test with its own error at waitForAll.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, name) in names.enumerated() {
                    if i == 20 {
                        try await fixture.broker.ok("down 1")
                        // The outage lasts 20 s; the producer keeps the messages queued and delivers them afterwards.
                        group.addTask {
                            try await Task.sleep(for: .seconds(20))
                            try await fixture.broker.ok("up 1")
                        }
                    }
                    let id = "outage-\(i)"
                    ids.append(id)
                    let value = Array(Requests.json(id: id, model: "digits-a", scope: .subject(name)).utf8)
                    if i < 20 {
                        try await producer.send(topic: "unlearn.deletions", key: Array("digits-a".utf8), value: value)
                    } else {
                        // During the outage, sends are awaited concurrently so the test can proceed.
                        group.addTask { try await producer.send(topic: "unlearn.deletions", key: Array("digits-a".utf8), value: value) }
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                try await group.waitForAll()
            }
            let newest = try await fixture.waitForLedger("digits-a", contains: Set(ids), timeout: .seconds(150))
            #expect(newest.manifest.appliedRequestIds.count == Set(newest.manifest.appliedRequestIds).count)
            #expect(Set(newest.manifest.appliedRequestIds) == Set(ids))
            #expect(daemon.isRunning)
            #expect(daemon.stderr.contains("All Kafka brokers are down"), "the outage was not logged")
            #expect(daemon.stderr.contains("Kafka brokers are reachable again"), "the recovery was not logged")
            #expect(
                notify.messages.contains { $0.contains("STATUS=") && $0.contains("Kafka brokers down") }, "the STATUS line did not report the outage")
            try? await producer.close()
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    /// The Tansu run of `brokerDown`: the same stream and checks, the outage a SIGSTOP of the broker process, the
    /// requests sent during it by a Python producer (the test process's librdkafka 2.0.2 cannot talk to Tansu).
    static func brokerPausedOnTansu(_ fixture: DaemonFixture) async {
        var streaming: ChildProcess?
        var paused = false
        do {
            let config = try fixture.writeConfig(["kafka": ["socket.timeout.ms": "5000"]])
            let notify = try NotifySocket(directory: fixture.directory)
            let daemon = try fixture.startDaemon(config: config, notify: notify)
            try await daemon.waitUntilReady(notify: notify, timeout: .seconds(60))
            let bundle = try fixture.bundle("digits-a")
            let names = Array(Set(bundle.train.subjects.compactMap { $0 })).sorted().prefix(60)
            let lines = names.enumerated().map { Requests.line(id: "outage-\($0.offset)", model: "digits-a", scope: .subject($0.element)) }
            let ids = names.indices.map { "outage-\($0)" }
            // The first 20 are delivered before the outage.
            try fixture.produce(lines: Array(lines.prefix(20)))
            fixture.broker.pause()
            paused = true
            let resumeAt = ContinuousClock.now + .seconds(20)
            // The other 40 are sent during it, 100 ms apart, by one Python producer that queues them and delivers them
            // afterwards (kcat would give up once librdkafka reports all brokers down).
            let producer = try PythonProducer.stream(
                topic: "unlearn.deletions", bootstrap: fixture.broker.bootstrapServers, name: "producer-outage", directory: fixture.directory)
            streaming = producer
            for line in lines.dropFirst(20) {
                try producer.send(line)
                try await Task.sleep(for: .milliseconds(100))
            }
            try await Task.sleep(until: resumeAt)
            fixture.broker.resume()
            paused = false
            try producer.closeInput()
            let sent = await producer.waitForExit(timeout: .seconds(120))
            #expect(sent == 0, "the producer exited with \(sent.map(String.init) ?? "nothing yet"): \(producer.stderr)")

            let newest = try await fixture.waitForLedger("digits-a", contains: Set(ids), timeout: .seconds(150))
            #expect(newest.manifest.appliedRequestIds.count == Set(newest.manifest.appliedRequestIds).count)
            #expect(Set(newest.manifest.appliedRequestIds) == Set(ids))
            #expect(daemon.isRunning)
            #expect(daemon.stderr.contains("All Kafka brokers are down"), "the outage was not logged")
            // The kernel completes TCP handshakes for a stopped process, so librdkafka may see Tansu "up" again during
            // the freeze, until its first request times out: what counts is that the last word after the outage is
            // the recovery.
            let transitions = daemon.stderr.split(separator: "\n").filter {
                $0.contains("All Kafka brokers are down") || $0.contains("Kafka brokers are reachable again")
            }
            #expect(transitions.last?.contains("reachable again") == true, "the recovery was not logged last: \(transitions)")
            #expect(
                notify.messages.contains { $0.contains("STATUS=") && $0.contains("Kafka brokers down") }, "the STATUS line did not report the outage")
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        if paused { fixture.broker.resume() }
        await streaming?.stop()
        await fixture.tearDown()
    }

    /// Two daemons in one group over 4 models and 4 partitions. On Tansu the killed member's partitions move once its
    /// session (6 s) expires, as on Kafka; the mock's coordinator takes about as long for its own reason
    /// (DevBrokerProcess.clientProperties).
    ///
    /// The stream starts only once both daemons own a share. Started together, they need not join the same
    /// generation: both coordinators complete the first join about 3 s after the first member asks, and a daemon
    /// whose request comes later (its start delayed on a loaded machine) gets its partitions only at the rebalance
    /// that follows. Meanwhile the first owns all four and may apply the whole first half, leaving the second nothing
    /// of its own to write.
    @Test("two daemons share 4 models; killing one moves its models to the other, exactly once", .timeLimit(.minutes(6)), arguments: Broker.allCases)
    func twoDaemons(broker: Broker) async throws {
        let models = ["digits-a", "digits-b", "digits-c", "digits-d"]
        let fixture = try await DaemonFixture(label: "two-daemons", models: models, broker: broker)
        do {
            let config = try fixture.writeConfig(["batch": ["max_rows": 16, "max_wait_ms": 20]])
            let first = try fixture.startDaemon(config: config, label: "first")
            let second = try fixture.startDaemon(config: config, label: "second")
            try await fixture.waitUntilShared(by: [first, second], timeout: .seconds(120))
            var expected: [String: [String]] = [:]
            var batches: [[String]] = [[], []]
            for (i, model) in models.enumerated() {
                let s = DaemonEndToEndTests.stream(model: model, bundle: try fixture.bundle(model), count: 100, seed: UInt64(70 + i))
                expected[model] = s.ids
                batches[0] += s.lines.prefix(50)
                batches[1] += s.lines.dropFirst(50)
            }
            try fixture.produce(lines: batches[0])
            // Wait until both daemons have written something, then kill the first one mid-stream.
            var writers: Set<String> = []
            do {
                _ = try await eventually(.seconds(90), "both daemons writing") { () -> Bool? in
                    try fixture.requireRunning([first, second])
                    writers = Set(try models.flatMap { try Self.checkHistory(fixture, $0) }.compactMap(Self.writer))
                    return writers.count >= 2 ? true : nil
                }
            } catch {
                throw HarnessError("\(error) (snapshots written by: \(writers.sorted()); first is pid \(first.pid), second \(second.pid))")
            }
            try fixture.produce(lines: batches[1])
            first.signal(SIGKILL)
            _ = await first.waitForExit(timeout: .seconds(10))
            let firstPid = "\(first.pid)"
            for (model, ids) in expected {
                let newest = try await fixture.waitForLedger(model, contains: Set(ids), timeout: .seconds(120))
                #expect(newest.manifest.appliedRequestIds.count == Set(newest.manifest.appliedRequestIds).count, "\(model): applied twice")
                #expect(Set(newest.manifest.appliedRequestIds) == Set(ids))
                // One writer at a time: the history switches writer at most at rebalances, never back and forth
                // while both run, and nothing comes from the first daemon after its death.
                let writers = try Self.checkHistory(fixture, model).compactMap(Self.writer)
                var switches = 0
                for (a, b) in zip(writers, writers.dropFirst()) where a != b { switches += 1 }
                #expect(switches <= 3, "\(model): writers alternate \(writers)")
                if let last = writers.last { #expect(!last.hasSuffix(":\(firstPid)")) }
            }
            await second.stop()
            #expect(second.status == 0)
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    static func writer(_ snapshot: Snapshot) -> String? {
        if case .string(let w)? = snapshot.manifest.extensions?["writer"] { return w }
        return nil
    }
}
