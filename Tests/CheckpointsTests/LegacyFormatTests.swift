import Foundation
import TestSupport
import Testing
import UnlearningCore

@testable import Checkpoints

/// Bundles, snapshot stores and an export written by the previous release (commit bdd923c, whose model type was
/// the dense MLP), read with the current code. The files are in Tests/Fixtures/legacy (its README says which
/// commands wrote them); they must keep loading unchanged, and what the current code writes for dense stacks must
/// stay in the legacy form the previous release reads.
@Suite("Files of the previous release", .computeBound)
struct LegacyFormatTests {
    static let fixtures = TestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/legacy", isDirectory: true)

    /// The architecture JSON of the MLP exactly as the previous release wrote it (`JSONEncoder` with sorted keys; the
    /// export's `unlearnd.architecture` metadata holds these bytes).
    static let legacyMLPJSON = #"{"inputs":64,"layers":[{"activation":"relu","units":16},{"activation":"identity","units":10}]}"#
    static let legacyLogRegJSON = #"{"inputs":64,"layers":[{"activation":"identity","units":10}]}"#

    static func bundlePath(_ name: String) -> String { fixtures.appendingPathComponent("bundles/\(name)").path }

    /// A copy of a fixture model directory in a fresh state root, with the modes the old code wrote (files 0600,
    /// directories 0700): git keeps no modes, and the store reads only files of mode 0600 or stricter.
    static func openStore(_ model: String) throws -> (store: SnapshotStore, root: URL) {
        let fm = FileManager.default
        let source = fixtures.appendingPathComponent("state/models/\(model)", isDirectory: true)
        try #require(fm.fileExists(atPath: source.path), "fixture store \(source.path) is missing")
        let root = try TestSupport.makeTemporaryDirectory("legacy")
        let models = root.appendingPathComponent("models", isDirectory: true)
        try fm.createDirectory(at: models, withIntermediateDirectories: true)
        let directory = try SnapshotStore.modelDirectory(root: root.path, modelId: model)
        try fm.copyItem(atPath: source.path, toPath: directory)
        for url in [root, models] { try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: url.path) }
        try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        for name in try fm.contentsOfDirectory(atPath: directory) {
            try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: (directory as NSString).appendingPathComponent(name))
        }
        return (try SnapshotStore(directory: directory), root)
    }

    /// `value` encoded as the previous release encoded it: `JSONEncoder` with sorted keys.
    static func sortedJSON<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func readBytes(_ path: String) throws -> [UInt8] {
        [UInt8](try #require(FileManager.default.contents(atPath: path), "\(path) is missing"))
    }

    // MARK: Bundles

    @Test("the MLP bundle loads as the dense stack it was; its validation accuracy is the recorded one")
    func mlpBundle() throws {
        let bundle = try ModelBundle.read(from: Self.bundlePath("digits-mlp"))
        let architecture = bundle.descriptor.architecture
        #expect(architecture.input == [64])
        #expect(architecture.inputs == 64 && architecture.classes == 10)
        let stages = try #require(architecture.denseStages, "the legacy MLP must load as a dense stack")
        #expect(stages.map(\.units) == [16, 10])
        #expect(stages.map(\.activation) == [.relu, .identity])
        #expect(architecture == Architecture(inputs: 64, hidden: [16], classes: 10))
        #expect(architecture.summary == "64-16(relu)-10(identity)")
        #expect(architecture.parameterCount == 64 * 16 + 16 + 16 * 10 + 10)
        #expect(architecture.parametricLayers.map(\.name) == ["layers.0", "layers.1"])
        #expect(bundle.model.architecture == architecture)
        #expect(bundle.model.lambda == 0.01 && bundle.descriptor.lambda == 0.01)
        #expect(bundle.descriptor.format == "unlearnd.bundle.v1")
        #expect(bundle.train.count == 1429 && bundle.descriptor.trainRows == 1429)
        #expect(bundle.validation.count == 368 && bundle.descriptor.validationRows == 368)
        #expect(bundle.descriptor.standardization?.mean.count == 64)

        // The forward pass of the current code predicts what the previous release's did, row for row in the count.
        let recorded = try #require(bundle.descriptor.validationAccuracy)
        #expect(recorded == 0.35054347826086957)
        #expect(bundle.model.accuracy(bundle.validationFeatures, labels: bundle.validation.labels) == recorded)
        let trainRecorded = try #require(bundle.descriptor.trainAccuracy)
        #expect(bundle.model.accuracy(bundle.trainFeatures, labels: bundle.train.labels) == trainRecorded)
    }

    @Test("the logistic-regression bundle loads as a single dense layer; its validation accuracy is the recorded one")
    func logisticRegressionBundle() throws {
        let bundle = try ModelBundle.read(from: Self.bundlePath("digits-logreg"))
        let architecture = bundle.descriptor.architecture
        let stages = try #require(architecture.denseStages)
        #expect(stages.map(\.units) == [10] && stages.map(\.activation) == [.identity])
        #expect(architecture.isConvex)
        #expect(architecture == Architecture(inputs: 64, hidden: [], classes: 10))
        let recorded = try #require(bundle.descriptor.validationAccuracy)
        #expect(recorded == 0.9619565217391305)
        #expect(bundle.model.accuracy(bundle.validationFeatures, labels: bundle.validation.labels) == recorded)
    }

    @Test("dense stacks are written back in the legacy form, byte for byte: architecture JSON and bundle weights")
    func bundlesWrittenInLegacyForm() throws {
        for (name, legacyJSON) in [("digits-mlp", Self.legacyMLPJSON), ("digits-logreg", Self.legacyLogRegJSON)] {
            let path = Self.bundlePath(name)
            let bundle = try ModelBundle.read(from: path)
            // Re-encoding the loaded architecture gives the previous release's JSON: keys "inputs" and "layers" with
            // "units"/"activation", no "input" or "type".
            let encoded = try Self.sortedJSON(bundle.descriptor.architecture)
            #expect(encoded == legacyJSON, "\(name)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(encoded.utf8)) as? [String: Any])
            #expect(Set(object.keys) == ["inputs", "layers"])
            let layers = try #require(object["layers"] as? [[String: Any]])
            #expect(layers.allSatisfy { Set($0.keys) == ["units", "activation"] })

            // The descriptor's architecture object is the one in the legacy bundle.json.
            let descriptorJSON = try #require(
                try JSONSerialization.jsonObject(with: Data(Self.readBytes(path + "/bundle.json"))) as? [String: Any])
            let legacyArchitecture = try #require(descriptorJSON["architecture"] as? NSDictionary)
            let reencoded = try #require(
                try JSONSerialization.jsonObject(with: JSONEncoder().encode(bundle.descriptor)) as? [String: Any])
            #expect((reencoded["architecture"] as? NSDictionary) == legacyArchitecture, "\(name)")

            // model.safetensors as the current code writes it is the previous release's file, byte for byte.
            let weights = try ModelBundle.weights(bundle.model, standardization: bundle.descriptor.standardization)
            #expect(try weights.encoded() == Self.readBytes(path + "/model.safetensors"), "\(name)")
        }
    }

    @Test("a bundle the current code writes for the legacy MLP reads back equal, with the legacy architecture JSON")
    func bundleRoundTrip() throws {
        let bundle = try ModelBundle.read(from: Self.bundlePath("digits-mlp"))
        let root = try TestSupport.makeTemporaryDirectory("legacy-bundle")
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("bundle").path
        try bundle.write(to: out)
        let written = try #require(
            try JSONSerialization.jsonObject(with: Data(Self.readBytes(out + "/bundle.json"))) as? [String: Any])
        let architecture = try #require(written["architecture"] as? [String: Any])
        #expect(Set(architecture.keys) == ["inputs", "layers"])
        let again = try ModelBundle.read(from: out)
        #expect(again.descriptor == bundle.descriptor)
        #expect(again.model == bundle.model)
        #expect(again.train == bundle.train && again.validation == bundle.validation)
    }

    // MARK: Snapshot stores

    /// Expected update history of each version of a fixture store.
    struct ExpectedVersion {
        var version: UInt64
        var requestIDs: [String]
        var outcomes: [SnapshotManifest.UpdateRecord.Outcome]
        var methods: [String?]
        var released: [Bool]
        var residualN: Int
    }

    static let mlpHistory = [
        ExpectedVersion(version: 1, requestIDs: [], outcomes: [], methods: [], released: [], residualN: 1429),
        ExpectedVersion(
            version: 2, requestIDs: ["legacy-fixture-mlp-1"], outcomes: [.applied], methods: ["dampening"], released: [false],
            residualN: 1419),
        ExpectedVersion(
            version: 3, requestIDs: ["legacy-fixture-mlp-1", "legacy-fixture-mlp-offline-2"], outcomes: [.applied, .recordedOnly],
            methods: ["dampening", "dampening"], released: [false, false], residualN: 1409),
    ]

    static let logRegHistory = [
        ExpectedVersion(version: 1, requestIDs: [], outcomes: [], methods: [], released: [], residualN: 1429),
        ExpectedVersion(
            version: 2, requestIDs: ["legacy-fixture-logreg-1"], outcomes: [.applied], methods: ["newton"], released: [true],
            residualN: 1419),
        ExpectedVersion(
            version: 3, requestIDs: ["legacy-fixture-logreg-1", "legacy-fixture-logreg-offline-2"], outcomes: [.applied, .applied],
            methods: ["newton", "newton"], released: [true, false], residualN: 1409),
    ]

    /// Loads every version of a fixture store (each verified against its record's SHA-256 by `load(version:)`) and
    /// checks the chain of parents, the manifest's architecture against the bundle's, the update records and that
    /// the current code encodes the same snapshot payload (so stores it writes stay readable by the previous release).
    func checkStore(model: String, bundle bundleName: String, history: [ExpectedVersion], legacyJSON: String) throws {
        let bundle = try ModelBundle.read(from: Self.bundlePath(bundleName))
        let (store, root) = try Self.openStore(model)
        defer { try? FileManager.default.removeItem(at: root) }

        let versions = try store.versions()
        #expect(versions.map(\.version) == history.map(\.version))
        #expect(versions.allSatisfy { $0.hasSnapshot && $0.hasRecord })

        var parent: SnapshotCodec.Decoded?
        for expected in history {
            let version = expected.version
            let decoded = try store.load(version: version)
            let record = try VersionRecord.decode(try PosixIO.readFile(store.recordPath(version), maxBytes: 1 << 16), path: "")
            #expect(record.version == version)
            #expect(decoded.payloadSHA256.hex == record.payloadSHA256)
            #expect(decoded.fileBytes == record.fileBytes && decoded.payloadBytes == record.payloadBytes)
            // Independently of the store: decompress the file and hash the payload.
            let payload = try Zstd.decompress(
                try Self.readBytes(store.snapshotPath(version)), maxSize: 1 << 24, strictSingleFrame: true)
            #expect(SHA256.hash(payload).hex == record.payloadSHA256)

            let manifest = decoded.snapshot.manifest
            #expect(manifest.modelId == model && manifest.version == version)
            #expect(manifest.formatVersion == 1 && manifest.budgetEpoch == 1 && manifest.baseVersion == 1)
            #expect(manifest.architecture == bundle.descriptor.architecture)
            #expect(manifest.architecture.denseStages != nil)
            #expect(try Self.sortedJSON(manifest.architecture) == legacyJSON)
            #expect(manifest.lambda == bundle.model.lambda)
            #expect(manifest.n0 == bundle.train.count && manifest.residualN == expected.residualN)
            #expect(manifest.tombstones.count == bundle.train.count - expected.residualN)
            #expect(manifest.appliedRequestIds == expected.requestIDs)
            if let parent {
                #expect(manifest.parentVersion == parent.snapshot.manifest.version)
                #expect(manifest.parentSHA256 == parent.payloadSHA256.hex)
                #expect(manifest.kafkaOffsets.map(\.topic) == ["unlearn.deletions"])
            } else {
                #expect(manifest.isBase && manifest.parentVersion == nil && manifest.parentSHA256 == nil)
            }

            // Update records.
            let updates = manifest.updates
            #expect(updates.map(\.outcome) == expected.outcomes)
            #expect(updates.map(\.method) == expected.methods)
            #expect(updates.map(\.released) == expected.released)
            #expect(updates.flatMap(\.requestIds) == expected.requestIDs)
            #expect(updates.allSatisfy { $0.rowsRemoved == 10 })
            for update in updates {
                for slice in update.selectedSlices {
                    #expect(slice.layer < manifest.architecture.parametricLayers.count)
                    #expect(slice.unit < manifest.architecture.parametricLayers[slice.layer].units)
                }
            }
            // The raw JSON's update records decode on their own as well.
            let file = try SafetensorsFile.decode(payload)
            let manifestJSON = try #require(file.metadata?[SnapshotManifest.metadataKey])
            let object = try #require(try JSONSerialization.jsonObject(with: Data(manifestJSON.utf8)) as? [String: Any])
            #expect((object["architecture"] as? NSDictionary) == (try JSONSerialization.jsonObject(with: Data(legacyJSON.utf8)) as? NSDictionary))
            let rawUpdates = try JSONSerialization.data(withJSONObject: object["updates"] ?? [])
            #expect(try JSONDecoder().decode([SnapshotManifest.UpdateRecord].self, from: rawUpdates) == updates)

            // Parameters: the base holds the bundle's weights and standardisation; later versions keep the
            // noise-free state beside the released weights.
            let parameters = decoded.snapshot.parameters
            #expect(parameters.architecture == manifest.architecture)
            #expect(parameters.theta.count == manifest.architecture.parameterCount)
            #expect(parameters.inputMean == bundle.descriptor.standardization?.mean)
            #expect(parameters.inputStd == bundle.descriptor.standardization?.std)
            if version == 1 { #expect(parameters.theta == bundle.model.theta) }

            // The current code encodes the loaded snapshot into the very payload the previous release wrote.
            #expect(try SnapshotCodec.payload(decoded.snapshot) == payload, "\(model) v\(version)")
            parent = decoded
        }

        let newest = try store.loadNewestValid(quarantine: false)
        #expect(newest.version == history.last!.version && newest.skipped.isEmpty)
        #expect(try store.quarantinedFiles().isEmpty)
    }

    @Test("the MLP's snapshot store: every version verifies and loads; manifests and update records decode")
    func mlpStore() throws {
        try checkStore(model: "digits-mlp", bundle: "digits-mlp", history: Self.mlpHistory, legacyJSON: Self.legacyMLPJSON)
    }

    @Test("the logistic regression's snapshot store: every version verifies and loads, with its certified release")
    func logisticRegressionStore() throws {
        try checkStore(
            model: "digits-logreg", bundle: "digits-logreg", history: Self.logRegHistory, legacyJSON: Self.legacyLogRegJSON)
        let (store, root) = try Self.openStore("digits-logreg")
        defer { try? FileManager.default.removeItem(at: root) }
        let release = try #require(try store.load(version: 2).snapshot.manifest.updates.first?.release)
        #expect(release.released && release.certified && release.mode == "certified")
        #expect(release.sigma == 0.01 && release.version == 2)
        #expect(release.requestIds == ["legacy-fixture-logreg-1"])
    }

    @Test("a snapshot the current code commits after a legacy one loads back, with the legacy architecture JSON")
    func commitAfterLegacy() throws {
        let (store, root) = try Self.openStore("digits-mlp")
        defer { try? FileManager.default.removeItem(at: root) }
        let newest = try store.loadNewestValid()
        var manifest = newest.snapshot.manifest
        manifest.version = newest.version + 1
        manifest.parentVersion = newest.version
        manifest.parentSHA256 = newest.decoded.payloadSHA256.hex
        let committed = try store.commit(try Snapshot(manifest: manifest, parameters: newest.snapshot.parameters))
        let loaded = try store.load(version: committed.version)
        #expect(loaded.snapshot.manifest == manifest)
        #expect(loaded.snapshot.parameters == newest.snapshot.parameters)
        let file = try SafetensorsFile.decode(
            try Zstd.decompress(try Self.readBytes(store.snapshotPath(committed.version)), maxSize: 1 << 24))
        let json = try #require(file.metadata?[SnapshotManifest.metadataKey])
        #expect(json.contains(#""architecture":\#(Self.legacyMLPJSON)"#))
    }

    // MARK: Export

    @Test("the export decodes: layers.{l}.weight/bias and input.mean/std, equal to the snapshot's released weights")
    func export() throws {
        let bytes = try Self.readBytes(Self.fixtures.appendingPathComponent("exports/digits-mlp-v3.safetensors").path)
        let file = try SafetensorsFile.decode(bytes)
        #expect(file.metadata?["format"] == "pt")
        #expect(file.metadata?["unlearnd.model_id"] == "digits-mlp")
        #expect(file.metadata?["unlearnd.version"] == "3")
        let architectureJSON = try #require(file.metadata?["unlearnd.architecture"])
        #expect(architectureJSON == Self.legacyMLPJSON)
        let architecture = try JSONDecoder().decode(Architecture.self, from: Data(architectureJSON.utf8))
        #expect(architecture == Architecture(inputs: 64, hidden: [16], classes: 10))

        let shapes = file.tensors.mapValues(\.shape)
        #expect(
            shapes == [
                "layers.0.weight": [16, 64], "layers.0.bias": [16], "layers.1.weight": [10, 16], "layers.1.bias": [10],
                "input.mean": [64], "input.std": [64],
            ])
        #expect(file.tensors.values.allSatisfy { $0.dtype == .float64 })
        for tensor in file.tensors.values { #expect(try tensor.float64Values().allSatisfy(\.isFinite)) }
        let parameters = try ModelParameters(architecture: architecture, tensors: file.tensors)
        #expect(parameters.privateTheta == nil)

        // The same weights as the store's v3, and the current export of v3 is the previous release's file.
        let (store, root) = try Self.openStore("digits-mlp")
        defer { try? FileManager.default.removeItem(at: root) }
        let snapshot = try store.load(version: 3).snapshot
        #expect(parameters.theta == snapshot.parameters.theta)
        #expect(parameters.inputMean == snapshot.parameters.inputMean && parameters.inputStd == snapshot.parameters.inputStd)
        #expect(try SnapshotCodec.exportSafetensors(snapshot) == bytes)
    }
}
