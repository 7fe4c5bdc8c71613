/// The shape of a sequential MLP: input width, then dense layers with their activations.
///
/// The last layer's units are the class logits and its activation must be `.identity` (softmax cross-entropy
/// is applied by the loss). Zero hidden layers is multinomial logistic regression.
public struct Architecture: Codable, Sendable, Equatable {
    public struct Layer: Codable, Sendable, Equatable {
        public var units: Int
        public var activation: Activation

        public init(units: Int, activation: Activation) {
            self.units = units
            self.activation = activation
        }
    }

    public var inputs: Int
    public var layers: [Layer]

    public init(inputs: Int, layers: [Layer]) {
        self.inputs = inputs
        self.layers = layers
    }

    /// `inputs -> hidden... -> classes`, hidden layers with `activation`, output identity.
    public init(inputs: Int, hidden: [Int], classes: Int, activation: Activation = .relu) {
        self.inputs = inputs
        self.layers = hidden.map { Layer(units: $0, activation: activation) } + [Layer(units: classes, activation: .identity)]
    }

    public var classes: Int { layers.last?.units ?? 0 }
    /// True for multinomial logistic regression, whose L2-regularised loss is strongly convex.
    public var isConvex: Bool { layers.count == 1 }

    /// Width of the input to layer `l`.
    public func fanIn(_ l: Int) -> Int { l == 0 ? inputs : layers[l - 1].units }

    /// Offset of layer `l`'s first parameter in the flat parameter vector.
    public func parameterOffset(ofLayer l: Int) -> Int {
        var offset = 0
        for k in 0..<l { offset += layers[k].units * (fanIn(k) + 1) }
        return offset
    }

    public var parameterCount: Int { parameterOffset(ofLayer: layers.count) }

    /// Number of slices (output units over all layers).
    public var sliceCount: Int { layers.reduce(0) { $0 + $1.units } }

    /// Every slice, layer by layer.
    public var allSlices: [Slice] {
        layers.indices.flatMap { l in (0..<layers[l].units).map { Slice(layer: l, unit: $0) } }
    }

    /// The parameter range of a slice: the unit's weight row followed by its bias.
    public func parameterRange(of slice: Slice) -> Range<Int> {
        let width = fanIn(slice.layer) + 1
        let start = parameterOffset(ofLayer: slice.layer) + slice.unit * width
        return start..<(start + width)
    }

    /// Throws unless the architecture is usable.
    public func validate() throws(ModelError) {
        guard inputs > 0 else { throw ModelError("the model needs at least one input feature (inputs = \(inputs))") }
        guard !layers.isEmpty else { throw ModelError("the model needs at least one (output) layer") }
        for (l, layer) in layers.enumerated() where layer.units <= 0 {
            throw ModelError("layer \(l) has \(layer.units) units; every layer needs at least one")
        }
        guard layers.last!.activation == .identity else {
            throw ModelError("the output layer must use the identity activation (softmax is part of the loss)")
        }
        guard classes >= 2 else { throw ModelError("the output layer needs at least 2 classes, has \(classes)") }
    }
}
