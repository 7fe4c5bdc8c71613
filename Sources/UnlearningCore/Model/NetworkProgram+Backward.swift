/// Vector-Jacobian products: backpropagation through the compiled nodes.
extension NetworkProgram {
    enum GradientMode {
        /// grad += J^T delta summed over samples.
        case sum
        /// grad += the element-wise square of each sample's J_i^T delta_i, summed over samples (the diagonal of the
        /// empirical Fisher for loss deltas). Needs every layer (`lowest` 0).
        case squaredPerSample
    }

    /// Backpropagates `dOut` (the gradient at the nodes' output) through `nodes`, adding parameter gradients of
    /// every parametric layer >= `lowest` into `grad` (the full parameter layout). Returns the gradient at the
    /// nodes' input when `needInput`, otherwise nil; stops early once no node below holds a layer >= `lowest`.
    static func backward(
        _ nodes: [Node], caches: [Cache], _ dOut: Matrix, samples: Int, theta: UnsafePointer<Double>,
        architecture: Architecture, mode: GradientMode, lowest: Int, needInput: Bool, grad: UnsafeMutablePointer<Double>
    ) -> Matrix? {
        var delta = dOut
        for j in stride(from: nodes.count - 1, through: 0, by: -1) {
            let needs = j > 0 ? nodes[0..<j].contains { ($0.maxLayer ?? -1) >= lowest } : needInput
            if !needs && (nodes[j].maxLayer ?? -1) < lowest { return nil }
            let cache = caches[j]
            switch nodes[j].op {
            case .channelsLast(let c, let p):
                delta = permute(delta, samples: samples, channels: c, positions: p, toChannelsLast: false)
            case .flatten(let c, let p):
                delta = permute(delta, samples: samples, channels: c, positions: p, toChannelsLast: true)
            case .dense(let l, let fanIn, let units):
                let offset = architecture.parameterOffset(ofLayer: l)
                if l >= lowest {
                    accumulate(delta, cache.input, samples: samples, perSample: 1, fanIn: fanIn, units: units, mode: mode, into: grad + offset)
                }
                if needs { delta = inputGradient(delta, fanIn: fanIn, units: units, weights: theta + offset) }
            case .conv(let l, let g, let units):
                let offset = architecture.parameterOffset(ofLayer: l)
                let cols = im2col(cache.input, g, samples: samples)
                if l >= lowest {
                    accumulate(
                        delta, cols, samples: samples, perSample: g.outPositions, fanIn: g.patch, units: units, mode: mode, into: grad + offset)
                }
                if needs {
                    let dCols = inputGradient(delta, fanIn: g.patch, units: units, weights: theta + offset)
                    var dx = Matrix(rows: cache.input.rows, cols: cache.input.cols)
                    dCols.storage.withUnsafeBufferPointer { cp in
                        dx.storage.withUnsafeMutableBufferPointer { xp in g.col2im(cp.baseAddress!, samples: samples, into: xp.baseAddress!) }
                    }
                    delta = dx
                }
            case .activation(let a):
                a.multiplyByDerivative(&delta.storage, output: cache.output.storage)
            case .maxPool:
                var dx = Matrix(rows: cache.input.rows, cols: cache.input.cols)
                for (k, at) in cache.argmax.enumerated() { dx.storage[Int(at)] += delta.storage[k] }
                delta = dx
            case .avgPool(let g):
                var dx = Matrix(rows: cache.input.rows, cols: cache.input.cols)
                delta.storage.withUnsafeBufferPointer { dp in
                    dx.storage.withUnsafeMutableBufferPointer { xp in g.avgPoolBackward(dp.baseAddress!, samples: samples, into: xp.baseAddress!) }
                }
                delta = dx
            case .globalAvgPool(let c, let p):
                var dx = Matrix(rows: samples * p, cols: c)
                let scale = 1 / Double(p)
                for i in 0..<samples {
                    for q in 0..<p {
                        for ch in 0..<c { dx.storage[(i * p + q) * c + ch] = delta.storage[i * c + ch] * scale }
                    }
                }
                delta = dx
            case .residual(let body, let shortcut):
                let dBody = backward(
                    body, caches: cache.body, delta, samples: samples, theta: theta, architecture: architecture, mode: mode,
                    lowest: lowest, needInput: needs, grad: grad)
                let dShortcut =
                    shortcut.isEmpty
                    ? delta
                    : backward(
                        shortcut, caches: cache.shortcut, delta, samples: samples, theta: theta, architecture: architecture,
                        mode: mode, lowest: lowest, needInput: needs, grad: grad)
                guard needs, var sum = dBody, let dShortcut else { return nil }
                sum.add(dShortcut)
                delta = sum
            }
        }
        return needInput ? delta : nil
    }

    private static func accumulate(
        _ dz: Matrix, _ a: Matrix, samples: Int, perSample: Int, fanIn: Int, units: Int, mode: GradientMode,
        into g: UnsafeMutablePointer<Double>
    ) {
        dz.storage.withUnsafeBufferPointer { dp in
            a.storage.withUnsafeBufferPointer { ap in
                switch mode {
                case .sum:
                    WeightProducts.accumulateGradient(dp.baseAddress!, ap.baseAddress!, rows: dz.rows, fanIn: fanIn, units: units, into: g)
                case .squaredPerSample:
                    WeightProducts.accumulateSquaredGradient(
                        dp.baseAddress!, ap.baseAddress!, samples: samples, perSample: perSample, fanIn: fanIn, units: units, into: g)
                }
            }
        }
    }

    private static func inputGradient(_ dz: Matrix, fanIn: Int, units: Int, weights: UnsafePointer<Double>) -> Matrix {
        var da = Matrix(rows: dz.rows, cols: fanIn)
        dz.storage.withUnsafeBufferPointer { dp in
            da.storage.withUnsafeMutableBufferPointer { ap in
                WeightProducts.inputGradient(dp.baseAddress!, rows: dz.rows, fanIn: fanIn, units: units, weights: weights, into: ap.baseAddress!)
            }
        }
        return da
    }
}
