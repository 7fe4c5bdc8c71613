import Checkpoints
import Foundation
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// A convolutional network (Config/architectures/digits-cnn.json) through the whole pipeline: deletions from the
/// broker, updates by the default deep-model method, adaptive releases (never certified), receipts, and the released
/// file read by Deploy/python/predict.py.
@Suite("a CNN end to end", .serialized, .enabled(if: Kcat.path != nil, "kcat is not installed (apt-get install kcat)"), .blockingWaits)
struct ConvolutionalEndToEndTests {
    static let model = "digits-cnn"

    @Test(
        "subject deletions on a CNN are applied, released in adaptive mode and receipted; predict.py reproduces the release",
        .timeLimit(.minutes(5)), arguments: Broker.allCases)
    func subjectsReleasedAndReceipted(broker: Broker) async throws {
        let fixture = try await DaemonFixture(label: "cnn-receipts", models: [Self.model], broker: broker)
        do {
            // Releases without noise. Adaptive mode calibrates sigma to Delta = ||grad F_residual|| / lambda, which for a
            // network trained at lambda 1e-4 is in the thousands: every noisy release would need a sigma above the
            // largest budget.sigma_max (100) and reach the removal limit at once (README, Limits). The pipeline's release
            // mechanics (records, files, receipts) are under test here, not a privacy claim.
            let config = try fixture.writeConfig([
                "unlearning": ["noise": false],
                "budget": ["epsilon": 1000, "sigma_max": 100, "max_accuracy_drop": 1.0],
                "release": ["every_updates": 3, "every_seconds": 2],
            ])
            let daemon = try fixture.startDaemon(config: config)
            let bundle = try fixture.bundle(Self.model)
            let subjects = Array(Set(bundle.train.subjects.compactMap { $0 })).sorted().prefix(8)
            var ids: [String] = []
            for (i, subject) in subjects.enumerated() {
                let id = "cnn-\(i)"
                try fixture.produce(lines: [Requests.line(id: id, model: Self.model, scope: .subject(subject))])
                _ = try await fixture.waitForLedger(Self.model, contains: [id])
                ids.append(id)
            }
            let messages = try await eventually(.seconds(90), "receipts covering all \(ids.count) requests") {
                () -> [ReleaseReceiptTests.Message]? in
                let m = try ReleaseReceiptTests.receipts(fixture)
                return Set(ids).isSubset(of: Set(m.flatMap(\.event.requestIDs))) ? m : nil
            }
            let receipts = ReleaseReceiptTests.distinct(messages).values.sorted { $0.event.version < $1.event.version }
            #expect(receipts.flatMap(\.event.requestIDs) == ids, "receipts list \(receipts.map(\.event.requestIDs))")
            for r in receipts {
                #expect(r.event.model == Self.model && r.key == Self.model)
                #expect(r.event.mode == "adaptive" && !r.event.certified, "\(r.event.eventID): \(r.event.mode), certified \(r.event.certified)")
                let snapshot = try fixture.store(Self.model).load(version: UInt64(r.event.version)).snapshot
                let release = try #require(snapshot.manifest.updates.last?.release)
                #expect(release.fileSHA256 == r.event.sha256 && release.requestIds == r.event.requestIDs)
                #expect(release.certified == false)
            }
            let newest = try #require(try fixture.newest(Self.model))
            let applied = newest.manifest.updates.filter { $0.outcome == .applied }
            #expect(applied.count == ids.count, "\(applied.count) updates applied for \(ids.count) requests")
            #expect(applied.allSatisfy { $0.method == "dampening" }, "methods \(applied.map(\.method))")
            #expect(newest.manifest.architecture.parametricLayers.map(\.name) == ["features.0", "features.3", "classifier"])

            // The served file: conv weights in PyTorch's layout, and predict.py's predictions equal the daemon's.
            let released = fixture.stateDirectory + "/released/\(Self.model)/current.safetensors"
            let file = try SafetensorsFile.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: released))))
            #expect(file.tensors["features.0.weight"]?.shape == [8, 1, 3, 3])
            let servedVersion = try #require(file.metadata?["unlearnd.version"].flatMap { UInt64($0) })
            let served = try fixture.store(Self.model).load(version: servedVersion).snapshot
            let validation = bundle.validation
            var csv = "sample_id,subject,label," + (0..<validation.features.cols).map { "x\($0)" }.joined(separator: ",") + "\n"
            for i in 0..<validation.count {
                csv +=
                    "\(validation.sampleIDs[i]),,\(validation.labels[i])," + validation.features.row(i).map { "\($0)" }.joined(separator: ",") + "\n"
            }
            let rows = fixture.directory.appendingPathComponent("validation.csv").path
            try csv.write(toFile: rows, atomically: true, encoding: .utf8)
            let run = try PythonSafetensors.predict(model: released, rows: rows, directory: fixture.directory)
            try #require(run.status == 0, "python: \(run.stderr)")
            let output = try JSONDecoder().decode(PythonSafetensors.Output.self, from: Data(run.stdout.utf8))
            let standardization = try #require(served.parameters.standardization)
            let releasedModel = try served.parameters.model(lambda: served.manifest.lambda)
            let logits = releasedModel.logits(standardization.apply(validation.features))
            var worst = 0.0
            for (i, row) in output.logits.enumerated() {
                for (j, v) in row.enumerated() { worst = max(worst, abs(v - logits[i, j]) / max(1, abs(logits[i, j]))) }
            }
            #expect(output.logits.count == validation.count && worst <= 1e-9, "predict.py's logits differ by up to \(worst) (relative)")
            #expect(output.predicted == releasedModel.predict(standardization.apply(validation.features)))
            print("CNN on \(broker): \(applied.count) updates, \(receipts.count) receipts, predict.py within \(worst)")

            await daemon.stop()
            #expect(daemon.status == 0, "\(fixture.logs)")
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    /// The offline commands on a CNN's state directory: forget, status, rebase --retrain (a new budget epoch), verify.
    @Test("forget, status, rebase --retrain and verify work on a CNN's state directory")
    func offlineCommands() throws {
        let dir = try Binaries.temporaryDirectory("cnn-offline")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bundlePath = try #require(DaemonFixture.bundles[Self.model])
        let bundle = try ModelBundle.read(from: bundlePath)
        let state = dir.appendingPathComponent("state").path
        let modelDirectory = try SnapshotStore.modelDirectory(root: state, modelId: Self.model)
        let store = try SnapshotStore(directory: modelDirectory)
        var manifest = SnapshotManifest(
            modelId: Self.model, version: 1, parentVersion: nil, parentSHA256: nil, budgetEpoch: 1, baseVersion: 1,
            createdAt: "2026-12-07T00:00:00Z", architecture: bundle.model.architecture, lambda: bundle.model.lambda,
            n0: bundle.train.count, residualN: bundle.train.count, budget: try JSONValue(encoding: BudgetState()))
        manifest.extensions = ["bundle_path": .string(bundlePath)]
        try store.commit(
            try Snapshot(manifest: manifest, parameters: try ModelParameters(bundle.model, standardization: bundle.descriptor.standardization)))
        let subject = try #require(bundle.train.subjects.compactMap { $0 }.min())
        for method in ["lfoci", "newton"] {
            let forget = try Binaries.run(
                "unlearnctl",
                ["forget", "--state-dir", state, "--model", Self.model, "--subject", subject, "--method", method, "--request-id", "off-\(method)"])
            // The second request names the same subject: its rows are gone, so it is recorded, not an error.
            #expect(forget.status == 0, "forget --method \(method): \(forget.stdout) \(forget.stderr)")
        }
        let status = try Binaries.run("unlearnctl", ["status", "--state-dir", state])
        #expect(status.status == 0 && status.stdout.contains(Self.model), "status: \(status.stdout) \(status.stderr)")
        let rebase = try Binaries.run("unlearnctl", ["rebase", "--state-dir", state, "--model", Self.model, "--retrain", "--epochs", "2"])
        #expect(rebase.status == 0 && rebase.stdout.contains("budget epoch 2"), "rebase: \(rebase.stdout) \(rebase.stderr)")
        let newest = try store.loadNewestValid(quarantine: false).snapshot
        #expect(newest.manifest.budgetEpoch == 2 && newest.manifest.architecture == bundle.model.architecture)
        let verify = try Binaries.run("unlearnctl", ["verify", modelDirectory])
        #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")
    }
}
