import COpenBLAS

/// The mean generalised Gauss-Newton matrix G/n = (1/n) sum_i J_i^T H_z,i J_i of a network over a set of rows, at
/// fixed parameters, applied to vectors without ever forming it. Optionally restricted to a block of slices:
/// then it is the block's principal submatrix, acting on vectors concatenated over the slices in order.
///
/// J_i = d logits_i / d theta and H_z,i = diag(p_i) - p_i p_i^T is the Hessian of softmax cross-entropy in the
/// logits. For dense stacks this is the matrix `Network.hessianBlock` forms densely: the exact loss Hessian for logistic regression and
/// for the output layer (the logits are linear in its parameters), the Gauss-Newton matrix for hidden layers
/// (positive semi-definite; it drops the network's second-derivative term). No lambda I: callers add the shift.
///
/// A product is two passes over the rows (Schraudolph 2002, "Fast curvature matrix-vector products for
/// second-order gradient descent", section 3; Pearlmutter 1994, "Fast exact multiplication by the Hessian", the
/// R-operator; Martens 2010, "Deep learning via Hessian-free optimization", section 4.2):
/// 1. forward-mode directional derivatives, J v (`NetworkProgram.directional`): R(Z_l) = R(A_{l-1}) W_l^T +
///    A_{l-1} V_l^T + 1 v_b,l^T through each parametric layer, every other layer's Jacobian applied to R(A), from
///    R(A) = 0 below the block's lowest layer;
/// 2. u = H_z (J v) row by row: p * Jv - p (p . Jv);
/// 3. J^T u by backpropagation (`Network.backpropagate`), down to the block's lowest layer.
/// Each parametric layer costs three GEMMs of the forward pass's size; the forward pass itself is computed once, at
/// construction, and reused by every product (conjugate gradients calls it tens of times at one theta).
///
/// With `precision: .single` and a block in the output layer (all of logistic regression), the products run the
/// two GEMMs in Float32 over the nonzero columns (`OutputLayerRows`, which says why and how accurate).
public struct GaussNewtonOperator: Sendable {
    public enum Precision: Sendable, Equatable {
        /// Every product in Float64.
        case double
        /// Float32 GEMMs where the block lies in the output layer; Float64 elsewhere.
        case single
    }

    public let model: Network
    /// The block, or nil for every parameter.
    public let slices: [Slice]?
    /// Length of the vectors the operator acts on (the block size, or the parameter count).
    public let dimension: Int
    /// Rows the mean is over.
    public let rows: Int
    let chunks: [ForwardPass]
    let lowestLayer: Int
    /// Layers with at least one parameter in the block (the others have V_l = 0 and skip their GEMM).
    let layersInBlock: Set<Int>
    /// The chunks' rows in single precision, when the products use them.
    let singleChunks: [OutputLayerRows]?

    /// Precomputes the forward pass over `x` in chunks of at most `maxChunkRows` rows.
    public init(model: Network, rows x: Matrix, slices: [Slice]? = nil, maxChunkRows: Int = 2048, precision: Precision = .double) {
        precondition(maxChunkRows > 0, "maxChunkRows must be positive")
        self.model = model
        self.slices = slices
        self.rows = x.rows
        let arch = model.architecture
        self.dimension = slices.map { model.blockSize($0) } ?? model.parameterCount
        self.lowestLayer = slices?.map(\.layer).min() ?? 0
        self.layersInBlock = slices.map { Set($0.map(\.layer)) } ?? Set(arch.parametricLayers.indices)
        var chunks: [ForwardPass] = []
        let chunkRows = min(maxChunkRows, model.rowsPerChunk)
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + chunkRows)
            let chunk = start == 0 && end == x.rows ? x : x.selectingRows(start..<end)
            chunks.append(model.forward(chunk))
            start = end
        }
        self.chunks = chunks
        let last = arch.parametricLayers.count - 1
        if precision == .single && lowestLayer == last {
            singleChunks = chunks.map { pass in
                OutputLayerRows(input: pass.layerInputs[last], probabilities: pass.probabilities)
            }
        } else {
            singleChunks = nil
        }
    }

    /// The operator over every parameter at the model of `pass`, a forward pass over all the rows already computed
    /// (Newton's method has it from evaluating F and grad F), so no pass is repeated. With `precision: .single`,
    /// `previous`'s Float32 rows are reused when it was built over the same rows with the same count (the caller's
    /// promise: only the probabilities change from one Newton step to the next), which skips their conversion.
    init(model: Network, forward pass: ForwardPass, precision: Precision, reusingRowsOf previous: GaussNewtonOperator? = nil) {
        self.model = model
        self.slices = nil
        self.rows = pass.samples
        let arch = model.architecture
        self.dimension = model.parameterCount
        self.lowestLayer = 0
        self.layersInBlock = Set(arch.parametricLayers.indices)
        self.chunks = pass.samples > 0 ? [pass] : []
        let last = arch.parametricLayers.count - 1
        if precision == .single && last == 0 && pass.samples > 0 {
            // Chunks of at most 2048 rows, as the other initialiser makes them: the Float32 GEMMs accumulate over
            // no more rows than `OutputLayerRows` states its accuracy for.
            let ranges = stride(from: 0, to: pass.samples, by: 2048).map { $0..<min(pass.samples, $0 + 2048) }
            func probabilities(_ r: Range<Int>) -> Matrix {
                ranges.count == 1 ? pass.probabilities : pass.probabilities.selectingRows(r)
            }
            if let reused = previous?.singleChunks, reused.map(\.rows) == ranges.map(\.count) {
                singleChunks = zip(reused, ranges).map { $0.with(probabilities: probabilities($1)) }
            } else {
                singleChunks = ranges.map { r in
                    OutputLayerRows(
                        input: ranges.count == 1 ? pass.layerInputs[last] : pass.layerInputs[last].selectingRows(r),
                        probabilities: probabilities(r))
                }
            }
        } else {
            singleChunks = nil
        }
    }

    /// Whether the products run in Float32 (`precision: .single` with a block in the output layer).
    public var isSinglePrecision: Bool { singleChunks != nil }

    /// (G/n) v for v of length `dimension` (block coordinates when restricted).
    public func apply(_ v: [Double]) -> [Double] {
        precondition(v.count == dimension, "vector has \(v.count) entries, the operator acts on \(dimension)")
        guard rows > 0, dimension > 0 else { return [Double](repeating: 0, count: dimension) }
        let full = slices.map { scatter(v, $0) } ?? v
        var out = [Double](repeating: 0, count: model.parameterCount)
        if let singleChunks {
            let arch = model.architecture
            let last = arch.parametricLayers.count - 1
            full.withUnsafeBufferPointer { v in
                for chunk in singleChunks {
                    chunk.accumulateProduct(
                        v, offset: arch.parameterOffset(ofLayer: last), fanIn: arch.fanIn(last), units: arch.parametricLayers[last].units, into: &out)
                }
            }
            Vector.scale(&out, by: 1 / Double(rows))
            return slices.map { model.gather(out, slices: $0) } ?? out
        }
        for pass in chunks {
            var u = model.directionalLogits(full, forward: pass, inBlock: layersInBlock.contains)
            Self.multiplyBySoftmaxHessian(&u, probabilities: pass.probabilities)
            model.backpropagate(u, forward: pass, downTo: lowestLayer, into: &out)
        }
        Vector.scale(&out, by: 1 / Double(rows))
        return slices.map { model.gather(out, slices: $0) } ?? out
    }

    /// The diagonal of G/n, when the block lies in the output layer (every parameter of logistic regression);
    /// nil when it reaches a hidden layer, whose Gauss-Newton diagonal needs a backward pass per class.
    ///
    /// The logits are linear in the output layer's parameters, z_ik = w_k . a_i + b_k, so J_i restricted to unit k
    /// is e_k a_i^T (and e_k for the bias) and the diagonal of J_i^T H_z,i J_i is H_z,i[k, k] = p_ik (1 - p_ik)
    /// times a_ij^2 (times 1 for the bias): G_(k,j),(k,j) / n = (1/n) sum_i p_ik (1 - p_ik) a_ij^2 and
    /// G_(k,b),(k,b) / n = (1/n) sum_i p_ik (1 - p_ik), with a = x for logistic regression. The preconditioner of
    /// `ConjugateGradient.solve` (Jacobi); one pass over the rows, about the cost of one product.
    public func diagonal() -> [Double]? {
        let arch = model.architecture
        let last = arch.parametricLayers.count - 1
        guard lowestLayer == last else { return nil }
        let fanIn = arch.fanIn(last)
        let units = arch.parametricLayers[last].units
        // sums[j * units + k] = sum_i a_ij^2 p_ik (1 - p_ik) for j < fanIn; row fanIn holds the biases' sums.
        var sums = Matrix(rows: fanIn + 1, cols: units)
        for pass in chunks {
            let n = pass.samples
            var weights = pass.probabilities
            for i in weights.storage.indices { weights.storage[i] *= 1 - weights.storage[i] }
            var squared = pass.layerInputs[last]
            for i in squared.storage.indices { squared.storage[i] *= squared.storage[i] }
            // (A o A)^T W accumulated into the first fanIn rows of sums: one GEMM, the rows read once.
            squared.storage.withUnsafeBufferPointer { a in
                weights.storage.withUnsafeBufferPointer { w in
                    sums.storage.withUnsafeMutableBufferPointer { out in
                        cblas_dgemm(
                            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(fanIn), Int32(units), Int32(n),
                            1, a.baseAddress, Int32(fanIn), w.baseAddress, Int32(units), 1, out.baseAddress, Int32(units)
                        )
                    }
                }
            }
            let biasSums = weights.columnSums()
            for k in 0..<units { sums[fanIn, k] += biasSums[k] }
        }
        // Into the parameter layout: unit k's weights then its bias, [W_k, b_k], at the layer's offset.
        let offset = arch.parameterOffset(ofLayer: last)
        var full = [Double](repeating: 0, count: model.parameterCount)
        let scale = rows > 0 ? 1 / Double(rows) : 0
        for k in 0..<units {
            for j in 0...fanIn { full[offset + k * (fanIn + 1) + j] = sums[j, k] * scale }
        }
        return slices.map { model.gather(full, slices: $0) } ?? full
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
