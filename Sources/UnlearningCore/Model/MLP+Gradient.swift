import COpenBLAS

extension MLP {
    /// Sum over the rows of `x` of the gradient of the per-row cross-entropy loss (no L2 term), by backpropagation:
    /// delta_L = P - Y, grad W_l = delta_l^T A_{l-1}, grad b_l = 1^T delta_l, delta_{l-1} = (delta_l W_l) * act'(Z_{l-1}).
    public func lossGradientSum(_ x: Matrix, labels: [Int]) -> [Double] {
        lossGradientSum(forward: forward(x), input: x, labels: labels)
    }

    /// As `lossGradientSum(_:labels:)`, reusing a forward pass over the same rows.
    public func lossGradientSum(forward pass: ForwardPass, input x: Matrix, labels: [Int]) -> [Double] {
        precondition(labels.count == x.rows, "labels: \(labels.count), rows: \(x.rows)")
        let arch = architecture
        var grad = [Double](repeating: 0, count: theta.count)
        guard x.rows > 0 else { return grad }
        var delta = pass.probabilities
        for (i, y) in labels.enumerated() {
            precondition(y >= 0 && y < arch.classes, "label \(y) outside 0..<\(arch.classes)")
            delta[i, y] -= 1
        }
        backpropagate(delta, forward: pass, input: x, downTo: 0, into: &grad)
        return grad
    }

    /// Adds J^T delta to `grad`, where J = d logits / d theta over the rows of one forward pass and `delta` holds
    /// one row of logit sensitivities per input row: grad W_l += delta_l^T A_{l-1}, grad b_l += delta_l^T 1,
    /// delta_{l-1} = (delta_l W_l) * act'(Z_{l-1}). Layers below `lowest` are neither visited nor written.
    func backpropagate(_ outputDelta: Matrix, forward pass: ForwardPass, input x: Matrix, downTo lowest: Int, into grad: inout [Double]) {
        let arch = architecture
        precondition(grad.count == theta.count && outputDelta.rows == x.rows && outputDelta.cols == arch.classes)
        guard x.rows > 0 else { return }
        var delta = outputDelta
        let n = Int32(x.rows)
        let ones = [Double](repeating: 1, count: x.rows)
        theta.withUnsafeBufferPointer { th in
            grad.withUnsafeMutableBufferPointer { g in
                for l in stride(from: arch.layers.count - 1, through: lowest, by: -1) {
                    let fanIn = arch.fanIn(l)
                    let units = arch.layers[l].units
                    let offset = arch.parameterOffset(ofLayer: l)
                    let input = l == 0 ? x : pass.activations[l - 1]
                    delta.storage.withUnsafeBufferPointer { d in
                        input.storage.withUnsafeBufferPointer { a in
                            // grad W_l (units x fanIn, leading dimension fanIn + 1) += delta^T A
                            cblas_dgemm(
                                CblasRowMajor, CblasTrans, CblasNoTrans,
                                Int32(units), Int32(fanIn), n,
                                1, d.baseAddress, Int32(units), a.baseAddress, Int32(fanIn),
                                1, g.baseAddress! + offset, Int32(fanIn + 1)
                            )
                        }
                        // grad b_l += delta^T 1, written with stride fanIn + 1
                        cblas_dgemv(
                            CblasRowMajor, CblasTrans, n, Int32(units),
                            1, d.baseAddress, Int32(units), ones, 1,
                            1, g.baseAddress! + offset + fanIn, Int32(fanIn + 1)
                        )
                    }
                    if l > lowest {
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
        }
    }

    /// Gradient of the objective F over the given rows: (1/n) sum of loss gradients + lambda * theta.
    public func objectiveGradient(_ x: Matrix, labels: [Int]) -> [Double] {
        var g = lossGradientSum(x, labels: labels)
        if x.rows > 0 { Vector.scale(&g, by: 1 / Double(x.rows)) }
        Vector.axpy(lambda, theta, &g)
        return g
    }

    /// The entries of a full-length parameter vector that belong to `slices`, in the order given.
    public func gather(_ vector: [Double], slices: [Slice]) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(blockSize(slices))
        for s in slices { out.append(contentsOf: vector[architecture.parameterRange(of: s)]) }
        return out
    }

    /// Sum over rows of the loss gradient restricted to `slices` (concatenated in the order given).
    public func lossGradientSum(_ x: Matrix, labels: [Int], slices: [Slice]) -> [Double] {
        gather(lossGradientSum(x, labels: labels), slices: slices)
    }

    /// Number of parameters in the given slices.
    public func blockSize(_ slices: [Slice]) -> Int {
        slices.reduce(0) { $0 + architecture.fanIn($1.layer) + 1 }
    }

    /// Adds `delta` (concatenated over `slices` in order) to those parameters.
    public mutating func addToBlock(_ delta: [Double], slices: [Slice]) {
        precondition(delta.count == blockSize(slices), "block update has \(delta.count) values, slices hold \(blockSize(slices))")
        var k = 0
        for s in slices {
            for p in architecture.parameterRange(of: s) {
                theta[p] += delta[k]
                k += 1
            }
        }
    }
}
