/// The shape of a sequential MLP as a snapshot records it: input width, then dense layers with their activations.
///
/// Deliberately independent of UnlearningCore's `Architecture` (same JSON shape: `{"inputs": d, "layers":
/// [{"units": k, "activation": "relu"}]}`), so the file format does not change when the model code does.
public struct SnapshotArchitecture: Codable, Sendable, Equatable {
    public struct Layer: Codable, Sendable, Equatable {
        public var units: Int
        /// `relu`, `tanh` or `identity` (see ``SnapshotArchitecture/knownActivations``).
        public var activation: String

        public init(units: Int, activation: String) {
            self.units = units
            self.activation = activation
        }
    }

    /// The activations the daemon's models use; ``validate()`` rejects others.
    public static let knownActivations: Set<String> = ["relu", "tanh", "identity"]

    public var inputs: Int
    public var layers: [Layer]

    public init(inputs: Int, layers: [Layer]) {
        self.inputs = inputs
        self.layers = layers
    }

    /// Width of the input to layer `l`.
    public func fanIn(_ l: Int) -> Int { l == 0 ? inputs : layers[l - 1].units }

    /// Number of parameters: per layer `units * (fanIn + 1)` (weights plus bias).
    public var parameterCount: Int {
        layers.indices.reduce(0) { $0 + layers[$1].units * (fanIn($1) + 1) }
    }

    /// Throws unless every width is positive, every activation known and the parameter count is representable.
    public func validate() throws {
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
            guard Self.knownActivations.contains(layer.activation) else {
                throw CheckpointError(
                    .shapeMismatch,
                    "layer \(l) has activation \"\(layer.activation)\"; expected one of \(Self.knownActivations.sorted())")
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
        "\(inputs)-" + layers.map { "\($0.units)(\($0.activation))" }.joined(separator: "-")
    }
}
