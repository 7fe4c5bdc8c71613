/// Jacobian-vector products: the forward-mode pass of Pearlmutter's R-operator (Pearlmutter 1994, "Fast exact
/// multiplication by the Hessian"; Schraudolph 2002, section 3). For a parametric layer z = a W^T + b,
/// R(z) = R(a) W^T + a V^T + v_b; element-wise and pooling layers map R(a) through their (local) Jacobian.
extension NetworkProgram {
    /// R(output) of `nodes` for the parameter direction `v` (full layout; only layers where `inBlock` holds are
    /// read) and the input direction `rIn` (nil: zero). Returns nil while the direction is still zero.
    static func directional(
        _ nodes: [Node], caches: [Cache], _ rIn: Matrix?, samples: Int, theta: UnsafePointer<Double>, v: UnsafePointer<Double>,
        architecture: Architecture, inBlock: (Int) -> Bool
    ) -> Matrix? {
        var r = rIn
        for (j, node) in nodes.enumerated() {
            let cache = caches[j]
            switch node.op {
            case .channelsLast(let c, let p):
                r = r.map { permute($0, samples: samples, channels: c, positions: p, toChannelsLast: true) }
            case .flatten(let c, let p):
                r = r.map { permute($0, samples: samples, channels: c, positions: p, toChannelsLast: false) }
            case .dense(let l, let fanIn, let units):
                r = linear(
                    r, input: cache.input, rows: samples, fanIn: fanIn, units: units, layer: l, theta: theta, v: v,
                    architecture: architecture, inBlock: inBlock)
            case .conv(let l, let g, let units):
                r = linear(
                    r.map { im2col($0, g, samples: samples) }, input: inBlock(l) ? im2col(cache.input, g, samples: samples) : nil,
                    rows: samples * g.outPositions, fanIn: g.patch, units: units, layer: l, theta: theta, v: v,
                    architecture: architecture, inBlock: inBlock)
            case .activation(let a):
                if var rr = r {
                    a.multiplyByDerivative(&rr.storage, output: cache.output.storage)
                    r = rr
                }
            case .maxPool:
                r = r.map { rr in Matrix(rows: cache.output.rows, cols: cache.output.cols, storage: cache.argmax.map { rr.storage[Int($0)] }) }
            case .avgPool(let g):
                r = r.map { avgPool($0, g, samples: samples) }
            case .globalAvgPool(let c, let p):
                r = r.map { globalAvgPool($0, samples: samples, channels: c, positions: p) }
            case .residual(let body, let shortcut):
                let rBody = directional(
                    body, caches: cache.body, r, samples: samples, theta: theta, v: v, architecture: architecture, inBlock: inBlock)
                let rShortcut =
                    shortcut.isEmpty
                    ? r
                    : directional(
                        shortcut, caches: cache.shortcut, r, samples: samples, theta: theta, v: v, architecture: architecture,
                        inBlock: inBlock)
                switch (rBody, rShortcut) {
                case (nil, let s): r = s
                case (let b, nil): r = b
                case (var b?, let s?):
                    b.add(s)
                    r = b
                }
            }
        }
        return r
    }

    /// R(z) = R(a) W^T + [a V^T + v_b if the layer is in the block]; nil when both terms are zero.
    private static func linear(
        _ r: Matrix?, input: Matrix?, rows: Int, fanIn: Int, units: Int, layer l: Int, theta: UnsafePointer<Double>,
        v: UnsafePointer<Double>, architecture: Architecture, inBlock: (Int) -> Bool
    ) -> Matrix? {
        let own = inBlock(l)
        guard r != nil || own else { return nil }
        let offset = architecture.parameterOffset(ofLayer: l)
        var out = Matrix(rows: rows, cols: units)
        out.storage.withUnsafeMutableBufferPointer { zp in
            if let r {
                r.storage.withUnsafeBufferPointer { rp in
                    WeightProducts.forward(
                        rp.baseAddress!, rows: rows, fanIn: fanIn, units: units, weights: theta + offset, bias: false, into: zp.baseAddress!)
                }
            }
            if own, let input {
                input.storage.withUnsafeBufferPointer { ap in
                    WeightProducts.forward(
                        ap.baseAddress!, rows: rows, fanIn: fanIn, units: units, weights: v + offset, bias: true, accumulate: r != nil,
                        into: zp.baseAddress!)
                }
            }
        }
        return out
    }
}
