import COpenBLAS

/// Solves symmetric positive definite systems with LAPACK's Cholesky factorisation (dpotrf + dpotrs).
public enum Cholesky {
    /// The outcome of a damped solve.
    public struct Solution: Sendable {
        public var x: [Double]
        /// Damping mu added to the diagonal to make the matrix positive definite (0 when none was needed).
        public var damping: Double
        /// Number of factorisation attempts.
        public var attempts: Int
    }

    public struct NotPositiveDefinite: Error, CustomStringConvertible {
        public var description: String
    }

    /// Solves (A + mu I) x = b for symmetric A, of which only the upper triangle (row-major: a[i, j] with j >= i)
    /// is read. Starts with mu = 0 and, while dpotrf reports a non-positive pivot, retries with
    /// mu = 1e-10 * mean|diag|, multiplied by 10 each time (Nocedal & Wright, section 3.4, "modified Cholesky by
    /// adding a multiple of the identity").
    public static func solve(_ a: Matrix, _ b: [Double], maxAttempts: Int = 16) throws -> Solution {
        precondition(a.rows == a.cols && a.rows == b.count, "Cholesky.solve: shapes differ")
        let n = a.rows
        if n == 0 { return Solution(x: [], damping: 0, attempts: 0) }
        let meanDiagonal = (0..<n).reduce(0.0) { $0 + abs(a[$1, $1]) } / Double(n)
        var mu = 0.0
        for attempt in 1...maxAttempts {
            var factor = a
            if mu > 0 { for i in 0..<n { factor[i, i] += mu } }
            // A is symmetric, so its row-major storage read column-major is A itself: factor the lower triangle
            // column-major (LAPACK's native order), which LAPACKE passes through without the transposed copies
            // it makes for LAPACK_ROW_MAJOR.
            let info = factor.storage.withUnsafeMutableBufferPointer {
                LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), $0.baseAddress, Int32(n))
            }
            if info == 0 {
                var x = b
                let solveInfo = factor.storage.withUnsafeBufferPointer { f in
                    x.withUnsafeMutableBufferPointer { xp in
                        LAPACKE_dpotrs(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), 1, f.baseAddress, Int32(n), xp.baseAddress, Int32(n))
                    }
                }
                precondition(solveInfo == 0, "dpotrs failed with info \(solveInfo) after a successful dpotrf")
                return Solution(x: x, damping: mu, attempts: attempt)
            }
            precondition(info > 0, "dpotrf argument error \(info)")
            mu = mu == 0 ? max(1e-10 * meanDiagonal, 1e-300) : mu * 10
        }
        throw NotPositiveDefinite(description: "matrix of order \(n) is not positive definite even with damping \(mu)")
    }
}
