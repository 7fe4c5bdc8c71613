import Checkpoints
import Foundation
import UnlearningCore

extension ModelParameters {
    public init(_ model: Network, standardization: Standardization?) throws {
        try self.init(
            architecture: model.architecture, theta: model.theta,
            inputMean: standardization?.mean, inputStd: standardization?.std
        )
    }

    /// The parameters of a state: the released model as `theta`, and the noise-free one as `privateTheta` when the
    /// two differ.
    public init(_ state: UnlearningState, standardization: Standardization?) throws {
        try self.init(
            architecture: state.model.architecture, theta: state.releasedModel.theta,
            inputMean: standardization?.mean, inputStd: standardization?.std,
            privateTheta: state.releasedTheta == nil ? nil : state.model.theta
        )
    }

    /// The released model.
    public func model(lambda: Double) throws -> Network {
        try Network(architecture: architecture, theta: theta, lambda: lambda)
    }

    /// The model updates continue from: the noise-free parameters when stored, else the released ones.
    public func engineModel(lambda: Double) throws -> Network {
        try Network(architecture: architecture, theta: privateTheta ?? theta, lambda: lambda)
    }

    public var standardization: Standardization? {
        guard let inputMean, let inputStd else { return nil }
        return Standardization(mean: inputMean, std: inputStd)
    }
}
