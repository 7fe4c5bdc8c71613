import COpenBLAS

extension MLP {
    /// Sum over the rows of `x` of the element-wise squared per-row gradient of the cross-entropy loss (no L2 term):
    /// sum_i (grad_theta loss(theta, z_i))^2, the unnormalised diagonal of the empirical Fisher information.
    ///
    /// One row's gradient of a dense layer is the outer product delta_i a_i^T (weights) and delta_i (bias), so
    /// its square is delta_i^2 (a_i^2)^T and the sum over rows is the GEMM (delta o delta)^T (A o A) and the
    /// column sums of delta o delta: no per-row loop. The deltas are those of `lossGradientSum`.
    public func squaredGradientSum(_ x: Matrix, labels: [Int]) -> [Double] {
        precondition(labels.count == x.rows, "labels: \(labels.count), rows: \(x.rows)")
        let arch = architecture
        var out = [Double](repeating: 0, count: theta.count)
        guard x.rows > 0 else { return out }
        let pass = forward(x)
        var delta = pass.probabilities
        for (i, y) in labels.enumerated() {
            precondition(y >= 0 && y < arch.classes, "label \(y) outside 0..<\(arch.classes)")
            delta[i, y] -= 1
        }
        let n = Int32(x.rows)
        let ones = [Double](repeating: 1, count: x.rows)
        theta.withUnsafeBufferPointer { th in
            out.withUnsafeMutableBufferPointer { g in
                for l in stride(from: arch.layers.count - 1, through: 0, by: -1) {
                    let fanIn = arch.fanIn(l)
                    let units = arch.layers[l].units
                    let offset = arch.parameterOffset(ofLayer: l)
                    var input = l == 0 ? x : pass.activations[l - 1]
                    for k in input.storage.indices { input.storage[k] *= input.storage[k] }
                    var squared = delta
                    for k in squared.storage.indices { squared.storage[k] *= squared.storage[k] }
                    squared.storage.withUnsafeBufferPointer { d in
                        input.storage.withUnsafeBufferPointer { a in
                            // out W_l (units x fanIn, leading dimension fanIn + 1) = (delta o delta)^T (A o A)
                            cblas_dgemm(
                                CblasRowMajor, CblasTrans, CblasNoTrans,
                                Int32(units), Int32(fanIn), n,
                                1, d.baseAddress, Int32(units), a.baseAddress, Int32(fanIn),
                                0, g.baseAddress! + offset, Int32(fanIn + 1)
                            )
                        }
                        // out b_l = (delta o delta)^T 1, written with stride fanIn + 1
                        cblas_dgemv(
                            CblasRowMajor, CblasTrans, n, Int32(units),
                            1, d.baseAddress, Int32(units), ones, 1,
                            0, g.baseAddress! + offset + fanIn, Int32(fanIn + 1)
                        )
                    }
                    guard l > 0 else { break }
                    var next = Matrix(rows: x.rows, cols: fanIn)
                    delta.storage.withUnsafeBufferPointer { d in
                        next.storage.withUnsafeMutableBufferPointer { np in
                            cblas_dgemm(
                                CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                n, Int32(fanIn), Int32(units),
                                1, d.baseAddress, Int32(units), th.baseAddress! + offset, Int32(fanIn + 1),
                                0, np.baseAddress, Int32(fanIn)
                            )
                        }
                    }
                    arch.layers[l - 1].activation.multiplyByDerivative(
                        &next.storage, preActivation: pass.preActivations[l - 1].storage,
                        activation: pass.activations[l - 1].storage
                    )
                    delta = next
                }
            }
        }
        return out
    }
}
