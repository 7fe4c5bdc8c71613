import Checkpoints
import UnlearningCore

/// Snapshots and tensors with known contents.
enum Fixtures {
    static let small = try! Architecture(dense: 6, stages: [(5, .relu), (4, .tanh), (3, .identity)])

    static let mnist = Architecture(inputs: 784, hidden: [128], classes: 10)

    static func parameters(_ architecture: Architecture, seed: UInt64, standardised: Bool = true) throws -> ModelParameters {
        var mixer = SplitMix64(state: seed)
        let theta = (0..<architecture.parameterCount).map { _ in mixer.double(0.1) }
        let mean = standardised ? (0..<architecture.inputs).map { _ in mixer.double(100) } : nil
        let std = standardised ? (0..<architecture.inputs).map { _ in 1 + abs(mixer.double(10)) } : nil
        return try ModelParameters(architecture: architecture, theta: theta, inputMean: mean, inputStd: std)
    }

    static func manifest(
        _ architecture: Architecture, version: UInt64, parent: UInt64?, parentSHA: String? = nil, base: UInt64 = 1
    ) -> SnapshotManifest {
        var manifest = SnapshotManifest(
            modelId: "mnist-mlp", version: version, parentVersion: parent, parentSHA256: parentSHA, budgetEpoch: 1,
            baseVersion: base, createdAt: "2026-11-27T12:00:00Z", architecture: architecture, lambda: 1e-4, n0: 5000,
            residualN: 5000 - 3 * Int(version - base))
        manifest.tombstones = RowSet((0..<(3 * Int(version - base))).map { $0 * 7 })
        manifest.kafkaOffsets = [.init(topic: "unlearn.deletions", partition: 0, nextOffset: Int64(version) * 10)]
        manifest.appliedRequestIds = (1..<version).map { "req-\($0)" }
        manifest.budget = .object(["epsilon_spent": .number(0.25 * Double(version - base)), "epsilon_budget": .number(10)])
        manifest.updates = (1..<version).map { index in
            .init(
                time: "2026-11-27T12:00:0\(index % 10)Z", requestIds: ["req-\(index)"], rowsRemoved: 3,
                selectedSlices: [.init(layer: 1, unit: Int(index % 10))], blockSize: 129, residualBound: 0.002,
                epsilonSpent: 0.25,
                release: .init(
                    version: index + 1, released: true, mode: "adaptive", certified: false, sigma: 0.01, residualBound: 0.002, sensitivity: 0.002,
                    sensitivityLimit: nil, epsilonRelease: 0.25, epsilonSpent: 0.25, requestIds: ["req-\(index)"],
                    validationAccuracy: 0.91))
        }
        return manifest
    }

    static func snapshot(
        _ architecture: Architecture = small, version: UInt64 = 1, parent: UInt64? = nil, seed: UInt64? = nil
    ) throws -> Snapshot {
        try Snapshot(
            manifest: manifest(architecture, version: version, parent: parent),
            parameters: parameters(architecture, seed: seed ?? version))
    }
}
