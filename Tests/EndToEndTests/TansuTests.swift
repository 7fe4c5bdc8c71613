import Checkpoints
import Foundation
import KafkaLog
import Testing
import UnlearnDaemon
import UnlearningCore

/// The real `unlearnd` against Tansu, a real Kafka-compatible broker in a separate process, with librdkafka >= 2.2
/// loaded through LD_LIBRARY_PATH (README, "Against a real broker"; TansuBroker says where Tansu differs from Kafka).
@Suite(
    "unlearnd against Tansu", .serialized,
    .enabled(if: TansuBroker.shouldRun, "Tansu is not prepared: run ./dev real-broker, or ./dev test, which requires it"),
    .enabled(if: Kcat.path != nil, "kcat is not installed (apt-get install kcat)")
)
struct TansuTests {
    static let topics = ["unlearn.deletions", "unlearn.deletions.dlq", "unlearn.alerts"]
    static let model = "digits-a"

    static func config(directory: URL, bootstrap: String) throws -> (path: String, state: String) {
        let state = directory.appendingPathComponent("state").path
        let object: [String: Any] = [
            "state_directory": state,
            "models": ["\(model)=\(DaemonFixture.bundles[model]!)"],
            // Kafka's default group.min.session.timeout.ms is 6 s; Tansu accepts it too.
            "kafka": ["bootstrap.servers": bootstrap, "session.timeout.ms": "6000"],
            "batch": ["max_rows": 64, "max_wait_ms": 100],
            "unlearning": ["noise": false, "perturbations": 300],
            "budget": ["epsilon": 1000, "sigma_max": 100, "max_accuracy_drop": 1.0],
            "snapshots": ["retain": 1000],
            "metrics": ["interval_ms": 200],
            "log": ["level": "info"],
        ]
        let path = directory.appendingPathComponent("unlearnd.json").path
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        return (path, state)
    }

    static func newest(state: String) throws -> Snapshot? {
        let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: state, modelId: model))
        guard try !store.versions().isEmpty else { return nil }
        return try store.loadNewestValid(quarantine: false).snapshot
    }

    /// librdkafka's version as `unlearnd --version` reports the one it loaded.
    static func loadedLibrdkafka(environment: [String: String]) throws -> String {
        let result = try Binaries.run("unlearnd", ["--version"], environment: environment)
        guard result.status == 0, let line = result.stdout.split(separator: "\n").first(where: { $0.hasPrefix("librdkafka ") }) else {
            throw Binaries.Failure("unlearnd --version failed (\(result.status)): \(result.stdout)\(result.stderr)")
        }
        return String(line.dropFirst("librdkafka ".count))
    }

    static func atLeast22(_ version: String) -> Bool {
        let parts = version.split(separator: ".").compactMap { Int($0.prefix { $0.isNumber }) }
        return parts.count >= 2 && (parts[0], parts[1]) >= (2, 2)
    }

    /// Subject deletions published with kcat are applied exactly once, re-sent copies are recognised, the consumer
    /// group's offsets are committed on Tansu, SIGTERM stops the daemon with 0, and a restarted daemon resumes after
    /// what was done.
    @Test("subject deletions through Tansu are applied exactly once, and SIGTERM stops cleanly", .timeLimit(.minutes(6)))
    func exactlyOnceThroughTansu() async throws {
        let setup = try #require(try? TansuBroker.setup.get(), "\(TansuBroker.setup)")
        let loaded = try Self.loadedLibrdkafka(environment: setup.environment)
        try #require(Self.atLeast22(loaded), "unlearnd loaded librdkafka \(loaded) from \(setup.libraryDirectory); Tansu needs >= 2.2")

        let directory = try Binaries.temporaryDirectory("tansu")
        defer {
            if ProcessInfo.processInfo.environment["UNLEARND_KEEP_TEST_DIRS"] == nil { try? FileManager.default.removeItem(at: directory) }
        }
        let broker = try await TansuBroker(directory: directory, topics: Self.topics, partitions: 3)
        defer { broker.stop() }
        let (config, state) = try Self.config(directory: directory, bootstrap: broker.bootstrap)
        let bundle = try ModelBundle.read(from: DaemonFixture.bundles[Self.model]!)
        let subjects = bundle.train.rowsBySubject
        let names = subjects.keys.sorted()

        var daemons: [ChildProcess] = []
        func logs() -> String {
            daemons.map { "--- \($0.name) ---\n\($0.stderr.suffix(4000))" }.joined(separator: "\n") + "\n--- tansu ---\n\(broker.log)"
        }
        func start(_ label: String) async throws -> ChildProcess {
            let notify = try NotifySocket(directory: directory)
            let daemon = try ChildProcess(
                "unlearnd", ["--config", config], directory: directory, label: label,
                environment: setup.environment.merging(["NOTIFY_SOCKET": notify.path]) { $1 }
            )
            daemons.append(daemon)
            try await eventually(.seconds(60), "READY=1 from \(label)") { () throws -> Bool? in
                guard daemon.isRunning else { throw Binaries.Failure("\(label) exited with \(daemon.status!)") }
                return notify.saw("READY=1") ? true : nil
            }
            return daemon
        }

        do {
            let first = try await start("unlearnd-1")
            // Eight subjects, then three of them sent again: the copies are duplicates, applied once.
            let ids = (0..<8).map { "tansu-r\($0)" }
            var lines = ids.indices.map { Requests.line(id: ids[$0], model: Self.model, scope: .subject(names[$0])) }
            lines += [lines[1], lines[4], lines[6]]
            try broker.produce(topic: "unlearn.deletions", lines: lines)
            let expectedRows = Set(names.prefix(8).flatMap { subjects[$0]! })

            let applied = try await eventually(.seconds(120), "the 8 requests in the ledger") { () throws -> Snapshot? in
                guard first.isRunning else { throw Binaries.Failure("unlearnd exited with \(first.status!)") }
                guard let s = try? Self.newest(state: state) else { return nil }
                return Set(ids).isSubset(of: Set(s.manifest.appliedRequestIds)) ? s : nil
            }
            let ledger = applied.manifest.appliedRequestIds
            #expect(ledger.count == Set(ledger).count, "a request id was applied twice: \(ledger)")
            #expect(Set(ledger) == Set(ids))
            #expect(Set(applied.manifest.tombstones.rows) == expectedRows)
            #expect(applied.manifest.residualN == applied.manifest.n0 - expectedRows.count)
            let metricsPath = state + "/metrics/unlearnd.prom"
            _ = try await eventually(.seconds(30), "3 duplicates counted in the metrics") {
                let text = (try? String(contentsOfFile: metricsPath, encoding: .utf8)) ?? ""
                let duplicates = text.split(separator: "\n").filter { $0.hasPrefix("unlearnd_requests_duplicate_total{") }
                    .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
                return duplicates == 3 ? true : nil
            }
            let versionsBefore = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: state, modelId: Self.model)).versions().count

            // SIGTERM: finish, commit, exit 0 (docs/ARCHITECTURE.md, section 4.6).
            first.signal(SIGTERM)
            let status = await first.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "\(logs())")
            #expect(!first.stderr.contains("librdkafka is too old"))

            // The group's committed offsets on Tansu are at the end: a kcat member of group "unlearnd" reads
            // nothing, while a new group reads all 11 messages from the beginning (so the probe itself can see them).
            // kcat's balanced-consumer mode takes its options before -G and the topics after it. Tansu finished
            // each group join only after a delay that grew with session.timeout.ms (about 23 s at librdkafka's
            // default of 45 s, under 4 s at 6 s), hence the short session.
            func probe(_ group: String) throws -> String {
                try broker.kcat([
                    "-e", "-q", "-f", "%p %o\\n", "-X", "auto.offset.reset=earliest", "-X", "enable.auto.commit=false",
                    "-X", "session.timeout.ms=6000", "-G", group, "unlearn.deletions",
                ])
            }
            let fresh = try probe("tansu-probe")
            #expect(fresh.split(separator: "\n").count == lines.count, "a new group read: \(fresh)")
            let resumed = try probe("unlearnd")
            #expect(resumed.isEmpty, "group unlearnd has uncommitted messages: \(resumed)")

            // A restarted daemon applies a new request and nothing again.
            let second = try await start("unlearnd-2")
            try broker.produce(topic: "unlearn.deletions", lines: [Requests.line(id: "tansu-r8", model: Self.model, scope: .subject(names[8]))])
            let after = try await eventually(.seconds(120), "the ninth request in the ledger") { () throws -> Snapshot? in
                guard second.isRunning else { throw Binaries.Failure("unlearnd exited with \(second.status!)") }
                guard let s = try? Self.newest(state: state) else { return nil }
                return s.manifest.appliedRequestIds.contains("tansu-r8") ? s : nil
            }
            #expect(after.manifest.appliedRequestIds.count == Set(after.manifest.appliedRequestIds).count)
            #expect(Set(after.manifest.appliedRequestIds) == Set(ids + ["tansu-r8"]))
            let versionsAfter = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: state, modelId: Self.model)).versions().count
            #expect(versionsAfter == versionsBefore + 1, "the restart re-applied earlier requests")
            second.signal(SIGTERM)
            #expect(await second.waitForExit(timeout: .seconds(60)) == 0, "\(logs())")
        } catch {
            Issue.record("\(error)\n\(logs())")
        }
        for daemon in daemons { await daemon.stop() }
    }

    /// Debian 12's librdkafka 2.0.2 cannot read Tansu's ApiVersions response: the daemon says once, as an error,
    /// which version it needs, however often librdkafka retries and repeats its own misleading line.
    @Test(
        "with librdkafka < 2.2 the daemon logs one error naming 2.2 and the README section",
        .enabled(if: !LibRdKafka.meetsProductionMinimum, "the linked librdkafka is >= 2.2: nothing to report"),
        .timeLimit(.minutes(3))
    )
    func tooOldLibrdkafkaIsNamed() async throws {
        let loaded = try Self.loadedLibrdkafka(environment: [:])
        try #require(!Self.atLeast22(loaded), "unlearnd loads librdkafka \(loaded) without LD_LIBRARY_PATH")
        let directory = try Binaries.temporaryDirectory("tansu-old")
        defer { try? FileManager.default.removeItem(at: directory) }
        let broker = try await TansuBroker(directory: directory, topics: Self.topics, partitions: 1)
        defer { broker.stop() }
        let (config, _) = try Self.config(directory: directory, bootstrap: broker.bootstrap)
        let daemon = try ChildProcess("unlearnd", ["--config", config], directory: directory, label: "unlearnd-old")
        do {
            // librdkafka's own line, at least twice (two clients, and reconnects), before counting the daemon's.
            try await eventually(.seconds(90), "two ApiVersionRequest failures in the log") { () -> Bool? in
                daemon.stderr.components(separatedBy: "ApiVersionRequest failed").count - 1 >= 2 ? true : nil
            }
            let clear = daemon.stderr.split(separator: "\n").filter { $0.contains("librdkafka is too old for this broker") }
            #expect(clear.count == 1, "\(daemon.stderr.suffix(4000))")
            let line = try #require(clear.first.map(String.init))
            #expect(line.contains("error"))
            #expect(line.contains("librdkafka >= 2.2"))
            #expect(line.contains("Against a real broker"))
            #expect(line.contains(loaded))
        } catch {
            Issue.record("\(error)\n\(daemon.stderr.suffix(4000))")
        }
        await daemon.stop()
    }
}
