/// The result of a forward pass over a batch: what backpropagation and forward-mode products need, the logits and
/// the softmax probabilities.
public struct ForwardPass: Sendable {
    var caches: [NetworkProgram.Cache]
    public let samples: Int
    /// Input of each parametric layer (channels-last rows for a conv: samples x positions rows).
    public var layerInputs: [Matrix]
    /// Output of each parametric layer before its activation (a conv's: one row per sample and position, one
    /// column per filter).
    public var layerOutputs: [Matrix]
    /// samples x classes.
    public var logits: Matrix
    /// samples x classes softmax of the logits.
    public var probabilities: Matrix
}
