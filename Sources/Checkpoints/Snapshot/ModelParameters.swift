import Foundation
import UnlearningCore

/// A model's parameters in a neutral form: the architecture, one flat parameter vector and the optional input
/// standardisation.
///
/// Flat layout (the same as UnlearningCore's `MLP.theta`): for each layer `l` in order, for each output unit `j`,
/// the unit's `fanIn(l)` incoming weights followed by its bias. In safetensors the parameters are stored per layer
/// in PyTorch `nn.Linear` naming: `layers.{l}.weight` F64 `[units, fanIn]` (row `j` = unit `j`'s weights) and
/// `layers.{l}.bias` F64 `[units]`; the standardisation as `input.mean` and `input.std` F64 `[inputs]` (features
/// are used as `(x - mean) / std`).
///
/// `privateTheta`, when present, holds the noise-free parameters the unlearning engine continues from, while
/// `theta` holds the released (noised) ones. It is stored as `private.theta` F64 `[parameterCount]` in snapshots and
/// never exported: publishing it would undo the privacy noise.
public struct ModelParameters: Sendable, Equatable {
    public var architecture: Architecture
    public var theta: [Double]
    public var inputMean: [Double]?
    public var inputStd: [Double]?
    public var privateTheta: [Double]?

    /// Checks that `theta` has `architecture.parameterCount` values and mean/std (both or neither) `inputs` each.
    public init(
        architecture: Architecture, theta: [Double], inputMean: [Double]? = nil, inputStd: [Double]? = nil,
        privateTheta: [Double]? = nil
    ) throws {
        try architecture.validateForSnapshot()
        if let privateTheta, privateTheta.count != architecture.parameterCount {
            throw CheckpointError(
                .shapeMismatch,
                "architecture \(architecture.summary) has \(architecture.parameterCount) parameters, private.theta has \(privateTheta.count)")
        }
        guard theta.count == architecture.parameterCount else {
            throw CheckpointError(
                .shapeMismatch,
                "architecture \(architecture.summary) has \(architecture.parameterCount) parameters, theta has \(theta.count)")
        }
        guard (inputMean == nil) == (inputStd == nil) else {
            throw CheckpointError(.shapeMismatch, "input standardisation needs both mean and std, or neither")
        }
        if let inputMean, let inputStd {
            guard inputMean.count == architecture.inputs, inputStd.count == architecture.inputs else {
                throw CheckpointError(
                    .shapeMismatch,
                    "input mean/std have \(inputMean.count)/\(inputStd.count) values; the model has \(architecture.inputs) inputs")
            }
        }
        self.architecture = architecture
        self.theta = theta
        self.inputMean = inputMean
        self.inputStd = inputStd
        self.privateTheta = privateTheta
    }

    public static let meanName = "input.mean"
    public static let stdName = "input.std"
    public static let privateName = "private.theta"

    /// The parameters as safetensors tensors (see the type's documentation for names and shapes); `private.theta`
    /// only when `includingPrivate` (snapshots), never in exports.
    public func tensors(includingPrivate: Bool = true) throws -> [String: SafetensorsTensor] {
        var result = [String: SafetensorsTensor]()
        for tensor in architecture.parameterTensors {
            result[tensor.name] = try SafetensorsTensor(float64: architecture.values(of: tensor, in: theta), shape: tensor.shape)
        }
        if let inputMean, let inputStd {
            result[Self.meanName] = try SafetensorsTensor(float64: inputMean, shape: [architecture.inputs])
            result[Self.stdName] = try SafetensorsTensor(float64: inputStd, shape: [architecture.inputs])
        }
        if includingPrivate, let privateTheta {
            result[Self.privateName] = try SafetensorsTensor(float64: privateTheta, shape: [privateTheta.count])
        }
        return result
    }

    /// Rebuilds the parameters from tensors named and shaped as ``tensors()`` writes them; any other tensor, a
    /// missing one, a wrong dtype or shape is rejected.
    public init(architecture: Architecture, tensors: [String: SafetensorsTensor]) throws {
        try architecture.validateForSnapshot()
        var expected = Set<String>()
        var theta = [Double](repeating: 0, count: architecture.parameterCount)
        for tensor in architecture.parameterTensors {
            architecture.store(try Self.values(tensors, tensor.name, shape: tensor.shape), of: tensor, into: &theta)
            expected.insert(tensor.name)
        }
        var mean: [Double]?
        var std: [Double]?
        if tensors[Self.meanName] != nil || tensors[Self.stdName] != nil {
            mean = try Self.values(tensors, Self.meanName, shape: [architecture.inputs])
            std = try Self.values(tensors, Self.stdName, shape: [architecture.inputs])
            expected.insert(Self.meanName)
            expected.insert(Self.stdName)
        }
        var privateTheta: [Double]?
        if tensors[Self.privateName] != nil {
            privateTheta = try Self.values(tensors, Self.privateName, shape: [architecture.parameterCount])
            expected.insert(Self.privateName)
        }
        if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            throw CheckpointError(.shapeMismatch, "unexpected tensor \"\(extra)\" for architecture \(architecture.summary)")
        }
        try self.init(architecture: architecture, theta: theta, inputMean: mean, inputStd: std, privateTheta: privateTheta)
    }

    private static func values(_ tensors: [String: SafetensorsTensor], _ name: String, shape: [Int]) throws -> [Double] {
        guard let tensor = tensors[name] else {
            throw CheckpointError(.shapeMismatch, "tensor \"\(name)\" is missing")
        }
        guard tensor.shape == shape else {
            throw CheckpointError(.shapeMismatch, "tensor \"\(name)\" has shape \(tensor.shape), expected \(shape)")
        }
        guard tensor.dtype == .float64 || tensor.dtype == .float32 else {
            throw CheckpointError(.shapeMismatch, "tensor \"\(name)\" is \(tensor.dtype.rawValue); expected F64 (or F32)")
        }
        // F32 is accepted for imports from PyTorch, whose default dtype is float32; it widens exactly.
        return tensor.dtype == .float64 ? try tensor.float64Values() : try tensor.float32Values().map(Double.init)
    }

    /// Class scores for one raw input row (standardised first when mean/std are present); used by tests and
    /// `unlearnctl import` to check a model end to end.
    public func logits(_ x: [Double]) -> [Double] {
        var row = x
        if let inputMean, let inputStd {
            for i in row.indices { row[i] = (row[i] - inputMean[i]) / inputStd[i] }
        }
        let network = try! Network(architecture: architecture, theta: theta, lambda: 0)
        return network.logits(Matrix(rows: 1, cols: row.count, storage: row)).storage
    }
}
