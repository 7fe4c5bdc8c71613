import Checkpoints
import Foundation
import Logging
import UnlearningCore

@testable import UnlearnDaemon

/// A state directory with a bundle written beside it, removed when the world is released: what `ModelRuntime.open`
/// needs, for the suites that drive a runtime directly.
final class ModelRuntimeWorld {
    let id: String
    let root: String
    let bundlePath: String
    let stateDirectory: String

    init(id: String, bundle: ModelBundle) throws {
        self.id = id
        root = FileManager.default.temporaryDirectory.appendingPathComponent("model-runtime-\(id)-\(UUID().uuidString)").path
        bundlePath = root + "/bundle"
        stateDirectory = root + "/state"
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try bundle.write(to: bundlePath)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func open(logger: Logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }) throws -> ModelRuntime {
        try ModelRuntime.open(
            id: id, bundlePath: bundlePath, stateDirectory: stateDirectory, retain: 3, compressionLevel: 1, logger: logger
        )
    }

    /// `count` rows of three well separated classes in four dimensions (class c has feature c near 2, the others
    /// near 0, each plus uniform noise in [-0.5, 0.5]), in subjects of 5 consecutive rows named s0, s1, ...
    static func separatedClasses(_ count: Int, prefix: String, using generator: inout SeededGenerator) -> Dataset {
        var features: [Double] = []
        var labels: [Int] = []
        for row in 0..<count {
            let label = row % 3
            labels.append(label)
            for feature in 0..<4 {
                features.append((feature == label ? 2.0 : 0.0) + Double.random(in: -0.5...0.5, using: &generator))
            }
        }
        return Dataset(
            features: Matrix(rows: count, cols: 4, storage: features), labels: labels,
            sampleIDs: (0..<count).map { "\(prefix)\($0)" }, subjects: (0..<count).map { "s\($0 / 5)" },
            featureNames: ["a", "b", "c", "d"]
        )
    }

    /// A bundle of a trained `model` with its rows and no standardization or provenance.
    static func bundle(_ model: Network, train: Dataset, validation: Dataset) -> ModelBundle {
        let descriptor = ModelBundle.Descriptor(
            architecture: model.architecture, lambda: model.lambda, standardization: nil, training: nil, source: nil,
            trainRows: train.count, validationRows: validation.count, trainAccuracy: nil, validationAccuracy: nil
        )
        return ModelBundle(descriptor: descriptor, model: model, train: train, validation: validation)
    }
}
