/// JSON of docs/NETWORKS.md: `{"input": [C, H, W], "layers": [{"type": "conv2d", "name": ..., ...}, ...]}`, and
/// the legacy MLP form `{"inputs": d, "layers": [{"units": k, "activation": "relu"}, ...]}` that bundles and
/// snapshots of earlier releases hold. Dense stacks are written in the legacy form, so files stay readable by
/// earlier releases; other networks in the layer form.
extension Architecture: Codable {
    enum CodingKeys: String, CodingKey {
        case input, inputs, layers
    }

    struct LegacyLayer: Codable {
        var units: Int
        var activation: Activation
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let inputs = try container.decodeIfPresent(Int.self, forKey: .inputs) {
            guard !container.contains(.input) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .input, in: container, debugDescription: "give either \"inputs\" (an MLP) or \"input\" (a shape), not both")
            }
            let legacy = try container.decode([LegacyLayer].self, forKey: .layers)
            do {
                try self.init(dense: inputs, stages: legacy.map { ($0.units, $0.activation) })
            } catch {
                throw DecodingError.dataCorruptedError(forKey: .layers, in: container, debugDescription: error.description)
            }
            return
        }
        let input = try container.decode([Int].self, forKey: .input)
        let layers = try container.decode([Layer].self, forKey: .layers)
        do {
            try self.init(input: input, layers: layers)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .layers, in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let stages = denseStages {
            try container.encode(inputs, forKey: .inputs)
            try container.encode(stages.map { LegacyLayer(units: $0.units, activation: $0.activation) }, forKey: .layers)
        } else {
            try container.encode(input, forKey: .input)
            try container.encode(layers, forKey: .layers)
        }
    }
}

extension Architecture.Layer: Codable {
    enum CodingKeys: String, CodingKey {
        case type, name, units
        case outChannels = "out_channels"
        case kernel, stride, padding, body, shortcut
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        let name = try c.decodeIfPresent(String.self, forKey: .name)
        // Keys a type does not use are rejected, so a misspelt or misplaced key is an error, not a silent default.
        func only(_ allowed: Set<CodingKeys>) throws {
            for key in c.allKeys where key != .type && !allowed.contains(key) {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c, debugDescription: "a \(type) layer has no \"\(key.stringValue)\"")
            }
        }
        switch type {
        case "dense":
            try only([.name, .units])
            self.init(.dense(units: try c.decode(Int.self, forKey: .units)), name: name)
        case "conv2d":
            try only([.name, .outChannels, .kernel, .stride, .padding])
            self.init(
                .conv2d(
                    Conv2D(
                        outChannels: try c.decode(Int.self, forKey: .outChannels), kernel: try c.decode(Int.self, forKey: .kernel),
                        stride: try c.decodeIfPresent(Int.self, forKey: .stride) ?? 1,
                        padding: try c.decodeIfPresent(Int.self, forKey: .padding) ?? 0)), name: name)
        case "relu", "tanh":
            try only([])
            self.init(.activation(Activation(rawValue: type)!))
        case "maxpool2d", "avgpool2d":
            try only([.kernel, .stride])
            let pool = Pool(kernel: try c.decode(Int.self, forKey: .kernel), stride: try c.decodeIfPresent(Int.self, forKey: .stride))
            self.init(type == "maxpool2d" ? .maxPool2d(pool) : .avgPool2d(pool))
        case "global_avgpool":
            try only([])
            self.init(.globalAvgPool)
        case "flatten":
            try only([])
            self.init(.flatten)
        case "residual":
            try only([.body, .shortcut])
            self.init(
                .residual(
                    body: try c.decode([Architecture.Layer].self, forKey: .body),
                    shortcut: try c.decodeIfPresent([Architecture.Layer].self, forKey: .shortcut) ?? []))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c,
                debugDescription: "unknown layer type \"\(type)\"; expected dense, conv2d, relu, tanh, maxpool2d, avgpool2d, "
                    + "global_avgpool, flatten or residual (batchnorm2d only in `unlearnctl import`)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind.typeName, forKey: .type)
        try c.encodeIfPresent(name, forKey: .name)
        switch kind {
        case .dense(let units):
            try c.encode(units, forKey: .units)
        case .conv2d(let conv):
            try c.encode(conv.outChannels, forKey: .outChannels)
            try c.encode(conv.kernel, forKey: .kernel)
            try c.encode(conv.stride, forKey: .stride)
            try c.encode(conv.padding, forKey: .padding)
        case .maxPool2d(let p), .avgPool2d(let p):
            try c.encode(p.kernel, forKey: .kernel)
            try c.encode(p.stride, forKey: .stride)
        case .residual(let body, let shortcut):
            try c.encode(body, forKey: .body)
            try c.encode(shortcut, forKey: .shortcut)
        case .activation, .globalAvgPool, .flatten:
            break
        }
    }
}
