import Foundation
import UnlearningCore

extension ModelBundle {
    static let descriptorFile = "bundle.json"
    static let weightsFile = "model.safetensors"
    static let trainFile = "train.csv.zst"
    static let validationFile = "validation.csv.zst"

    /// Writes the bundle into a fresh directory next to `path`, fsyncs it, and renames it into place, so a failed
    /// or interrupted write never leaves a partial bundle at `path`.
    public func write(to path: String, replace: Bool = false) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: path).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let staging = parent.appendingPathComponent(".\(target.lastPathComponent).partial-\(getpid())")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try PosixIO.writeNewFile(staging.appendingPathComponent(Self.descriptorFile).path, Array(try encoder.encode(descriptor)) + [0x0A])
            try PosixIO.writeNewFile(
                staging.appendingPathComponent(Self.weightsFile).path, try Self.weights(model, standardization: descriptor.standardization).encoded())
            try TrainingSetFile.write(train, to: staging.appendingPathComponent(Self.trainFile).path)
            // No validation rows, no file: `read` takes a missing file as an empty split (a header-only CSV does not
            // parse), as `unlearnctl import` without --validation makes them.
            if validation.count > 0 {
                try TrainingSetFile.write(validation, to: staging.appendingPathComponent(Self.validationFile).path)
            }
            try PosixIO.fsyncDirectory(staging.path)
            if fm.fileExists(atPath: target.path) {
                guard replace else {
                    throw CheckpointError(.invalidArgument, "\(path) already exists; remove it or ask to replace it")
                }
                let old = parent.appendingPathComponent(".\(target.lastPathComponent).old-\(getpid())")
                try fm.moveItem(at: target, to: old)
                try fm.moveItem(at: staging, to: target)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: staging, to: target)
            }
            try PosixIO.fsyncDirectory(parent.path)
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }

    /// Reads a bundle directory written by `write(to:)` (or assembled by hand with the same files).
    public static func read(from path: String) throws -> ModelBundle {
        let dir = URL(fileURLWithPath: path)
        let descriptorPath = dir.appendingPathComponent(descriptorFile).path
        guard let json = FileManager.default.contents(atPath: descriptorPath) else {
            throw CheckpointError(.ioFailure, "\(descriptorPath) is missing; \(path) is not a model bundle (see `unlearnctl train --help`)")
        }
        let descriptor: Descriptor
        do {
            descriptor = try JSONDecoder().decode(Descriptor.self, from: json)
        } catch {
            throw CheckpointError(.malformedManifest, "\(descriptorPath) is not a valid bundle descriptor: \(error)")
        }
        guard descriptor.format == format else {
            throw CheckpointError(.malformedManifest, "\(descriptorPath) has format \"\(descriptor.format)\", this version reads \"\(format)\"")
        }
        let weightsPath = dir.appendingPathComponent(weightsFile).path
        guard let weightBytes = FileManager.default.contents(atPath: weightsPath) else {
            throw CheckpointError(.ioFailure, "\(weightsPath) is missing from the bundle")
        }
        let model = try Self.model(
            from: try SafetensorsFile.decode([UInt8](weightBytes)), architecture: descriptor.architecture,
            lambda: descriptor.lambda, source: weightsPath
        )
        let classes = descriptor.architecture.classes
        let train = try TrainingSetFile.read(dir.appendingPathComponent(trainFile).path, classes: classes)
        let validationPath = dir.appendingPathComponent(validationFile).path
        let validation =
            FileManager.default.fileExists(atPath: validationPath)
            ? try TrainingSetFile.read(validationPath, classes: classes)
            : train.subset([])
        guard train.features.cols == descriptor.architecture.inputs else {
            throw CheckpointError(
                .shapeMismatch, "\(trainFile) has \(train.features.cols) features, the model expects \(descriptor.architecture.inputs)")
        }
        return ModelBundle(descriptor: descriptor, model: model, train: train, validation: validation)
    }

    /// The weights as safetensors in PyTorch naming: `layers.{l}.weight` [out, in], `layers.{l}.bias` [out], F64,
    /// plus `input.mean` / `input.std` when the inputs are standardised.
    public static func weights(_ model: Network, standardization: Standardization?) throws -> SafetensorsFile {
        let arch = model.architecture
        var tensors: [String: SafetensorsTensor] = [:]
        for tensor in arch.parameterTensors {
            tensors[tensor.name] = try SafetensorsTensor(float64: arch.values(of: tensor, in: model.theta), shape: tensor.shape)
        }
        if let standardization {
            tensors["input.mean"] = try SafetensorsTensor(float64: standardization.mean, shape: [arch.inputs])
            tensors["input.std"] = try SafetensorsTensor(float64: standardization.std, shape: [arch.inputs])
        }
        // Earlier releases recorded the dense stack's activations here; kept for readers of those files.
        let activations = arch.denseStages.map { $0.map(\.activation.rawValue).joined(separator: ",") } ?? arch.summary
        return SafetensorsFile(metadata: ["format": "unlearnd.weights.v1", "activations": activations], tensors: tensors)
    }

    /// Rebuilds the flat parameter vector from `layers.{l}.weight` / `layers.{l}.bias` tensors (F64 or F32).
    public static func model(from file: SafetensorsFile, architecture: Architecture, lambda: Double, source: String) throws -> Network {
        var theta = [Double](repeating: 0, count: architecture.parameterCount)
        for tensor in architecture.parameterTensors {
            architecture.store(try values(file, tensor.name, shape: tensor.shape, source: source), of: tensor, into: &theta)
        }
        do {
            return try Network(architecture: architecture, theta: theta, lambda: lambda)
        } catch {
            throw CheckpointError(.shapeMismatch, "\(source): \(error)")
        }
    }

    private static func values(_ file: SafetensorsFile, _ name: String, shape: [Int], source: String) throws -> [Double] {
        guard let tensor = file.tensors[name] else {
            throw CheckpointError(.shapeMismatch, "\(source) has no tensor \"\(name)\"; the architecture needs it with shape \(shape)")
        }
        guard tensor.shape == shape else {
            throw CheckpointError(.shapeMismatch, "\(source): tensor \"\(name)\" has shape \(tensor.shape), the architecture needs \(shape)")
        }
        switch tensor.dtype {
        case .float64: return try tensor.float64Values()
        case .float32: return try tensor.float32Values().map(Double.init)
        default:
            throw CheckpointError(.shapeMismatch, "\(source): tensor \"\(name)\" has dtype \(tensor.dtype.rawValue); weights must be F64 or F32")
        }
    }
}
