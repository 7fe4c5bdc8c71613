import COpenBLAS

/// The rows of a `GaussNewtonOperator` chunk as its single-precision products read them: the output layer's
/// input A (the features for logistic regression, the last hidden activations for an MLP) in Float32, restricted
/// to the columns that are not zero in every row, and the Float64 softmax probabilities.
///
/// Why: a product with logistic regression reads the n x d rows twice (A V^T and U^T A) for 10 columns of work
/// each, so it is bound by moving A, not by arithmetic; Float32 halves the bytes and sgemm's packing, and columns
/// that are zero in every row (constant pixels after standardisation) are dropped outright, which changes no
/// product. The products are then accurate to Float32 rounding, about 1e-6 relative, two orders below the 1e-4
/// relative residual conjugate gradients is asked for; F and grad F, and so the stopping rule of Newton's method
/// and the residual bound, stay in Float64 (`ResidualNewton`). Both GEMMs accumulate in Float32 over at most
/// `maxChunkRows` rows or d columns; the softmax Hessian step and the bias sums run in Float64.
struct OutputLayerRows: Sendable {
    let rows: Int
    /// Columns of A kept (those with a nonzero entry), ascending.
    let columns: [Int]
    /// A restricted to `columns`, row-major, rows x columns.count.
    let input: [Float]
    let probabilities: Matrix

    init(input a: Matrix, probabilities: Matrix) {
        rows = a.rows
        var nonzero = [Bool](repeating: false, count: a.cols)
        a.storage.withUnsafeBufferPointer { ap in
            for i in 0..<a.rows {
                for j in 0..<a.cols where ap[i * a.cols + j] != 0 { nonzero[j] = true }
            }
        }
        let columns = nonzero.indices.filter { nonzero[$0] }
        var input = [Float](repeating: 0, count: a.rows * columns.count)
        a.storage.withUnsafeBufferPointer { ap in
            for i in 0..<a.rows {
                for (c, j) in columns.enumerated() { input[i * columns.count + c] = Float(ap[i * a.cols + j]) }
            }
        }
        self.columns = columns
        self.input = input
        self.probabilities = probabilities
    }

    init(columns: [Int], input: [Float], rows: Int, probabilities: Matrix) {
        self.rows = rows
        self.columns = columns
        self.input = input
        self.probabilities = probabilities
    }

    /// The same rows at other probabilities (another theta): the Float32 copy is shared, not converted again.
    func with(probabilities: Matrix) -> OutputLayerRows {
        precondition(probabilities.rows == rows, "probabilities for \(probabilities.rows) rows, the chunk has \(rows)")
        return OutputLayerRows(columns: columns, input: input, rows: rows, probabilities: probabilities)
    }

    /// Adds J^T H_z J v over these rows to `out` (full parameter layout), for v and out in the output layer's
    /// coordinates: unit k's weights at `offset + k (fanIn + 1)`, its bias after them.
    func accumulateProduct(_ v: UnsafeBufferPointer<Double>, offset: Int, fanIn: Int, units: Int, into out: inout [Double]) {
        let c = columns.count
        let width = fanIn + 1
        // V restricted to the kept columns, units x c, in Float32.
        var vKept = [Float](repeating: 0, count: units * c)
        for k in 0..<units {
            for (m, j) in columns.enumerated() { vKept[k * c + m] = Float(v[offset + k * width + j]) }
        }
        // J v = A V^T + 1 b^T (rows x units): the GEMM in Float32, the rest in Float64.
        var z32 = [Float](repeating: 0, count: rows * units)
        if c > 0 {
            input.withUnsafeBufferPointer { a in
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(units), Int32(c),
                    1, a.baseAddress, Int32(c), vKept, Int32(c), 0, &z32, Int32(units)
                )
            }
        }
        var u = Matrix(rows: rows, cols: units)
        for i in 0..<rows {
            for k in 0..<units { u.storage[i * units + k] = Double(z32[i * units + k]) + v[offset + k * width + fanIn] }
        }
        GaussNewtonOperator.multiplyBySoftmaxHessian(&u, probabilities: probabilities)
        // J^T u: the biases' column sums in Float64, U^T A in Float32.
        let biasSums = u.columnSums()
        for k in 0..<units { out[offset + k * width + fanIn] += biasSums[k] }
        guard c > 0 else { return }
        let u32 = u.storage.map(Float.init)
        var g32 = [Float](repeating: 0, count: units * c)
        input.withUnsafeBufferPointer { a in
            cblas_sgemm(
                CblasRowMajor, CblasTrans, CblasNoTrans, Int32(units), Int32(c), Int32(rows),
                1, u32, Int32(units), a.baseAddress, Int32(c), 0, &g32, Int32(c)
            )
        }
        for k in 0..<units {
            for (m, j) in columns.enumerated() { out[offset + k * width + j] += Double(g32[k * c + m]) }
        }
    }
}
