import Checkpoints
import Foundation
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// `unlearnctl forget` run as a real process: the engine checked from outside, against retraining done here.
@Suite("unlearnctl forget", .serialized, .computeBound)
struct ForgetCommandTests {
    @Test("forgetting a subject from a bundle writes a bundle without its rows, next to the model retrained without them")
    func fromBundle() throws {
        let dir = try Binaries.temporaryDirectory("forget")
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("base").path
        #expect(try Binaries.run("unlearnctl", ["train", "--data", "data/digits.csv.zst", "--hidden", "0", "--out", base]).status == 0)
        let original = try ModelBundle.read(from: base)
        let subject = try #require(original.train.subjects.compactMap { $0 }.min())
        let out = dir.appendingPathComponent("forgotten").path
        let result = try Binaries.run("unlearnctl", ["forget", "--bundle", base, "--subject", subject, "--out", out, "--no-noise"])
        try #require(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["method"] as? String == "newton" && report["outcome"] as? String == "applied")
        #expect((report["residualBound"] as? Double ?? 1) <= 1e-5)

        let forgotten = try ModelBundle.read(from: out)
        let removed = original.train.subjects.filter { $0 == subject }.count
        #expect(forgotten.train.count == original.train.count - removed)
        #expect(!forgotten.train.subjects.contains(subject))
        #expect(forgotten.validation == original.validation)

        // Independent reference: L-BFGS from scratch on the rows the new bundle holds, to |grad F| < 1e-10.
        var retrained = try Network(architecture: original.model.architecture, lambda: original.model.lambda, seed: 1)
        var options = Trainer.LBFGSOptions()
        options.gradientTolerance = 1e-10
        _ = Trainer.lbfgs(
            &retrained, x: original.descriptor.standardization!.apply(forgotten.train.features), labels: forgotten.train.labels, options: options)
        let ratio = Vector.distance(forgotten.model.theta, retrained.theta) / Vector.distance(original.model.theta, retrained.theta)
        #expect(ratio < 1e-3, "distance to the retrained model is \(ratio) of the original's")
    }

    @Test("on a state directory it writes the next snapshot with the request in the ledger; a bad selection is refused")
    func onStateDirectory() throws {
        let dir = try Binaries.temporaryDirectory("forget-state")
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("base").path
        #expect(try Binaries.run("unlearnctl", ["train", "--data", "data/digits.csv.zst", "--hidden", "0", "--out", base]).status == 0)
        let state = dir.appendingPathComponent("state").path
        let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: state, modelId: "digits"))
        // A state directory as the daemon leaves it: the bundle imported as version 1 (the CLI's snapshot tool).
        let bundle = try ModelBundle.read(from: base)
        var manifest = SnapshotManifest(
            modelId: "digits", version: 1, parentVersion: nil, parentSHA256: nil, budgetEpoch: 1, baseVersion: 1,
            createdAt: "2026-12-01T00:00:00Z", architecture: bundle.model.architecture,
            lambda: bundle.model.lambda, n0: bundle.train.count, residualN: bundle.train.count, budget: try JSONValue(encoding: BudgetState())
        )
        manifest.extensions = ["bundle_path": .string(base)]
        try store.commit(
            try Snapshot(manifest: manifest, parameters: try ModelParameters(bundle.model, standardization: bundle.descriptor.standardization)))

        let subject = try #require(bundle.train.subjects.compactMap { $0 }.min())
        let result = try Binaries.run(
            "unlearnctl", ["forget", "--state-dir", state, "--model", "digits", "--subject", subject, "--request-id", "offline-1"])
        try #require(result.status == 0, "\(result.stderr)")
        let newest = try store.loadNewestValid(quarantine: false)
        #expect(newest.version == 2)
        #expect(newest.snapshot.manifest.appliedRequestIds == ["offline-1"])
        #expect(newest.snapshot.manifest.residualN == bundle.train.count - bundle.train.subjects.filter { $0 == subject }.count)
        #expect(newest.snapshot.manifest.updates.last?.method == "newton")

        let unknown = try Binaries.run("unlearnctl", ["forget", "--state-dir", state, "--model", "digits", "--subject", "nobody"])
        #expect(unknown.status != 0)
        #expect(try store.loadNewestValid(quarantine: false).version == 2, "a refused request writes nothing")
    }
}
