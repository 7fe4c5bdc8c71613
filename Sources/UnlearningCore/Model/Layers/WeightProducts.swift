import COpenBLAS

/// The three GEMMs of a dense layer, shared by conv layers (a conv is a dense layer over im2col patches).
///
/// A layer's weights are read in place from the flat parameter vector: unit `u`'s `fanIn` weights start at
/// `w + u (fanIn + 1)` and its bias follows them, so W is row-major with leading dimension `fanIn + 1` and the
/// biases are the column at `w + fanIn` with stride `fanIn + 1` (docs/NETWORKS.md, "Parameters and slices").
enum WeightProducts {
    /// Z = A W^T + 1 b^T (rows x units), or Z += A W^T (no bias) when `accumulate`.
    static func forward(
        _ a: UnsafePointer<Double>, rows: Int, fanIn: Int, units: Int, weights w: UnsafePointer<Double>, bias: Bool = true,
        accumulate: Bool = false, into z: UnsafeMutablePointer<Double>
    ) {
        guard rows > 0 else { return }
        cblas_dgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(units), Int32(fanIn),
            1, a, Int32(fanIn), w, Int32(fanIn + 1), accumulate ? 1 : 0, z, Int32(units))
        if bias { addBias(w + fanIn, stride: fanIn + 1, rows: rows, units: units, into: z) }
    }

    /// Z += 1 b^T with b read at `b` with `stride`; row by row, so Z is walked once in memory order.
    static func addBias(_ b: UnsafePointer<Double>, stride: Int, rows: Int, units: Int, into z: UnsafeMutablePointer<Double>) {
        let bias = (0..<units).map { b[$0 * stride] }
        bias.withUnsafeBufferPointer { bp in
            var row = z
            for _ in 0..<rows {
                for u in 0..<units { row[u] += bp[u] }
                row += units
            }
        }
    }

    /// grad W += dZ^T A and grad b += dZ^T 1, in the layer's layout at `g`.
    static func accumulateGradient(
        _ dz: UnsafePointer<Double>, _ a: UnsafePointer<Double>, rows: Int, fanIn: Int, units: Int,
        into g: UnsafeMutablePointer<Double>
    ) {
        guard rows > 0 else { return }
        cblas_dgemm(
            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(units), Int32(fanIn), Int32(rows),
            1, dz, Int32(units), a, Int32(fanIn), 1, g, Int32(fanIn + 1))
        var sums = [Double](repeating: 0, count: units)
        sums.withUnsafeMutableBufferPointer { sp in
            var row = dz
            for _ in 0..<rows {
                for u in 0..<units { sp[u] += row[u] }
                row += units
            }
        }
        for u in 0..<units { g[u * (fanIn + 1) + fanIn] += sums[u] }
    }

    /// dA = dZ W (rows x fanIn).
    static func inputGradient(
        _ dz: UnsafePointer<Double>, rows: Int, fanIn: Int, units: Int, weights w: UnsafePointer<Double>,
        into da: UnsafeMutablePointer<Double>
    ) {
        guard rows > 0 else { return }
        cblas_dgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(fanIn), Int32(units),
            1, dz, Int32(units), w, Int32(fanIn + 1), 0, da, Int32(fanIn))
    }

    /// Adds, for every sample, the element-wise square of that sample's gradient: the sample owns `perSample`
    /// consecutive rows of dZ and A (its positions), its gradient is dZ_i^T A_i (weights) and dZ_i^T 1 (bias).
    /// With one row per sample the squares sum to (dZ o dZ)^T (A o A): one GEMM, no loop over samples.
    static func accumulateSquaredGradient(
        _ dz: UnsafePointer<Double>, _ a: UnsafePointer<Double>, samples: Int, perSample: Int, fanIn: Int, units: Int,
        into g: UnsafeMutablePointer<Double>
    ) {
        let rows = samples * perSample
        guard rows > 0 else { return }
        if perSample == 1 {
            let dz2 = (0..<(rows * units)).map { dz[$0] * dz[$0] }
            let a2 = (0..<(rows * fanIn)).map { a[$0] * a[$0] }
            accumulateGradient(dz2, a2, rows: rows, fanIn: fanIn, units: units, into: g)
            return
        }
        var gi = [Double](repeating: 0, count: units * (fanIn + 1))
        for i in 0..<samples {
            for k in gi.indices { gi[k] = 0 }
            accumulateGradient(dz + i * perSample * units, a + i * perSample * fanIn, rows: perSample, fanIn: fanIn, units: units, into: &gi)
            for k in gi.indices { g[k] += gi[k] * gi[k] }
        }
    }
}
