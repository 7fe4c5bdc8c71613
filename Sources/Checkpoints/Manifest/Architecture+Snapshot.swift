import UnlearningCore

/// The model shape as snapshots record it is the engine's `Architecture` itself (docs/NETWORKS.md: the legacy MLP
/// form `{"inputs": d, "layers": [{"units": k, "activation": "relu"}]}` for dense stacks, the layer form otherwise):
/// Checkpoints builds on UnlearningCore, as its bundles do, so there is one architecture type. Decoding checks every
/// shape; `validateForSnapshot` adds the format's limits.
extension Architecture {
    /// Throws unless the input and the parameter count are within the snapshot format's limits.
    public func validateForSnapshot() throws {
        guard inputs <= 1 << 24 else {
            throw CheckpointError(.shapeMismatch, "architecture has \(inputs) inputs; expected 1...\(1 << 24)")
        }
        guard parametricLayers.count <= 256 else {
            throw CheckpointError(.shapeMismatch, "architecture has \(parametricLayers.count) dense/conv layers; expected 1...256")
        }
        guard parameterCount <= 1 << 31 else {
            throw CheckpointError(.tooLarge, "architecture has more than 2^31 parameters")
        }
    }
}
