import Checkpoints
import Foundation
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// The clients people already use, against the real `unlearnd` on the dev broker and on Tansu: Deploy/python/publish.py
/// publishes deletions until the budget is exhausted, Deploy/python/alerts.py receives the retrain event once (also
/// after the daemon re-sends it), and the kcat one-liners of Deploy/python/README.md run as written.
@Suite(
    "Python and kcat clients",
    .serialized,
    .enabled(if: Kcat.path != nil, "kcat is not installed (apt-get install kcat)"),
    .enabled(if: PythonClient.available, "python3 with confluent-kafka is not available (pip install confluent-kafka; ./dev test installs it)"),
    .blockingWaits
)
struct PythonClientTests {
    @Test(
        "publish.py deletions are applied until the budget is exhausted; alerts.py gets the retrain event once; the README's kcat lines work",
        .timeLimit(.minutes(5)), arguments: Broker.allCases)
    func clientsAgainstTheDaemon(broker: Broker) async throws {
        let fixture = try await DaemonFixture(label: "python-clients", models: ["digits-a"], broker: broker)
        // confluent-kafka loads the librdkafka of its wheel; kcat (also in the README's one-liners) needs the newer one
        // on LD_LIBRARY_PATH for Tansu.
        let clientEnvironment = fixture.broker.clientEnvironment
        var alertsProcess: ChildProcess?
        do {
            let config = try fixture.writeConfig([
                "unlearning": ["noise": true, "selection": "full"],
                // Adaptive mode, every update released: the budget runs out after a few releases.
                "budget": ["mode": "adaptive", "epsilon": 12, "epsilon_step": 5, "sigma_max": 0.2, "max_accuracy_drop": 0.05],
                "release": ["every_updates": 1],
            ])
            var daemon = try fixture.startDaemon(config: config)
            let bootstrap = fixture.broker.bootstrapServers
            let alerts = try PythonClient.start(
                "alerts.py", ["--bootstrap", bootstrap, "--group", "py-alerts", "--count", "1", "--timeout", "240"],
                directory: fixture.directory, label: "alerts-py"
            )
            alertsProcess = alerts

            // 1. One subject per publish.py run until the daemon reports the budget exhausted.
            let bundle = try fixture.bundle("digits-a")
            let subjects = Array(Set(bundle.train.subjects.compactMap { $0 })).sorted()
            var published: [String] = []
            var exhausted: Snapshot?
            for (n, subject) in subjects.prefix(20).enumerated() {
                let id = "py-\(n)"
                let run = try PythonClient.run(
                    "publish.py", ["--bootstrap", bootstrap, "--model", "digits-a", "--subject", subject, "--request-id", id])
                #expect(run.status == 0, "publish.py: \(run.stderr)")
                let delivered = run.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
                #expect(delivered.count == 1 && delivered[0].count == 3 && delivered[0][0] == id, "publish.py printed \(run.stdout)")
                published.append(id)
                let snapshot = try await fixture.waitForLedger("digits-a", contains: [id])
                if try snapshot.manifest.budget.decode(BudgetState.self).retrainRequired {
                    exhausted = snapshot
                    break
                }
            }
            let last = try #require(exhausted, "the budget was not exhausted after \(published.count) subjects")
            let budget = try last.manifest.budget.decode(BudgetState.self)
            #expect(budget.retrainReasons.contains(.privacyBudget), "reasons: \(budget.retrainReasons)")
            #expect(published.count >= 2, "a single update should not exhaust this budget")
            #expect(Set(published).isSubset(of: Set(last.manifest.appliedRequestIds)))
            let used = Set(subjects.prefix(published.count))
            let removed = bundle.train.subjects.filter { $0.map(used.contains) ?? false }.count
            #expect(last.manifest.residualN == last.manifest.n0 - removed)
            // One record per batch, each update applied to the noise-free state and released, but the last, whose
            // release the budget refused (the served weights stay the previous release's).
            let outcomes = last.manifest.updates.map(\.outcome.rawValue)
            #expect(outcomes == Array(repeating: "applied", count: budget.appliedUpdates), "outcomes: \(outcomes)")
            let released = last.manifest.updates.map(\.released)
            #expect(released == Array(repeating: true, count: released.count - 1) + [false], "released: \(released)")

            // 2. alerts.py printed the retrain event and exited.
            let status = await alerts.waitForExit(timeout: .seconds(60))
            #expect(status == 0, "alerts.py: \(alerts.stderr)")
            let lines = alerts.stdout.split(separator: "\n")
            #expect(lines.count == 1, "alerts.py printed \(alerts.stdout)")
            let event = try JSONDecoder().decode(RetrainEvent.self, from: Data((lines.first ?? "").utf8))
            #expect(event.alertID == "digits-a:1")
            #expect(event.model == "digits-a")
            #expect(event.reasons.contains("privacy_budget"))
            #expect(event.snapshotVersion == Int(last.manifest.version))
            #expect(event.residualRows == last.manifest.residualN)

            // 3. A restart re-sends the alert with the same id; a fresh alerts.py prints it once and says why.
            await daemon.stop()
            #expect(daemon.status == 0)
            daemon = try fixture.startDaemon(config: config)
            _ = try await eventually(.seconds(60), "the re-sent alert") { () -> Bool? in
                try fixture.consume(topic: "unlearn.alerts").count >= 2 ? true : nil
            }
            let again = try PythonClient.run("alerts.py", ["--bootstrap", bootstrap, "--group", "py-alerts-2", "--count", "2", "--timeout", "10"])
            #expect(again.status == 3, "alerts.py: \(again.stderr)")
            #expect(again.stdout.split(separator: "\n").count == 1, "alerts.py printed \(again.stdout)")
            #expect(again.stderr.contains("duplicate of alert digits-a:1"), "alerts.py: \(again.stderr)")

            // 4. The README's kcat one-liners, as written there.
            let oneLiners = try PythonClient.readmeKcatLines()
            try #require(oneLiners.count == 3, "expected publish, alerts and dead-letter lines in Deploy/python/README.md")
            let environment = clientEnvironment.merging(["BOOTSTRAP": bootstrap, "MODEL": "digits-a", "SUBJECT": subjects[published.count]]) {
                $1
            }
            let publish = try PythonClient.shell(oneLiners[0], environment: environment)
            #expect(publish.status == 0, "kcat publish: \(publish.stderr)")
            let recorded = try await eventually(.seconds(60), "the kcat request in the ledger") { () -> Snapshot? in
                guard let s = try? fixture.newest("digits-a") else { return nil }
                return s.manifest.appliedRequestIds.contains { $0.hasPrefix("kcat-") } ? s : nil
            }
            // After the limit the request is recorded and its rows tombstoned, but the weights do not change.
            #expect(recorded.parameters.theta == last.parameters.theta)
            #expect(recorded.manifest.residualN < last.manifest.residualN)
            let alertLines = try PythonClient.shell(oneLiners[1], environment: environment)
            #expect(alertLines.status == 0)
            #expect(
                alertLines.stdout.contains("digits-a {") && alertLines.stdout.contains(#""alert_id":"digits-a:1""#),
                "kcat alerts: \(alertLines.stdout)")
            try fixture.produce(lines: ["digits-a\t" + #"{"schema":"unlearn.deletion.v1"}"#])
            let deadLetters = try await eventually(.seconds(60), "the dead letter") { () -> String? in
                let out = try PythonClient.shell(oneLiners[2], environment: environment).stdout
                return out.contains("reason=missing_field") ? out : nil
            }
            #expect(deadLetters.contains("source_topic=unlearn.deletions"))

            await daemon.stop()
            #expect(daemon.status == 0)
        } catch {
            Issue.record("\(error)\n\(fixture.logs)\n--- alerts.py ---\n\(alertsProcess?.stderr ?? "")")
        }
        await alertsProcess?.stop()
        await fixture.tearDown()
    }
}

/// Runs the scripts of Deploy/python with `python3` from PATH, and shell lines from its README.
enum PythonClient {
    static let scripts = "\(Binaries.repositoryRoot)/Deploy/python"

    /// `python3` on PATH imports confluent_kafka.
    static let available: Bool = {
        (try? shell("python3 -c 'import confluent_kafka'", environment: [:]))?.status == 0
    }()

    static func run(_ script: String, _ arguments: [String]) throws -> Binaries.Result {
        try shell((["python3", "\(scripts)/\(script)"] + arguments).map(quote).joined(separator: " "), environment: [:])
    }

    /// Runs one line with `/bin/sh -c` and the given variables added to the environment.
    static func shell(_ line: String, environment: [String: String]) throws -> Binaries.Result {
        try Binaries.capture("/bin/sh", ["-c", line], environment: environment)
    }

    static func quote(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'" }

    /// The command lines (not comments) of the first ```sh block under "## kcat one-liners" in the README.
    static func readmeKcatLines() throws -> [String] {
        let text = try String(contentsOfFile: "\(scripts)/README.md", encoding: .utf8)
        guard let section = text.range(of: "## kcat one-liners"),
            let start = text.range(of: "```sh\n", range: section.upperBound..<text.endIndex),
            let end = text.range(of: "```", range: start.upperBound..<text.endIndex)
        else { throw HarnessError("Deploy/python/README.md has no ```sh block under \"## kcat one-liners\"") }
        return text[start.upperBound..<end.lowerBound].split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
    }

    /// Starts a script in the background with stdout and stderr in files of `directory`.
    static func start(_ script: String, _ arguments: [String], directory: URL, label: String) throws -> ChildProcess {
        try ChildProcess(
            executable: "/usr/bin/env", arguments: ["python3", "\(scripts)/\(script)"] + arguments, name: label,
            stdout: .file(directory.appendingPathComponent("\(label).stdout").path),
            stderr: .file(directory.appendingPathComponent("\(label).stderr").path)
        )
    }
}
