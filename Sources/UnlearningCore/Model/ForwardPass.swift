import COpenBLAS
import Foundation

/// The result of a forward pass: per-layer pre-activations and activations, and softmax probabilities.
public struct ForwardPass: Sendable {
    /// `preActivations[l]` is n x units(l): Z_l = A_{l-1} W_l^T + b_l.
    public var preActivations: [Matrix]
    /// `activations[l]` is n x units(l): A_l = act(Z_l). The last entry holds the logits.
    public var activations: [Matrix]
    /// n x classes softmax of the logits.
    public var probabilities: Matrix
}
