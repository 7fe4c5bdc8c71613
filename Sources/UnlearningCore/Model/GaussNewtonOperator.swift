import COpenBLAS

/// The mean generalised Gauss-Newton matrix G/n = (1/n) sum_i J_i^T H_z,i J_i of an MLP over a set of rows, at
/// fixed parameters, applied to vectors without ever forming it. Optionally restricted to a block of slices:
/// then it is the block's principal submatrix, acting on vectors concatenated over the slices in order.
///
/// J_i = d logits_i / d theta and H_z,i = diag(p_i) - p_i p_i^T is the Hessian of softmax cross-entropy in the
/// logits. This is the matrix `MLP.hessianBlock` forms densely: the exact loss Hessian for logistic regression and
/// for the output layer (the logits are linear in its parameters), the Gauss-Newton matrix for hidden layers
/// (positive semi-definite; it drops the network's second-derivative term). No lambda I: callers add the shift.
///
/// A product is two passes over the rows (Schraudolph 2002, "Fast curvature matrix-vector products for
/// second-order gradient descent", section 3; Pearlmutter 1994, "Fast exact multiplication by the Hessian", the
/// R-operator; Martens 2010, "Deep learning via Hessian-free optimization", section 4.2):
/// 1. forward-mode directional derivatives, J v: R(Z_l) = R(A_{l-1}) W_l^T + A_{l-1} V_l^T + 1 v_b,l^T and
///    R(A_l) = act'(Z_l) * R(Z_l), from R(A) = 0 below the block's lowest layer;
/// 2. u = H_z (J v) row by row: p * Jv - p (p . Jv);
/// 3. J^T u by backpropagation (`MLP.backpropagate`), down to the block's lowest layer.
/// Each layer costs three GEMMs of the forward pass's size; the forward pass itself is computed once, at
/// construction, and reused by every product (conjugate gradients calls it tens of times at one theta).
public struct GaussNewtonOperator: Sendable {
    public let model: MLP
    /// The block, or nil for every parameter.
    public let slices: [Slice]?
    /// Length of the vectors the operator acts on (the block size, or the parameter count).
    public let dimension: Int
    /// Rows the mean is over.
    public let rows: Int
    let chunks: [(x: Matrix, pass: ForwardPass)]
    let lowestLayer: Int
    /// Layers with at least one parameter in the block (the others have V_l = 0 and skip their GEMM).
    let layersInBlock: Set<Int>

    /// Precomputes the forward pass over `x` in chunks of at most `maxChunkRows` rows.
    public init(model: MLP, rows x: Matrix, slices: [Slice]? = nil, maxChunkRows: Int = 2048) {
        precondition(maxChunkRows > 0, "maxChunkRows must be positive")
        self.model = model
        self.slices = slices
        self.rows = x.rows
        let arch = model.architecture
        self.dimension = slices.map { model.blockSize($0) } ?? model.parameterCount
        self.lowestLayer = slices?.map(\.layer).min() ?? 0
        self.layersInBlock = slices.map { Set($0.map(\.layer)) } ?? Set(arch.layers.indices)
        var chunks: [(x: Matrix, pass: ForwardPass)] = []
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + maxChunkRows)
            let chunk = start == 0 && end == x.rows ? x : x.selectingRows(start..<end)
            chunks.append((chunk, model.forward(chunk)))
            start = end
        }
        self.chunks = chunks
    }

    /// (G/n) v for v of length `dimension` (block coordinates when restricted).
    public func apply(_ v: [Double]) -> [Double] {
        precondition(v.count == dimension, "vector has \(v.count) entries, the operator acts on \(dimension)")
        guard rows > 0, dimension > 0 else { return [Double](repeating: 0, count: dimension) }
        let full = slices.map { scatter(v, $0) } ?? v
        var out = [Double](repeating: 0, count: model.parameterCount)
        for chunk in chunks {
            var u = directionalLogits(full, chunk.x, chunk.pass)
            Self.multiplyBySoftmaxHessian(&u, probabilities: chunk.pass.probabilities)
            model.backpropagate(u, forward: chunk.pass, input: chunk.x, downTo: lowestLayer, into: &out)
        }
        Vector.scale(&out, by: 1 / Double(rows))
        return slices.map { model.gather(out, slices: $0) } ?? out
    }

    /// J v over one chunk: the logits' directional derivatives (rows x classes), by the R-operator forward pass.
    func directionalLogits(_ v: [Double], _ x: Matrix, _ pass: ForwardPass) -> Matrix {
        let arch = model.architecture
        let n = x.rows
        var rInput: Matrix?  // R(A_{l-1}); nil while it is zero
        var rz = Matrix(rows: n, cols: 0)
        v.withUnsafeBufferPointer { vp in
            model.theta.withUnsafeBufferPointer { th in
                for l in lowestLayer..<arch.layers.count {
                    let fanIn = arch.fanIn(l)
                    let units = arch.layers[l].units
                    let offset = arch.parameterOffset(ofLayer: l)
                    rz = Matrix(rows: n, cols: units)
                    var beta = 0.0
                    rz.storage.withUnsafeMutableBufferPointer { zp in
                        if let rInput {
                            // R(A_{l-1}) W_l^T
                            rInput.storage.withUnsafeBufferPointer { ra in
                                cblas_dgemm(
                                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(units), Int32(fanIn),
                                    1, ra.baseAddress, Int32(fanIn), th.baseAddress! + offset, Int32(fanIn + 1),
                                    0, zp.baseAddress, Int32(units)
                                )
                            }
                            beta = 1
                        }
                        if layersInBlock.contains(l) {
                            // + A_{l-1} V_l^T, V_l read in place like W_l
                            let input = l == 0 ? x : pass.activations[l - 1]
                            input.storage.withUnsafeBufferPointer { a in
                                cblas_dgemm(
                                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(units), Int32(fanIn),
                                    1, a.baseAddress, Int32(fanIn), vp.baseAddress! + offset, Int32(fanIn + 1),
                                    beta, zp.baseAddress, Int32(units)
                                )
                            }
                        }
                    }
                    if layersInBlock.contains(l) {
                        rz.addToEachRow(
                            UnsafeBufferPointer(start: vp.baseAddress! + offset + fanIn, count: (units - 1) * (fanIn + 1) + 1),
                            stride: fanIn + 1
                        )
                    }
                    if l < arch.layers.count - 1 {
                        arch.layers[l].activation.multiplyByDerivative(
                            &rz.storage, preActivation: pass.preActivations[l].storage, activation: pass.activations[l].storage
                        )
                        rInput = rz
                    }
                }
            }
        }
        return rz
    }

    /// u_i <- H_z,i u_i = p_i * u_i - p_i (p_i . u_i) for every row i.
    static func multiplyBySoftmaxHessian(_ u: inout Matrix, probabilities p: Matrix) {
        let k = u.cols
        u.storage.withUnsafeMutableBufferPointer { up in
            p.storage.withUnsafeBufferPointer { pp in
                for i in 0..<u.rows {
                    var dot = 0.0
                    for j in 0..<k { dot += pp[i * k + j] * up[i * k + j] }
                    for j in 0..<k { up[i * k + j] = pp[i * k + j] * (up[i * k + j] - dot) }
                }
            }
        }
    }

    func scatter(_ block: [Double], _ slices: [Slice]) -> [Double] {
        var full = [Double](repeating: 0, count: model.parameterCount)
        var k = 0
        for s in slices {
            for p in model.architecture.parameterRange(of: s) {
                full[p] = block[k]
                k += 1
            }
        }
        return full
    }
}
