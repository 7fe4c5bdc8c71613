import Checkpoints
import Foundation
import KafkaLog
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// The real `unlearnd` against Tansu, a real Kafka-compatible broker in a separate process, with librdkafka >= 2.2
/// loaded through LD_LIBRARY_PATH (README, "Against a real broker"; TansuSetup says where Tansu differs from Kafka).
@Suite(
    "unlearnd against Tansu", .serialized,
    .enabled(if: TansuSetup.shouldRun, "Tansu is not prepared: run ./dev real-broker, or ./dev test, which requires it"),
    .enabled(if: Kcat.path != nil, "kcat is not installed (apt-get install kcat)"), .blockingWaits
)
struct TansuTests {
    static let model = "digits-a"

    /// librdkafka's version as `unlearnd --version` reports the one it loaded.
    static func loadedLibrdkafka(environment: [String: String]) throws -> String {
        let result = try Binaries.run("unlearnd", ["--version"], environment: environment)
        guard result.status == 0, let line = result.stdout.split(separator: "\n").first(where: { $0.hasPrefix("librdkafka ") }) else {
            throw HarnessError("unlearnd --version failed (\(result.status)): \(result.stdout)\(result.stderr)")
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
        let paths = try TansuSetup.require()
        let loaded = try Self.loadedLibrdkafka(environment: paths.environment)
        try #require(Self.atLeast22(loaded), "unlearnd loaded librdkafka \(loaded) from \(paths.libraryDirectory); Tansu needs >= 2.2")

        let fixture = try await DaemonFixture(label: "tansu", models: [Self.model], partitions: 3, broker: .tansu)
        let tansu = try #require(fixture.broker.tansu)
        let state = fixture.stateDirectory
        let bundle = try fixture.bundle(Self.model)
        let subjects = bundle.train.rowsBySubject
        let names = subjects.keys.sorted()

        func start(_ label: String) async throws -> ChildProcess {
            let notify = try NotifySocket(directory: fixture.directory)
            // Releases only by count (10 updates; this test applies 9): a timed release would add a version of its
            // own between the counts below whenever the run is slow enough for the oldest update to reach its age.
            let config = try fixture.writeConfig(["release": ["every_seconds": 0]])
            let daemon = try fixture.startDaemon(config: config, notify: notify, label: label)
            try await daemon.waitUntilReady(notify: notify, timeout: .seconds(60))
            return daemon
        }

        do {
            let first = try await start("unlearnd-1")
            // Eight subjects, then three of them sent again: the copies are duplicates, applied once.
            let ids = (0..<8).map { "tansu-r\($0)" }
            var lines = ids.indices.map { Requests.line(id: ids[$0], model: Self.model, scope: .subject(names[$0])) }
            lines += [lines[1], lines[4], lines[6]]
            try fixture.produce(lines: lines)
            let expectedRows = Set(names.prefix(8).flatMap { subjects[$0]! })

            let applied = try await eventually(.seconds(120), "the 8 requests in the ledger") { () throws -> Snapshot? in
                guard first.isRunning else { throw HarnessError("unlearnd exited with \(first.status!)") }
                guard let s = try? fixture.newest(Self.model) else { return nil }
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
            let versionsBefore = try fixture.store(Self.model).versions().count

            // SIGTERM: finish, commit, exit 0 (docs/ARCHITECTURE.md, section 4.6).
            first.signal(SIGTERM)
            let status = await first.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "\(fixture.logs)")
            #expect(!first.stderr.contains("librdkafka is too old"))

            // The group's committed offsets on Tansu are at the end: a kcat member of group "unlearnd" reads
            // nothing, while a new group reads all 11 messages from the beginning (so the probe itself can see them).
            // kcat's balanced-consumer mode takes its options before -G and the topics after it. Tansu finished
            // each group join only after a delay that grew with session.timeout.ms (about 23 s at librdkafka's
            // default of 45 s, under 4 s at 6 s), hence the short session.
            func probe(_ group: String) throws -> String {
                let kcat = try #require(Kcat.path, "kcat is not installed (apt-get install kcat)")
                let result = try ProcessRunner.run(
                    kcat,
                    [
                        "-b", tansu.bootstrapServers, "-e", "-q", "-f", "%p %o\\n", "-X", "auto.offset.reset=earliest", "-X",
                        "enable.auto.commit=false", "-X", "session.timeout.ms=6000", "-G", group, "unlearn.deletions",
                    ],
                    environment: tansu.clientEnvironment
                )
                guard result.status == 0 else { throw HarnessError("kcat -G \(group) exited with \(result.status): \(result.stderrText)") }
                return result.stdoutText
            }
            let fresh = try probe("tansu-probe")
            #expect(fresh.split(separator: "\n").count == lines.count, "a new group read: \(fresh)")
            let resumed = try probe("unlearnd")
            #expect(resumed.isEmpty, "group unlearnd has uncommitted messages: \(resumed)")

            // A restarted daemon applies a new request and nothing again.
            let second = try await start("unlearnd-2")
            try fixture.produce(lines: [Requests.line(id: "tansu-r8", model: Self.model, scope: .subject(names[8]))])
            let after = try await eventually(.seconds(120), "the ninth request in the ledger") { () throws -> Snapshot? in
                guard second.isRunning else { throw HarnessError("unlearnd exited with \(second.status!)") }
                guard let s = try? fixture.newest(Self.model) else { return nil }
                return s.manifest.appliedRequestIds.contains("tansu-r8") ? s : nil
            }
            #expect(after.manifest.appliedRequestIds.count == Set(after.manifest.appliedRequestIds).count)
            #expect(Set(after.manifest.appliedRequestIds) == Set(ids + ["tansu-r8"]))
            let versionsAfter = try fixture.store(Self.model).versions().count
            #expect(versionsAfter == versionsBefore + 1, "the restart re-applied earlier requests")
            second.signal(SIGTERM)
            #expect(await second.waitForExit(timeout: .seconds(60)) == 0, "\(fixture.logs)")
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
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
        let fixture = try await DaemonFixture(label: "tansu-old", models: [Self.model], partitions: 1, broker: .tansu)
        // The environment without the newer librdkafka: the daemon loads the one it was linked against.
        let daemon = try fixture.startDaemon(config: try fixture.writeConfig(), label: "unlearnd-old", environment: [:])
        do {
            // librdkafka's own line, at least twice (two clients, and reconnects), before counting the daemon's.
            _ = try await eventually(.seconds(90), "two ApiVersionRequest failures in the log") { () -> Bool? in
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
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }
}
