/// An `Architecture` compiled into operations on channels-last matrices: an image batch is one row per (sample,
/// position) and one column per channel, a vector batch one row per sample. Each operation knows three things
/// (BackPACK's contract, Dangel, Kunstner, Hennig 2020, "BackPACK: packing more into backprop"): its forward pass,
/// its vector-Jacobian product (backward) and its Jacobian-vector product (forward mode, for Gauss-Newton products).
/// Gradients, Gauss-Newton-vector products, squared per-sample gradients and per-slice activations all follow from
/// those, so the unlearning code never switches on the layer type.
struct NetworkProgram: Sendable {
    indirect enum Op: Sendable {
        /// PyTorch's flat CHW rows (n x C*P) to channels-last (n*P x C).
        case channelsLast(channels: Int, positions: Int)
        /// Channels-last (n*P x C) to flat CHW rows (n x C*P), PyTorch's `flatten` order.
        case flatten(channels: Int, positions: Int)
        case dense(layer: Int, fanIn: Int, units: Int)
        case conv(layer: Int, geometry: ConvGeometry, units: Int)
        case activation(Activation)
        case maxPool(PoolGeometry)
        case avgPool(PoolGeometry)
        case globalAvgPool(channels: Int, positions: Int)
        case residual(body: [Node], shortcut: [Node])
    }

    struct Node: Sendable {
        var op: Op
        /// Highest parametric layer index inside the node (nil: none).
        var maxLayer: Int?
    }

    /// What the forward pass keeps of one node for the backward and forward-mode passes.
    struct Cache: Sendable {
        var input: Matrix
        var output: Matrix
        var argmax: [Int32] = []
        var body: [Cache] = []
        var shortcut: [Cache] = []
    }

    let nodes: [Node]
    /// Values one sample's forward pass keeps (every node's output, and a conv's im2col patches), which bounds
    /// how many rows a pass may take at once.
    let valuesPerSample: Int

    init(_ architecture: Architecture) {
        var shape = architecture.input
        var layer = 0
        var nodes: [Node] = []
        var values = architecture.inputs
        if shape.count == 3 { nodes.append(Node(op: .channelsLast(channels: shape[0], positions: shape[1] * shape[2]))) }
        Self.compile(architecture.layers, shape: &shape, layer: &layer, values: &values, into: &nodes)
        self.nodes = nodes
        self.valuesPerSample = values
    }

    private static func compile(
        _ layers: [Architecture.Layer], shape: inout [Int], layer: inout Int, values: inout Int, into nodes: inout [Node]
    ) {
        for spec in layers {
            defer { values += shape.reduce(1, *) }
            switch spec.kind {
            case .dense(let units):
                if shape.count == 3 {
                    nodes.append(Node(op: .flatten(channels: shape[0], positions: shape[1] * shape[2])))
                    shape = [shape.reduce(1, *)]
                }
                nodes.append(Node(op: .dense(layer: layer, fanIn: shape[0], units: units), maxLayer: layer))
                layer += 1
                shape = [units]
            case .conv2d(let c):
                let g = ConvGeometry(
                    channels: shape[0], height: shape[1], width: shape[2], kernel: c.kernel, stride: c.stride, padding: c.padding)
                values += g.patch * g.outPositions
                nodes.append(Node(op: .conv(layer: layer, geometry: g, units: c.outChannels), maxLayer: layer))
                layer += 1
                shape = [c.outChannels, g.outHeight, g.outWidth]
            case .activation(let a):
                nodes.append(Node(op: .activation(a)))
            case .maxPool2d(let p), .avgPool2d(let p):
                let g = PoolGeometry(channels: shape[0], height: shape[1], width: shape[2], kernel: p.kernel, stride: p.stride)
                if case .maxPool2d = spec.kind { nodes.append(Node(op: .maxPool(g))) } else { nodes.append(Node(op: .avgPool(g))) }
                shape = [shape[0], g.outHeight, g.outWidth]
            case .globalAvgPool:
                nodes.append(Node(op: .globalAvgPool(channels: shape[0], positions: shape[1] * shape[2])))
                shape = [shape[0]]
            case .flatten:
                if shape.count == 3 { nodes.append(Node(op: .flatten(channels: shape[0], positions: shape[1] * shape[2]))) }
                shape = [shape.reduce(1, *)]
            case .residual(let bodySpec, let shortcutSpec):
                let first = layer
                var bodyShape = shape
                var body: [Node] = []
                compile(bodySpec, shape: &bodyShape, layer: &layer, values: &values, into: &body)
                var shortcutShape = shape
                var shortcut: [Node] = []
                compile(shortcutSpec, shape: &shortcutShape, layer: &layer, values: &values, into: &shortcut)
                nodes.append(Node(op: .residual(body: body, shortcut: shortcut), maxLayer: layer > first ? layer - 1 : nil))
                shape = bodyShape
            }
        }
    }
}

// MARK: - Forward

extension NetworkProgram {
    /// Runs `nodes` over `x` (`samples` samples), keeping each node's cache; records each parametric layer's input
    /// and output (rows x units: the pre-activation) in `layerInputs` / `layerOutputs`.
    static func forward(
        _ nodes: [Node], _ x: Matrix, samples: Int, theta: UnsafePointer<Double>, architecture: Architecture,
        caches: inout [Cache], layerInputs: inout [Matrix], layerOutputs: inout [Matrix]
    ) -> Matrix {
        var current = x
        for node in nodes {
            var cache = Cache(input: current, output: current)
            switch node.op {
            case .channelsLast(let c, let p):
                cache.output = permute(current, samples: samples, channels: c, positions: p, toChannelsLast: true)
            case .flatten(let c, let p):
                cache.output = permute(current, samples: samples, channels: c, positions: p, toChannelsLast: false)
            case .dense(let l, let fanIn, let units):
                var z = Matrix(rows: samples, cols: units)
                current.storage.withUnsafeBufferPointer { a in
                    z.storage.withUnsafeMutableBufferPointer { zp in
                        WeightProducts.forward(
                            a.baseAddress!, rows: samples, fanIn: fanIn, units: units,
                            weights: theta + architecture.parameterOffset(ofLayer: l), into: zp.baseAddress!)
                    }
                }
                layerInputs[l] = current
                layerOutputs[l] = z
                cache.output = z
            case .conv(let l, let g, let units):
                let cols = im2col(current, g, samples: samples)
                var z = Matrix(rows: samples * g.outPositions, cols: units)
                cols.storage.withUnsafeBufferPointer { a in
                    z.storage.withUnsafeMutableBufferPointer { zp in
                        WeightProducts.forward(
                            a.baseAddress!, rows: z.rows, fanIn: g.patch, units: units,
                            weights: theta + architecture.parameterOffset(ofLayer: l), into: zp.baseAddress!)
                    }
                }
                layerInputs[l] = current
                layerOutputs[l] = z
                cache.output = z
            case .activation(let a):
                a.apply(&cache.output.storage)
            case .maxPool(let g):
                var out = Matrix(rows: samples * g.outHeight * g.outWidth, cols: g.channels)
                var argmax = [Int32](repeating: 0, count: out.storage.count)
                current.storage.withUnsafeBufferPointer { xp in
                    out.storage.withUnsafeMutableBufferPointer { op in
                        argmax.withUnsafeMutableBufferPointer { ap in
                            g.maxPool(xp.baseAddress!, samples: samples, into: op.baseAddress!, argmax: ap.baseAddress!)
                        }
                    }
                }
                cache.output = out
                cache.argmax = argmax
            case .avgPool(let g):
                cache.output = avgPool(current, g, samples: samples)
            case .globalAvgPool(let c, let p):
                cache.output = globalAvgPool(current, samples: samples, channels: c, positions: p)
            case .residual(let body, let shortcut):
                var bodyCaches: [Cache] = []
                var shortcutCaches: [Cache] = []
                var out = forward(
                    body, current, samples: samples, theta: theta, architecture: architecture, caches: &bodyCaches,
                    layerInputs: &layerInputs, layerOutputs: &layerOutputs)
                let skip = forward(
                    shortcut, current, samples: samples, theta: theta, architecture: architecture, caches: &shortcutCaches,
                    layerInputs: &layerInputs, layerOutputs: &layerOutputs)
                out.add(skip)
                cache.output = out
                cache.body = bodyCaches
                cache.shortcut = shortcutCaches
            }
            current = cache.output
            caches.append(cache)
        }
        return current
    }

    /// Between PyTorch's flat CHW rows and channels-last rows; with one channel or one position the two layouts are
    /// the same storage and only the matrix shape changes.
    static func permute(_ x: Matrix, samples: Int, channels c: Int, positions p: Int, toChannelsLast: Bool) -> Matrix {
        let shape = toChannelsLast ? (rows: samples * p, cols: c) : (rows: samples, cols: c * p)
        if c == 1 || p == 1 { return Matrix(rows: shape.rows, cols: shape.cols, storage: x.storage) }
        var out = Matrix(rows: shape.rows, cols: shape.cols)
        x.storage.withUnsafeBufferPointer { src in
            out.storage.withUnsafeMutableBufferPointer { dst in
                for i in 0..<samples {
                    let base = i * c * p
                    for ch in 0..<c {
                        for q in 0..<p {
                            if toChannelsLast {
                                dst[base + q * c + ch] = src[base + ch * p + q]
                            } else {
                                dst[base + ch * p + q] = src[base + q * c + ch]
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    static func im2col(_ x: Matrix, _ g: ConvGeometry, samples: Int) -> Matrix {
        let count = samples * g.outPositions * g.patch
        // Every entry is written (zeros where the window reads padding), so the array is not zero-filled first.
        let storage = [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            x.storage.withUnsafeBufferPointer { xp in g.im2col(xp.baseAddress!, samples: samples, into: buffer.baseAddress!) }
            initialized = count
        }
        return Matrix(rows: samples * g.outPositions, cols: g.patch, storage: storage)
    }

    static func avgPool(_ x: Matrix, _ g: PoolGeometry, samples: Int) -> Matrix {
        var out = Matrix(rows: samples * g.outHeight * g.outWidth, cols: g.channels)
        x.storage.withUnsafeBufferPointer { xp in
            out.storage.withUnsafeMutableBufferPointer { op in g.avgPool(xp.baseAddress!, samples: samples, into: op.baseAddress!) }
        }
        return out
    }

    static func globalAvgPool(_ x: Matrix, samples: Int, channels c: Int, positions p: Int) -> Matrix {
        var out = Matrix(rows: samples, cols: c)
        let scale = 1 / Double(p)
        x.storage.withUnsafeBufferPointer { xp in
            out.storage.withUnsafeMutableBufferPointer { op in
                for i in 0..<samples {
                    for q in 0..<p {
                        for ch in 0..<c { op[i * c + ch] += xp[(i * p + q) * c + ch] }
                    }
                    for ch in 0..<c { op[i * c + ch] *= scale }
                }
            }
        }
        return out
    }
}
