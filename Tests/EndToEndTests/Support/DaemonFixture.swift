import Checkpoints
import Foundation
import KafkaLog
import Logging
import ProcessHarness
import UnlearnDaemon
import UnlearningCore

/// A temporary world for one end-to-end test: trained bundles, a broker (the dev broker's mock cluster or Tansu), a
/// state directory, a config file, and any number of `unlearnd` processes.
final class DaemonFixture: @unchecked Sendable {
    let directory: URL
    let broker: FixtureBroker
    let stateDirectory: String
    var daemons: [ChildProcess] = []
    let models: [String: String]
    /// Partitions of each topic.
    let partitions: Int

    static let topics = ["unlearn.deletions", "unlearn.deletions.dlq", "unlearn.alerts"]
    /// Tansu would create the receipts topic on the first receipt, after the test's consumers asked for it.
    static let tansuTopics = topics + ["unlearn.receipts"]

    /// Bundles are trained once per test process and shared read-only: logistic regression on the bundled digits
    /// (`digits-a` to `digits-d`) and a small CNN on them (`digits-cnn`, Config/architectures/digits-cnn.json, 10
    /// epochs: about 90% validation accuracy, which is all the pipeline tests need).
    static let bundles: [String: String] = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unlearnd-e2e-bundles-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var paths: [String: String] = [:]
        var recipes = [("digits-a", "0.01"), ("digits-b", "0.05"), ("digits-c", "0.02"), ("digits-d", "0.03")].map { name, lambda in
            (name, ["--hidden", "0", "--lambda", lambda])
        }
        recipes.append(("digits-cnn", ["--architecture", "Config/architectures/digits-cnn.json", "--epochs", "10", "--lambda", "0.0001"]))
        for (name, arguments) in recipes {
            let out = dir.appendingPathComponent(name).path
            if !FileManager.default.fileExists(atPath: out) {
                let result = try! Binaries.run("unlearnctl", ["train", "--data", "data/digits.csv.zst"] + arguments + ["--out", out])
                precondition(result.status == 0, "training the \(name) bundle failed: \(result.stderr)")
            }
            paths[name] = out
        }
        return paths
    }()

    init(label: String, models: [String] = ["digits-a", "digits-b"], partitions: Int = 4, broker kind: Broker = .mock) async throws {
        directory = try Binaries.temporaryDirectory("\(label)-\(kind)")
        stateDirectory = directory.appendingPathComponent("state").path
        do {
            broker = try await FixtureBroker(
                kind, topics: kind == .tansu ? Self.tansuTopics : Self.topics, partitions: partitions, directory: directory)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        self.models = Dictionary(uniqueKeysWithValues: models.map { ($0, Self.bundles[$0]!) })
        self.partitions = partitions
    }

    /// Writes the config file; `overrides` are merged into the top-level sections.
    func writeConfig(_ overrides: [String: [String: Any]] = [:], name: String = "unlearnd.json") throws -> String {
        var sections: [String: [String: Any]] = [
            "batch": ["max_rows": 64, "max_wait_ms": 100],
            "unlearning": ["noise": false, "perturbations": 300],
            "budget": ["epsilon": 1000, "sigma_max": 100, "max_accuracy_drop": 1.0],
            "snapshots": ["retain": 1000],
            "metrics": ["interval_ms": 200],
            "log": ["level": "info"],
        ]
        sections["kafka"] = broker.clientProperties
        for (k, v) in overrides { sections[k, default: [:]].merge(v) { $1 } }
        var object: [String: Any] = sections
        object["state_directory"] = stateDirectory
        object["models"] = models.keys.sorted().map { "\($0)=\(models[$0]!)" }
        let path = directory.appendingPathComponent(name).path
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Starts `unlearnd --config <path>`, with `notify` as its NOTIFY_SOCKET when given, in the broker's client
    /// environment unless `environment` replaces it.
    @discardableResult
    func startDaemon(
        config: String, notify: NotifySocket? = nil, label: String? = nil, environment: [String: String]? = nil
    ) throws -> ChildProcess {
        let name = label ?? "unlearnd-\(daemons.count)"
        let daemon = try ChildProcess.unlearnd(
            executable: Binaries.path("unlearnd"), config: config, name: name,
            stdout: .file(directory.appendingPathComponent("\(name).stdout").path),
            stderr: .file(directory.appendingPathComponent("\(name).stderr").path),
            directory: Binaries.repositoryRoot, environment: environment ?? broker.clientEnvironment, notify: notify
        )
        daemons.append(daemon)
        return daemon
    }

    /// The newest valid snapshot of a model, read the way a restarting daemon would (without quarantining); nil
    /// before the daemon has imported the model, and after a kill between the two links of its first import (a
    /// record without a snapshot: nothing was adopted, and the next daemon imports again).
    func newest(_ model: String) throws -> Snapshot? {
        let directory = try SnapshotStore.modelDirectory(root: stateDirectory, modelId: model)
        guard FileManager.default.fileExists(atPath: directory) else { return nil }
        let store = try SnapshotStore(directory: directory)
        guard try store.versions().contains(where: \.hasSnapshot) else { return nil }
        return try store.loadNewestValid(quarantine: false).snapshot
    }

    /// The model's snapshot store as the daemons left it. Reading never creates the model directory (SnapshotStore
    /// would): a state directory that vanished under a test fails here instead of looking like one with no snapshots.
    func store(_ model: String) throws -> SnapshotStore {
        let directory = try SnapshotStore.modelDirectory(root: stateDirectory, modelId: model)
        guard FileManager.default.fileExists(atPath: directory) else {
            throw HarnessError("\(directory) does not exist: no daemon has imported \(model) yet, or the test directory was removed")
        }
        return try SnapshotStore(directory: directory)
    }

    /// Throws unless every one of `daemons` still runs and the test directory still exists.
    func requireRunning(_ daemons: [ChildProcess]) throws {
        guard FileManager.default.fileExists(atPath: directory.path) else {
            throw HarnessError("the test directory \(directory.path) was removed while the test ran")
        }
        for daemon in daemons where !daemon.isRunning {
            throw HarnessError("\(daemon.name) \(daemon.statusDescription)")
        }
    }

    /// Waits until `daemons`, all members of the group, together own every partition of the deletions topic, each a
    /// share of its own (`ChildProcess.assignedPartitions`). A daemon that joins after the coordinator has completed
    /// a generation without it gets its share only at the next rebalance; until then the others own everything.
    func waitUntilShared(by daemons: [ChildProcess], timeout: Duration) async throws {
        let all = Set(0..<Int32(partitions))
        var shares: [String] = []
        do {
            _ = try await eventually(timeout, "\(daemons.count) daemons sharing the \(partitions) partitions") { () throws -> Bool? in
                try requireRunning(daemons)
                let owned = daemons.map(\.assignedPartitions)
                shares = zip(daemons, owned).map { "\($0.name): \($1.sorted())" }
                let disjoint = owned.map(\.count).reduce(0, +) == all.count
                return owned.allSatisfy { !$0.isEmpty } && disjoint && Set(owned.joined()) == all ? true : nil
            }
        } catch {
            throw HarnessError("\(error) (partitions owned: \(shares.joined(separator: "; ")))")
        }
    }

    func bundle(_ model: String) throws -> ModelBundle { try ModelBundle.read(from: models[model]!) }

    /// Waits until every id in `ids` is in the model's ledger.
    func waitForLedger(_ model: String, contains ids: Set<String>, timeout: Duration = .seconds(120)) async throws -> Snapshot {
        try await eventually(timeout, "\(ids.count) request ids in the ledger of \(model)") {
            guard let s = try? self.newest(model) else { return nil }
            return ids.isSubset(of: Set(s.manifest.appliedRequestIds)) ? s : nil
        }
    }

    /// Publishes `key<TAB>value` lines with kcat, in the broker's client environment.
    func produce(topic: String = "unlearn.deletions", lines: [String]) throws {
        try Kcat.produce(bootstrap: broker.bootstrapServers, topic: topic, lines: lines, environment: broker.clientEnvironment)
    }

    /// Every message of a topic from the beginning, read with kcat (see `Kcat.consume`).
    func consume(topic: String, format: String = "%k\u{1}%h\u{1}%s") throws -> [String] {
        try Kcat.consume(bootstrap: broker.bootstrapServers, topic: topic, format: format, environment: broker.clientEnvironment)
    }

    func tearDown() async {
        for d in daemons { await d.stop() }
        await broker.stop()
        if ProcessInfo.processInfo.environment["UNLEARND_KEEP_TEST_DIRS"] == nil {
            try? FileManager.default.removeItem(at: directory)
        }
    }

    /// The daemons' and the broker's state and logs, for failure messages.
    var logs: String {
        var parts = daemons.map { $0.report() } + [broker.log]
        if !FileManager.default.fileExists(atPath: directory.path) {
            parts.insert("the test directory \(directory.path) no longer exists", at: 0)
        }
        return parts.joined(separator: "\n")
    }
}

/// Deletion requests as the JSON the schema documents.
enum Requests {
    static func json(id: String, model: String, scope: DeletionRequest.Scope) -> String {
        String(decoding: DeletionRequest(requestID: id, model: model, scope: scope, requestedAt: "2026-11-27T12:00:00Z").encoded(), as: UTF8.self)
    }

    static func line(id: String, model: String, scope: DeletionRequest.Scope) -> String {
        "\(model)\t\(json(id: id, model: model, scope: scope))"
    }
}
