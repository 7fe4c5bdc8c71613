import COpenBLAS

extension Network {
    /// The mean over the rows of `x` of the per-row loss Hessian restricted to `slices` (no lambda I).
    ///
    /// Generalised Gauss-Newton form J^T H_z J with J = d logits / d theta_S and H_z = diag(p) - p p^T, the Hessian
    /// of softmax cross-entropy in the logits (Schraudolph 2002; Martens 2020, "New insights and perspectives on the
    /// natural gradient method", section 8). For output-layer slices the logits are linear in the parameters, so this
    /// equals the exact Hessian; for hidden-layer slices it is the Gauss-Newton matrix, which drops the term with the
    /// second derivative of the network and is positive semi-definite.
    ///
    /// BLAS formulation: H_z = A^T A with A = diag(sqrt p)(I - 1 p^T) (uses sum p = 1). Backpropagating the K rows
    /// of A instead of the identity gives U_l = A dlogits/dZ_l per row; the rows of G = A J are the outer products
    /// U_l[:, u] (x) [a_{l-1}, 1] for each selected unit u, and H = G^T G / n is one dsyrk per chunk of rows.
    ///
    /// Dense stacks only (`Architecture.denseStages`); other networks solve their blocks by conjugate gradients on
    /// `GaussNewtonOperator`, which is the same matrix applied to vectors.
    public func hessianBlock(_ x: Matrix, slices: [Slice], maxChunkElements: Int = 1 << 22) -> Matrix {
        let arch = architecture
        guard let stages = arch.denseStages else { preconditionFailure("hessianBlock needs a dense stack, got \(arch.summary)") }
        let p = blockSize(slices)
        var h = Matrix(rows: p, cols: p)
        guard x.rows > 0, p > 0 else { return h }
        let k = arch.classes
        let outputLayer = stages.count - 1
        let lowest = slices.map(\.layer).min()!

        // Column offset of each slice inside the block.
        var columnOffsets: [Int] = []
        var c = 0
        for s in slices {
            columnOffsets.append(c)
            c += arch.fanIn(s.layer) + 1
        }

        let outputUnits: [Int]? = {
            guard lowest == outputLayer else { return nil }
            let units = Set(slices.map(\.unit)).sorted()
            return units.count < k ? units : nil
        }()
        let rowsPerSample = outputUnits?.count ?? k
        let chunkRows = max(1, min(x.rows, maxChunkElements / max(1, rowsPerSample * p)))
        var first = true
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + chunkRows)
            let rows = end - start
            let chunk = x.selectingRows(start..<end)
            let pass = forward(chunk)

            // U_L: row i*K + r is sqrt(p_ir) (e_r - p_i), i.e. A_i.
            // When the block lies in the output layer and covers only k < K units S, the K rows per sample shrink to
            // k: H_z[S,S] = diag(p_S) - p_S p_S^T = R^T R with R = (I - c q q^T) diag(sqrt p_S), q = sqrt(p_S),
            // c = (1 - sqrt(1 - s)) / s, s = sum_S p (from (I - c q q^T)^2 = I - q q^T), so row r of R is
            // sqrt(p_r) (e_r - c p) restricted to S: fewer rows in G and a k/K cheaper dsyrk.
            let outputFactor = Matrix(
                rows: rows * rowsPerSample, cols: k,
                storage: {
                    var storage = [Double](repeating: 0, count: rows * rowsPerSample * k)
                    for i in 0..<rows {
                        var c = 1.0
                        if let outputUnits {
                            let sum = outputUnits.reduce(0.0) { $0 + pass.probabilities[i, $1] }
                            c = sum > 1e-12 ? (1 - max(0, 1 - sum).squareRoot()) / sum : 0.5
                        }
                        for (q, r) in (outputUnits ?? Array(0..<k)).enumerated() {
                            let pr = pass.probabilities[i, r]
                            let sr = pr.squareRoot()
                            let base = (i * rowsPerSample + q) * k
                            for j in 0..<k { storage[base + j] = -sr * c * pass.probabilities[i, j] }
                            storage[base + r] += sr
                        }
                    }
                    return storage
                }())
            var perLayer: [Int: Matrix] = [outputLayer: outputFactor]
            var u = outputFactor
            if lowest < outputLayer {
                theta.withUnsafeBufferPointer { th in
                    for l in stride(from: outputLayer, to: lowest, by: -1) {
                        // U_{l-1} = (U_l W_l) * act'(Z_{l-1}), the derivative broadcast over each row's K rows.
                        let fanIn = arch.fanIn(l)
                        let units = stages[l].units
                        var next = Matrix(rows: rows * k, cols: fanIn)
                        u.storage.withUnsafeBufferPointer { up in
                            next.storage.withUnsafeMutableBufferPointer { np in
                                cblas_dgemm(
                                    CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                    Int32(rows * k), Int32(fanIn), Int32(units),
                                    1, up.baseAddress, Int32(units), th.baseAddress! + arch.parameterOffset(ofLayer: l),
                                    Int32(fanIn + 1), 0, np.baseAddress, Int32(fanIn)
                                )
                            }
                        }
                        let activation = stages[l - 1].activation
                        let z = pass.layerOutputs[l - 1]
                        let a = pass.layerInputs[l]
                        for i in 0..<rows {
                            for t in 0..<fanIn {
                                let d: Double
                                switch activation {
                                case .relu: d = z[i, t] > 0 ? 1 : 0
                                case .tanh: d = 1 - a[i, t] * a[i, t]
                                case .identity: d = 1
                                }
                                if d == 1 { continue }
                                for r in 0..<k { next[i * k + r, t] *= d }
                            }
                        }
                        u = next
                        perLayer[l - 1] = u
                    }
                }
            }

            // G (rows*K x p, or rows*k for a reduced output block): the slice of unit `s.unit` gets U_l[:, unit] (x) [a_{l-1}, 1].
            var g = Matrix(rows: rows * rowsPerSample, cols: p)
            g.storage.withUnsafeMutableBufferPointer { gp in
                for (index, s) in slices.enumerated() {
                    let ul = perLayer[s.layer]!
                    let fanIn = arch.fanIn(s.layer)
                    let input = pass.layerInputs[s.layer]
                    let col = columnOffsets[index]
                    input.storage.withUnsafeBufferPointer { ap in
                        ul.storage.withUnsafeBufferPointer { uq in
                            for i in 0..<rows {
                                let aRow = ap.baseAddress! + i * fanIn
                                for r in 0..<rowsPerSample {
                                    let row = i * rowsPerSample + r
                                    let scale = uq[row * ul.cols + s.unit]
                                    if scale == 0 { continue }
                                    let dst = gp.baseAddress! + row * p + col
                                    for t in 0..<fanIn { dst[t] = scale * aRow[t] }
                                    dst[fanIn] = scale
                                }
                            }
                        }
                    }
                }
            }
            Matrix.gram(g, alpha: 1, beta: first ? 0 : 1, into: &h, mirror: false)
            first = false
            start = end
        }
        h.scale(by: 1 / Double(x.rows))
        h.symmetrizeFromUpper()
        return h
    }
}
