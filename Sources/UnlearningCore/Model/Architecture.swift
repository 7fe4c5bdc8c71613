/// The shape of a network: an input shape (`[D]` or `[C, H, W]`) and a sequence of layers, with softmax
/// cross-entropy on the last layer's outputs (docs/NETWORKS.md).
///
/// The last layer is `dense`; its units are the class logits. A stack of dense layers with element-wise activations
/// is the MLP of earlier releases, and a single dense layer is multinomial logistic regression (the certified
/// path). Parametric layers (`dense`, `conv2d`) are numbered in the order they appear, depth first, and own one
/// contiguous range of the flat parameter vector each: for every unit or filter its weights, then its bias.
public struct Architecture: Sendable, Equatable {
    /// `[D]` or `[C, H, W]`.
    public let input: [Int]
    public let layers: [Layer]
    /// The dense and conv layers in parameter order, with their shapes and offsets.
    public let parametricLayers: [ParametricLayer]
    public let parameterCount: Int
    /// Shape of the network's output before the loss: `[classes]`.
    let outputShape: [Int]

    /// Checks the shapes through the network; throws unless every layer fits its input.
    public init(input: [Int], layers: [Layer]) throws(ModelError) {
        guard input.count == 1 || input.count == 3, input.allSatisfy({ $0 > 0 }) else {
            throw ModelError("the input shape must be [D] or [C, H, W] with positive sizes, got \(input)")
        }
        guard !layers.isEmpty else { throw ModelError("the model needs at least one (output) layer") }
        var walker = ShapeWalker()
        let output = try walker.walk(layers, input: input, path: "layers")
        guard case .dense = layers.last!.kind else {
            throw ModelError("the last layer must be dense (its units are the class logits; softmax is part of the loss)")
        }
        guard output.count == 1, output[0] >= 2 else {
            throw ModelError("the output layer needs at least 2 classes, has \(output.reduce(1, *))")
        }
        self.input = input
        self.layers = layers
        self.parametricLayers = walker.parametric
        self.parameterCount = walker.offset
        self.outputShape = output
    }

    /// `inputs -> hidden... -> classes`: dense layers named `layers.{l}`, hidden ones followed by `activation`.
    public init(inputs: Int, hidden: [Int], classes: Int, activation: Activation = .relu) {
        try! self.init(dense: inputs, stages: hidden.map { ($0, activation) } + [(classes, .identity)])
    }

    /// A dense stack in the legacy form: each stage a dense layer `layers.{l}` and its activation.
    public init(dense inputs: Int, stages: [(units: Int, activation: Activation)]) throws(ModelError) {
        guard inputs > 0 else { throw ModelError("the model needs at least one input feature (inputs = \(inputs))") }
        guard !stages.isEmpty else { throw ModelError("the model needs at least one (output) layer") }
        for (l, stage) in stages.enumerated() where stage.units <= 0 {
            throw ModelError("layer \(l) has \(stage.units) units; every layer needs at least one")
        }
        guard stages.last!.activation == .identity else {
            throw ModelError("the output layer must use the identity activation (softmax is part of the loss)")
        }
        var layers: [Layer] = []
        for (l, stage) in stages.enumerated() {
            layers.append(.dense(name: "layers.\(l)", units: stage.units))
            if stage.activation != .identity { layers.append(Layer(.activation(stage.activation))) }
        }
        try self.init(input: [inputs], layers: layers)
    }

    /// Number of input features (the product of the input shape).
    public var inputs: Int { input.reduce(1, *) }
    public var classes: Int { outputShape[0] }
    /// True for multinomial logistic regression, whose L2-regularised loss is strongly convex.
    public var isConvex: Bool { input.count == 1 && layers.count == 1 }

    /// The dense stages when the network is a stack of dense layers named `layers.{l}`, each followed by at most
    /// one activation (the MLP of earlier releases); nil otherwise. Such networks keep the legacy JSON form and
    /// the dense-only fast paths (`Network.hessianBlock`).
    public var denseStages: [(units: Int, activation: Activation)]? {
        guard input.count == 1 else { return nil }
        var stages: [(units: Int, activation: Activation)] = []
        var i = 0
        while i < layers.count {
            guard case .dense(let units) = layers[i].kind, layers[i].name == "layers.\(stages.count)" else { return nil }
            var activation = Activation.identity
            if i + 1 < layers.count, case .activation(let a) = layers[i + 1].kind {
                activation = a
                i += 1
            }
            stages.append((units, activation))
            i += 1
        }
        return stages
    }

    /// Offset of parametric layer `l`'s first parameter in the flat parameter vector.
    public func parameterOffset(ofLayer l: Int) -> Int {
        l == parametricLayers.count ? parameterCount : parametricLayers[l].offset
    }

    /// Width of one slice of parametric layer `l` without its bias: `in` (dense) or `in * k * k` (conv).
    public func fanIn(_ l: Int) -> Int { parametricLayers[l].fanIn }

    /// Number of slices (units and filters over all parametric layers).
    public var sliceCount: Int { parametricLayers.reduce(0) { $0 + $1.units } }

    /// Every slice, layer by layer.
    public var allSlices: [Slice] {
        parametricLayers.indices.flatMap { l in (0..<parametricLayers[l].units).map { Slice(layer: l, unit: $0) } }
    }

    /// The parameter range of a slice: the unit's (or filter's) weights followed by its bias.
    public func parameterRange(of slice: Slice) -> Range<Int> {
        let layer = parametricLayers[slice.layer]
        let start = layer.offset + slice.unit * (layer.fanIn + 1)
        return start..<(start + layer.fanIn + 1)
    }

    /// `784-128(relu)-10(identity)` for dense stacks; `1x28x28 conv16k5 relu maxpool2 ... dense10` otherwise.
    public var summary: String {
        if let stages = denseStages {
            return "\(inputs)-" + stages.map { "\($0.units)(\($0.activation.rawValue))" }.joined(separator: "-")
        }
        return input.map(String.init).joined(separator: "x") + " " + layers.map(\.summary).joined(separator: " ")
    }
}

/// One dense or conv layer's place in the flat parameter vector.
public struct ParametricLayer: Sendable, Equatable {
    /// The layer's name: its tensors are `<name>.weight` and `<name>.bias`.
    public var name: String
    /// Output units (dense) or filters (conv).
    public var units: Int
    /// Weights per unit: `in` (dense) or `in * k * k` (conv).
    public var fanIn: Int
    public var offset: Int
    /// PyTorch's shape of `<name>.weight`: `[units, in]` or `[out, in, k, k]`.
    public var weightShape: [Int]
    /// Fan-out for Glorot initialisation: `units` (dense) or `out * k * k` (conv), as PyTorch computes it.
    var fanOut: Int
    /// Whether a ReLU follows directly (He initialisation).
    var feedsReLU: Bool
}

/// Walks the layers once, checking every shape and numbering the parametric layers.
struct ShapeWalker {
    var parametric: [ParametricLayer] = []
    var offset = 0
    var names = Set<String>()

    mutating func walk(_ layers: [Architecture.Layer], input: [Int], path: String) throws(ModelError) -> [Int] {
        var shape = input
        var previousParametric: Int?  // index into `parametric` of the layer just walked, if it was dense or conv
        for (i, layer) in layers.enumerated() {
            let here = "\(path)[\(i)] (\(layer.kind.typeName))"
            let inputShape = shape
            shape = try layer.outputShape(input: inputShape, at: here)
            var justAdded: Int?
            switch layer.kind {
            case .dense(let units):
                let width = inputShape.reduce(1, *)
                justAdded = try addParametric(layer, units: units, fanIn: width, weightShape: [units, width], fanOut: units, at: here)
            case .conv2d(let c):
                let channels = inputShape[0]
                justAdded = try addParametric(
                    layer, units: c.outChannels, fanIn: channels * c.kernel * c.kernel,
                    weightShape: [c.outChannels, channels, c.kernel, c.kernel], fanOut: c.outChannels * c.kernel * c.kernel, at: here)
            case .residual(let body, let shortcut):
                guard shortcut.count <= 1, shortcut.allSatisfy({ $0.kind.isConv }) else {
                    throw ModelError("\(here): a shortcut holds nothing (the identity) or one conv2d")
                }
                let bodyOut = try walk(body, input: inputShape, path: "\(here).body")
                let shortcutOut = try walk(shortcut, input: inputShape, path: "\(here).shortcut")
                guard bodyOut == shortcutOut else {
                    throw ModelError("\(here): the body's output \(bodyOut) and the shortcut's \(shortcutOut) differ; a residual adds them")
                }
            case .activation(.relu):
                if let previousParametric { parametric[previousParametric].feedsReLU = true }
            default:
                break
            }
            previousParametric = justAdded
        }
        return shape
    }

    private mutating func addParametric(
        _ layer: Architecture.Layer, units: Int, fanIn: Int, weightShape: [Int], fanOut: Int, at here: String
    ) throws(ModelError) -> Int {
        guard let name = layer.name, !name.isEmpty else {
            throw ModelError("\(here) needs a name (its tensors are <name>.weight and <name>.bias)")
        }
        guard names.insert(name).inserted else { throw ModelError("\(here): the name \"\(name)\" is used twice") }
        let (size, overflow) = units.multipliedReportingOverflow(by: fanIn + 1)
        guard !overflow, offset + size <= 1 << 31 else { throw ModelError("the network has more than 2^31 parameters") }
        parametric.append(
            ParametricLayer(name: name, units: units, fanIn: fanIn, offset: offset, weightShape: weightShape, fanOut: fanOut, feedsReLU: false))
        offset += size
        return parametric.count - 1
    }
}
