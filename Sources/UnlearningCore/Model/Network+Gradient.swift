extension Network {
    /// Sum over the rows of `x` of the gradient of the per-row cross-entropy loss (no L2 term), by backpropagation
    /// from delta = P - Y at the logits.
    public func lossGradientSum(_ x: Matrix, labels: [Int]) -> [Double] {
        lossGradientSumAndLogits(x, labels: labels).gradient
    }

    /// `lossGradientSum(_:labels:)` and the rows' logits, from the same forward passes.
    private func lossGradientSumAndLogits(_ x: Matrix, labels: [Int]) -> (gradient: [Double], logits: Matrix) {
        precondition(labels.count == x.rows, "labels: \(labels.count), rows: \(x.rows)")
        var grad = [Double](repeating: 0, count: theta.count)
        var logits = Matrix(rows: x.rows, cols: architecture.classes)
        forEachChunk(x) { chunk, range in
            let pass = forward(chunk)
            logits.storage.replaceSubrange((range.lowerBound * logits.cols)..<(range.upperBound * logits.cols), with: pass.logits.storage)
            backpropagate(Self.lossDelta(pass, labels: Array(labels[range]), classes: architecture.classes), forward: pass, downTo: 0, into: &grad)
        }
        return (grad, logits)
    }

    /// As `lossGradientSum(_:labels:)`, reusing a forward pass over the same rows.
    public func lossGradientSum(forward pass: ForwardPass, labels: [Int]) -> [Double] {
        precondition(labels.count == pass.samples, "labels: \(labels.count), rows: \(pass.samples)")
        var grad = [Double](repeating: 0, count: theta.count)
        backpropagate(Self.lossDelta(pass, labels: labels, classes: architecture.classes), forward: pass, downTo: 0, into: &grad)
        return grad
    }

    /// d loss_i / d logits_i = p_i - e_{y_i} for softmax cross-entropy.
    static func lossDelta(_ pass: ForwardPass, labels: [Int], classes: Int) -> Matrix {
        var delta = pass.probabilities
        for (i, y) in labels.enumerated() {
            precondition(y >= 0 && y < classes, "label \(y) outside 0..<\(classes)")
            delta[i, y] -= 1
        }
        return delta
    }

    /// Adds J^T delta to `grad`, where J = d logits / d theta over the rows of one forward pass and `delta` holds
    /// one row of logit sensitivities per input row. Parametric layers below `lowest` are neither visited nor
    /// written.
    func backpropagate(_ outputDelta: Matrix, forward pass: ForwardPass, downTo lowest: Int, into grad: inout [Double]) {
        precondition(grad.count == theta.count && outputDelta.rows == pass.samples && outputDelta.cols == architecture.classes)
        guard pass.samples > 0 else { return }
        theta.withUnsafeBufferPointer { th in
            grad.withUnsafeMutableBufferPointer { g in
                _ = NetworkProgram.backward(
                    program.nodes, caches: pass.caches, outputDelta, samples: pass.samples, theta: th.baseAddress!,
                    architecture: architecture, mode: .sum, lowest: lowest, needInput: false, grad: g.baseAddress!)
            }
        }
    }

    /// Sum over the rows of `x` of the element-wise squared per-row gradient of the cross-entropy loss (no L2 term):
    /// sum_i (grad_theta loss(theta, z_i))^2, the unnormalised diagonal of the empirical Fisher information. A dense
    /// layer's per-row gradient is the outer product delta_i a_i^T, so its squares sum to one GEMM (delta o
    /// delta)^T (A o A); a conv's per-sample gradient sums over positions and is formed sample by sample
    /// (`WeightProducts.accumulateSquaredGradient`).
    public func squaredGradientSum(_ x: Matrix, labels: [Int]) -> [Double] {
        precondition(labels.count == x.rows, "labels: \(labels.count), rows: \(x.rows)")
        var out = [Double](repeating: 0, count: theta.count)
        forEachChunk(x) { chunk, range in
            let pass = forward(chunk)
            let delta = Self.lossDelta(pass, labels: Array(labels[range]), classes: architecture.classes)
            theta.withUnsafeBufferPointer { th in
                out.withUnsafeMutableBufferPointer { g in
                    _ = NetworkProgram.backward(
                        program.nodes, caches: pass.caches, delta, samples: pass.samples, theta: th.baseAddress!,
                        architecture: architecture, mode: .squaredPerSample, lowest: 0, needInput: false, grad: g.baseAddress!)
                }
            }
        }
        return out
    }

    /// J v over one forward pass: the logits' directional derivatives (rows x classes) for the parameter direction
    /// `v` (full layout), reading only the parametric layers where `inBlock` holds.
    func directionalLogits(_ v: [Double], forward pass: ForwardPass, inBlock: (Int) -> Bool) -> Matrix {
        let r = theta.withUnsafeBufferPointer { th in
            v.withUnsafeBufferPointer { vp in
                NetworkProgram.directional(
                    program.nodes, caches: pass.caches, nil, samples: pass.samples, theta: th.baseAddress!, v: vp.baseAddress!,
                    architecture: architecture, inBlock: inBlock)
            }
        }
        return r ?? Matrix(rows: pass.samples, cols: architecture.classes)
    }

    /// Gradient of the objective F over the given rows: (1/n) sum of loss gradients + lambda * theta.
    public func objectiveGradient(_ x: Matrix, labels: [Int]) -> [Double] {
        objectiveGradientAndLogits(x, labels: labels).gradient
    }

    /// `objectiveGradient` and the rows' logits, from the same forward passes.
    func objectiveGradientAndLogits(_ x: Matrix, labels: [Int]) -> (gradient: [Double], logits: Matrix) {
        var (g, logits) = lossGradientSumAndLogits(x, labels: labels)
        if x.rows > 0 { Vector.scale(&g, by: 1 / Double(x.rows)) }
        Vector.axpy(lambda, theta, &g)
        return (g, logits)
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
