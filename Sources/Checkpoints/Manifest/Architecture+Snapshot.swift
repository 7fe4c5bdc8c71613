import UnlearningCore

/// The model shape as snapshots record it is the engine's `Architecture` itself (JSON `{"inputs": d, "layers":
/// [{"units": k, "activation": "relu"}]}`): Checkpoints builds on UnlearningCore, as its bundles do, so there is one
/// architecture type. Decoding rejects activations the engine does not know; `validateForSnapshot` adds the format's limits.
extension Architecture {
    /// Throws unless every width is positive and the parameter count is representable.
    public func validateForSnapshot() throws {
        guard inputs > 0, inputs <= 1 << 24 else {
            throw CheckpointError(.shapeMismatch, "architecture has \(inputs) inputs; expected 1...\(1 << 24)")
        }
        guard !layers.isEmpty, layers.count <= 64 else {
            throw CheckpointError(.shapeMismatch, "architecture has \(layers.count) layers; expected 1...64")
        }
        var total = 0
        for (l, layer) in layers.enumerated() {
            guard layer.units > 0, layer.units <= 1 << 24 else {
                throw CheckpointError(.shapeMismatch, "layer \(l) has \(layer.units) units; expected 1...\(1 << 24)")
            }
            let (count, overflow) = layer.units.multipliedReportingOverflow(by: fanIn(l) + 1)
            total += count
            guard !overflow, total <= 1 << 31 else {
                throw CheckpointError(.tooLarge, "architecture has more than 2^31 parameters")
            }
        }
    }

    /// `784-128(relu)-10(identity)`.
    public var summary: String {
        "\(inputs)-" + layers.map { "\($0.units)(\($0.activation.rawValue))" }.joined(separator: "-")
    }
}
