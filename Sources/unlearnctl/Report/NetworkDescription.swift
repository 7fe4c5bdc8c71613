import UnlearningCore

/// What the report says about a model's network, for any network of docs/NETWORKS.md (dense, conv, pooling and
/// residual layers), not only dense MLPs: its kind, its parametric layers and how a set of slices spreads over them.
/// A slice is one dense unit or one conv filter (its weights and its bias); `Slice.layer` numbers the parametric
/// layers (`Architecture.parametricLayers`), not the entries of `Architecture.layers`.
struct NetworkDescription {
    struct ParametricLayerInfo {
        var index: Int
        var name: String
        /// `dense` or `conv2d 3x3` (with `stride s` when s > 1).
        var type: String
        /// Where the layer sits when not in the main stack: `residual body` or `residual shortcut`.
        var place: String?
        var isConv: Bool
        /// Units (dense) or filters (conv).
        var slices: Int
        var parameters: Int
        /// Parameters per slice: the weights (`in` or `in * k * k`) and the bias.
        var parametersPerSlice: Int

        func count(_ n: Int) -> String { NetworkDescription.count(n, isConv ? "filter" : "unit") }
    }

    var architecture: Architecture
    var layers: [ParametricLayerInfo]

    init(_ architecture: Architecture) {
        self.architecture = architecture
        // The dense and conv layers in parameter order (depth first, a residual's body before its shortcut), as
        // `Architecture.parametricLayers` numbers them, with what only the layer list knows: stride and place.
        var found: [(conv: Architecture.Layer.Conv2D?, place: String?)] = []
        func walk(_ layers: [Architecture.Layer], place: String?) {
            for layer in layers {
                switch layer.kind {
                case .dense: found.append((nil, place))
                case .conv2d(let c): found.append((c, place))
                case .residual(let body, let shortcut):
                    walk(body, place: "residual body")
                    walk(shortcut, place: "residual shortcut")
                default: break
                }
            }
        }
        walk(architecture.layers, place: nil)
        layers = architecture.parametricLayers.enumerated().map { l, p in
            let walked = found.count == architecture.parametricLayers.count ? found[l] : nil
            // Conv weights are [out, in, k, k]; dense weights [units, in].
            let isConv = p.weightShape.count == 4
            var type = "dense"
            if isConv {
                let k = p.weightShape[2]
                type = "conv2d \(k)x\(k)"
                if let stride = walked?.conv?.stride, stride > 1 { type += " stride \(stride)" }
            }
            return ParametricLayerInfo(
                index: l, name: p.name, type: type, place: walked?.place, isConv: isConv, slices: p.units,
                parameters: p.units * (p.fanIn + 1), parametersPerSlice: p.fanIn + 1)
        }
    }

    /// `multinomial logistic regression`, `MLP`, `convolutional network`, ...
    var kind: String {
        if architecture.isConvex { return "multinomial logistic regression" }
        func contains(_ layers: [Architecture.Layer], _ test: (Architecture.Layer.Kind) -> Bool) -> Bool {
            layers.contains { layer in
                if test(layer.kind) { return true }
                if case .residual(let body, let shortcut) = layer.kind { return contains(body, test) || contains(shortcut, test) }
                return false
            }
        }
        let residual = contains(architecture.layers) { if case .residual = $0 { return true } else { return false } }
        if residual { return "residual network" }
        if layers.contains(where: \.isConv) { return "convolutional network" }
        return architecture.denseStages != nil ? "MLP" : "dense network"
    }

    /// One line: the engine's summary of the layers, the kind, and the parameters and slices.
    var summary: String {
        let filters = layers.filter(\.isConv).reduce(0) { $0 + $1.slices }
        let units = layers.filter { !$0.isConv }.reduce(0) { $0 + $1.slices }
        let parts = (filters > 0 ? [Self.count(filters, "conv filter")] : []) + [Self.count(units, "dense unit")]
        return "\(architecture.summary) (\(kind)): \(Self.count(layers.count, "parametric layer")), "
            + "\(architecture.parameterCount) parameters in \(Self.count(architecture.sliceCount, "slice")) (\(parts.joined(separator: ", ")))"
    }

    /// How `slices` spread over the layers: `all 34 slices`, or `3 filters of features.0, 2 units of classifier`.
    func describe(_ slices: [Slice]) -> String {
        let distinct = Set(slices)
        if distinct.count == architecture.sliceCount { return "all \(Self.count(distinct.count, "slice"))" }
        var perLayer: [Int: Int] = [:]
        for slice in distinct { perLayer[slice.layer, default: 0] += 1 }
        return perLayer.keys.sorted().map { l in
            l < layers.count ? "\(layers[l].count(perLayer[l]!)) of \(layers[l].name)" : "\(Self.count(perLayer[l]!, "slice")) of layer \(l)"
        }.joined(separator: ", ")
    }

    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
}
