import Checkpoints
import Foundation
import UnlearningCore

extension SnapshotArchitecture {
    public init(_ architecture: Architecture) {
        self.init(
            inputs: architecture.inputs,
            layers: architecture.layers.map { Layer(units: $0.units, activation: $0.activation.rawValue) }
        )
    }

    /// The engine's architecture; throws for activations the engine does not know.
    public func engineArchitecture() throws -> Architecture {
        Architecture(inputs: inputs, layers: try layers.map { layer in
            guard let activation = Activation(rawValue: layer.activation) else {
                throw CheckpointError(.shapeMismatch, "activation \"\(layer.activation)\" is not supported (relu, tanh, identity)")
            }
            return Architecture.Layer(units: layer.units, activation: activation)
        })
    }
}

extension ModelParameters {
    public init(_ model: MLP, standardization: Standardization?) throws {
        try self.init(
            architecture: SnapshotArchitecture(model.architecture), theta: model.theta,
            inputMean: standardization?.mean, inputStd: standardization?.std
        )
    }

    /// The parameters of a state: the released model as `theta`, and the noise-free one as `privateTheta` when the
    /// two differ.
    public init(_ state: UnlearningState, standardization: Standardization?) throws {
        try self.init(
            architecture: SnapshotArchitecture(state.model.architecture), theta: state.releasedModel.theta,
            inputMean: standardization?.mean, inputStd: standardization?.std,
            privateTheta: state.releasedTheta == nil ? nil : state.model.theta
        )
    }

    /// The released model.
    public func model(lambda: Double) throws -> MLP {
        try MLP(architecture: try architecture.engineArchitecture(), theta: theta, lambda: lambda)
    }

    /// The model updates continue from: the noise-free parameters when stored, else the released ones.
    public func engineModel(lambda: Double) throws -> MLP {
        try MLP(architecture: try architecture.engineArchitecture(), theta: privateTheta ?? theta, lambda: lambda)
    }

    public var standardization: Standardization? {
        guard let inputMean, let inputStd else { return nil }
        return Standardization(mean: inputMean, std: inputStd)
    }
}
