import Checkpoints
import Foundation
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// A network trained in PyTorch (with batch normalisation and a residual block) comes in through `unlearnctl import`
/// unchanged, is unlearned offline, and goes back to PyTorch through `unlearnctl export`.
///
/// Tolerances: the state dict is float32, which import widens exactly; both sides then compute in float64, and the
/// batch-norm fold (W' = s W, b' = s (b - mu) + beta) reorders a few roundings: logits agree to 1e-9 relative to
/// max(1, |logit|). Classes must agree on every row.
@Suite("PyTorch interop", .serialized, .blockingWaits)
struct PyTorchInteropTests {
    struct Logits: Decodable {
        var logits: [[Double]]
        var predicted: [Int]
    }

    static func torch(_ arguments: [String]) throws -> Binaries.Result {
        let python = ProcessInfo.processInfo.environment["UNLEARND_TORCH_PYTHON"] ?? "\(Binaries.repositoryRoot)/.build/torch-venv/bin/python3"
        try #require(FileManager.default.isExecutableFile(atPath: python), "no PyTorch interpreter at \(python); run `./dev torch`")
        return try Binaries.capture(python, ["\(Binaries.repositoryRoot)/Tests/python/torch_network.py"] + arguments)
    }

    static func largestDifference(_ a: [[Double]], _ b: Matrix) -> Double {
        var worst = 0.0
        for (i, row) in a.enumerated() {
            for (j, v) in row.enumerated() { worst = max(worst, abs(v - b[i, j]) / max(1, abs(b[i, j]))) }
        }
        return worst
    }

    @Test("import folds batch norm and matches PyTorch on every row; forget, verify, inspect; export loads back into PyTorch")
    func roundTrip() throws {
        let dir = try Binaries.temporaryDirectory("interop")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("torch").path
        let data = "\(Binaries.repositoryRoot)/data/mnist5k.csv.zst"
        let trained = try Self.torch(["interop-model", "--csv", data, "--out", model, "--steps", "40", "--seed", "1"])
        try #require(trained.status == 0, "interop-model: \(trained.stderr)")

        // Import: the state dict as PyTorch saved it, the architecture JSON with its batchnorm2d layers.
        let bundlePath = dir.appendingPathComponent("bundle").path
        let imported = try Binaries.run(
            "unlearnctl",
            [
                "import", "--weights", model + "/model.safetensors", "--architecture", model + "/architecture.json", "--train", data, "--out",
                bundlePath,
            ])
        try #require(imported.status == 0, "import: \(imported.stdout) \(imported.stderr)")
        #expect(imported.stdout.contains("batch norms folded"), "import said: \(imported.stdout)")
        let bundle = try ModelBundle.read(from: bundlePath)
        #expect(bundle.model.architecture.input == [1, 28, 28])

        // Every row of the extract: PyTorch in eval mode (batch norm with its running statistics) against the import.
        let reference = try Self.torch([
            "logits", "--architecture", model + "/architecture.json", "--weights", model + "/model.safetensors", "--csv", data, "--mean-std",
        ])
        try #require(reference.status == 0, "logits: \(reference.stderr)")
        let torchLogits = try JSONDecoder().decode(Logits.self, from: Data(reference.stdout.utf8))
        let standardization = try #require(bundle.descriptor.standardization)
        let x = standardization.apply(bundle.train.features)
        let ours = bundle.model.logits(x)
        let importDifference = Self.largestDifference(torchLogits.logits, ours)
        #expect(torchLogits.logits.count == bundle.train.count && importDifference <= 1e-9, "imported logits differ by \(importDifference)")
        #expect(torchLogits.predicted == bundle.model.predict(x), "a row's class differs between PyTorch and the import")

        // The bundle as the daemon's version 1, one offline deletion, then verify and inspect.
        let state = dir.appendingPathComponent("state").path
        let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: state, modelId: "interop"))
        var manifest = SnapshotManifest(
            modelId: "interop", version: 1, parentVersion: nil, parentSHA256: nil, budgetEpoch: 1, baseVersion: 1,
            createdAt: "2026-12-07T00:00:00Z", architecture: bundle.model.architecture, lambda: bundle.model.lambda,
            n0: bundle.train.count, residualN: bundle.train.count, budget: try JSONValue(encoding: BudgetState()))
        manifest.extensions = ["bundle_path": .string(bundlePath)]
        try store.commit(try Snapshot(manifest: manifest, parameters: try ModelParameters(bundle.model, standardization: standardization)))
        let subject = try #require(bundle.train.subjects.compactMap { $0 }.min())
        let forget = try Binaries.run(
            "unlearnctl", ["forget", "--state-dir", state, "--model", "interop", "--subject", subject, "--request-id", "interop-1", "--no-noise"])
        try #require(forget.status == 0, "forget: \(forget.stdout) \(forget.stderr)")
        let modelDirectory = try SnapshotStore.modelDirectory(root: state, modelId: "interop")
        let verify = try Binaries.run("unlearnctl", ["verify", modelDirectory])
        #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")
        let inspect = try Binaries.run("unlearnctl", ["inspect", modelDirectory])
        #expect(inspect.status == 0 && inspect.stdout.contains("conv"), "inspect: \(inspect.stdout) \(inspect.stderr)")

        // Export the newest version and run it in PyTorch from the exported tensors and architecture alone.
        let exported = dir.appendingPathComponent("export.safetensors").path
        let export = try Binaries.run("unlearnctl", ["export", "--safetensors", modelDirectory, "--out", exported])
        try #require(export.status == 0, "export: \(export.stdout) \(export.stderr)")
        let file = try SafetensorsFile.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: exported))))
        let architectureJSON = try #require(file.metadata?["unlearnd.architecture"], "the export names no architecture")
        let architecturePath = dir.appendingPathComponent("exported-architecture.json").path
        try architectureJSON.write(toFile: architecturePath, atomically: true, encoding: .utf8)
        let back = try Self.torch(["logits", "--architecture", architecturePath, "--weights", exported, "--csv", data, "--mean-std"])
        try #require(back.status == 0, "logits of the export: \(back.stderr)")
        let exportedLogits = try JSONDecoder().decode(Logits.self, from: Data(back.stdout.utf8))
        let newest = try store.loadNewestValid(quarantine: false).snapshot
        #expect(newest.manifest.version == 2)
        let updated = try newest.parameters.model(lambda: newest.manifest.lambda)
        let exportDifference = Self.largestDifference(exportedLogits.logits, updated.logits(x))
        #expect(exportDifference <= 1e-9, "exported logits differ by \(exportDifference)")
        #expect(exportedLogits.predicted == updated.predict(x))
        print("interop: import within \(importDifference), export within \(exportDifference) over \(bundle.train.count) rows")
    }
}
