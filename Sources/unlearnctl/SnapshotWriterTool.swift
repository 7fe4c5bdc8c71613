import ArgumentParser
import Checkpoints
import Foundation
import UnlearningCore

/// `unlearnctl _snapshot-writer`: writes snapshots in a loop. Hidden; the crash-safety test SIGKILLs it at random
/// moments (CheckpointsTests.CrashSafetyTests) and checks the store after each kill.
struct SnapshotWriterTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_snapshot-writer",
        abstract: "Test helper: commit snapshots with deterministic contents to a store in a loop.",
        shouldDisplay: false
    )

    @Option(help: "Model directory of the store.")
    var dir: String

    @Option(help: "Snapshots to commit before exiting.")
    var count: Int = 1_000_000

    @Option(help: "Inputs of the 2-layer MLP written (784 = the MNIST-extract shape).")
    var inputs: Int = 784

    @Option(help: "Versions kept besides the base.")
    var retain: Int = 3

    /// Parameter `i` of version `v`: a deterministic value the test recomputes to detect a partial or mixed load.
    static func theta(version: UInt64, count: Int) -> [Double] {
        (0..<count).map { i in Double(Int64((version &* 1_000_003 &+ UInt64(i) &* 7919) % 2001) - 1000) / 1000 }
    }

    static func snapshot(version: UInt64, parent: UInt64?, inputs: Int) throws -> Snapshot {
        let architecture = Architecture(inputs: inputs, hidden: [128], classes: 10)
        var manifest = SnapshotManifest(
            modelId: "crash-test", version: version, parentVersion: parent, parentSHA256: nil, budgetEpoch: 1,
            baseVersion: 1, createdAt: ISO8601DateFormatter().string(from: Date()), architecture: architecture,
            lambda: 1e-4, n0: 1000, residualN: 1000)
        manifest.appliedRequestIds = ["req-\(version)"]
        let parameters = try ModelParameters(
            architecture: architecture, theta: theta(version: version, count: architecture.parameterCount))
        return try Snapshot(manifest: manifest, parameters: parameters)
    }

    /// Writes "committed N" unbuffered, so the parent sees it even if it kills this process right after.
    private func report(_ version: UInt64) {
        FileHandle.standardOutput.write(Data("committed \(version)\n".utf8))
    }

    func run() throws {
        let store = try SnapshotStore(directory: dir, retain: retain)
        var latest: UInt64
        do {
            latest = try store.loadNewestValid().version
        } catch let error as CheckpointError where error.code == .noValidSnapshot {
            try store.commit(Self.snapshot(version: 1, parent: nil, inputs: inputs))
            latest = 1
            report(1)
        }
        for _ in 0..<count {
            let next = latest + 1
            try store.commit(Self.snapshot(version: next, parent: latest, inputs: inputs))
            latest = next
            // Reported only after commit() returned: the version is durable.
            report(next)
        }
    }
}
