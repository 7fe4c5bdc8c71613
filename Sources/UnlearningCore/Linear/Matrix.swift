import COpenBLAS

/// A dense row-major matrix of `Double` backed by a contiguous array, with the few BLAS-backed operations
/// the model and the unlearning update need.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    /// Row-major: element (i, j) is `storage[i * cols + j]`.
    public var storage: [Double]

    public init(rows: Int, cols: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && cols >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.cols = cols
        self.storage = [Double](repeating: value, count: rows * cols)
    }

    public init(rows: Int, cols: Int, storage: [Double]) {
        precondition(storage.count == rows * cols, "storage has \(storage.count) elements, expected \(rows * cols)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// The n x n identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m.storage[i * n + i] = 1 }
        return m
    }

    @inline(__always)
    public subscript(i: Int, j: Int) -> Double {
        get { storage[i * cols + j] }
        set { storage[i * cols + j] = newValue }
    }

    /// A copy of row `i`.
    public func row(_ i: Int) -> [Double] {
        Array(storage[(i * cols)..<((i + 1) * cols)])
    }

    /// The rows at `indices`, in that order.
    public func selectingRows(_ indices: some Collection<Int>) -> Matrix {
        var out = Matrix(rows: indices.count, cols: cols)
        out.storage.withUnsafeMutableBufferPointer { dst in
            storage.withUnsafeBufferPointer { src in
                var r = 0
                for i in indices {
                    precondition(i >= 0 && i < rows, "row index \(i) out of range 0..<\(rows)")
                    (dst.baseAddress! + r * cols).update(from: src.baseAddress! + i * cols, count: cols)
                    r += 1
                }
            }
        }
        return out
    }

    public var transposed: Matrix {
        var out = Matrix(rows: cols, cols: rows)
        for i in 0..<rows {
            for j in 0..<cols {
                out.storage[j * rows + i] = storage[i * cols + j]
            }
        }
        return out
    }
}

extension Matrix {
    /// `C = alpha * op(A) * op(B) + beta * C` (BLAS dgemm, row-major).
    public static func gemm(
        _ a: Matrix, transposeA: Bool = false,
        _ b: Matrix, transposeB: Bool = false,
        alpha: Double = 1, beta: Double = 0, into c: inout Matrix
    ) {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "gemm inner dimensions differ: \(k) vs \(kb)")
        precondition(c.rows == m && c.cols == n, "gemm output is \(c.rows)x\(c.cols), expected \(m)x\(n)")
        if m == 0 || n == 0 { return }
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                c.storage.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(
                        CblasRowMajor,
                        transposeA ? CblasTrans : CblasNoTrans,
                        transposeB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k),
                        alpha, pa.baseAddress, Int32(max(a.cols, 1)),
                        pb.baseAddress, Int32(max(b.cols, 1)),
                        beta, pc.baseAddress, Int32(max(n, 1))
                    )
                }
            }
        }
    }

    /// `op(A) * op(B)` as a new matrix.
    public static func product(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false) -> Matrix {
        var c = Matrix(rows: transposeA ? a.cols : a.rows, cols: transposeB ? b.rows : b.cols)
        gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: &c)
        return c
    }

    /// `C = alpha * A^T A + beta * C` on the upper triangle, then mirrored (BLAS dsyrk).
    public static func gram(_ a: Matrix, alpha: Double = 1, beta: Double = 0, into c: inout Matrix, mirror: Bool = true) {
        precondition(c.rows == a.cols && c.cols == a.cols, "gram output must be \(a.cols)x\(a.cols)")
        if a.cols == 0 { return }
        a.storage.withUnsafeBufferPointer { pa in
            c.storage.withUnsafeMutableBufferPointer { pc in
                cblas_dsyrk(
                    CblasRowMajor, CblasUpper, CblasTrans,
                    Int32(a.cols), Int32(a.rows), alpha, pa.baseAddress, Int32(max(a.cols, 1)),
                    beta, pc.baseAddress, Int32(a.cols)
                )
            }
        }
        if mirror { c.symmetrizeFromUpper() }
    }

    /// Copies the upper triangle onto the lower one.
    public mutating func symmetrizeFromUpper() {
        precondition(rows == cols)
        let n = rows
        storage.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                for j in (i + 1)..<max(n, i + 1) {
                    p[j * n + i] = p[i * n + j]
                }
            }
        }
    }

    /// `self += alpha * other` (BLAS daxpy).
    public mutating func add(_ other: Matrix, scaledBy alpha: Double = 1) {
        precondition(rows == other.rows && cols == other.cols, "add: shapes differ")
        Vector.axpy(alpha, other.storage, &storage)
    }

    /// `self *= alpha` (BLAS dscal).
    public mutating func scale(by alpha: Double) {
        Vector.scale(&storage, by: alpha)
    }

    /// Adds `vector` to every row (BLAS dger with a vector of ones).
    public mutating func addToEachRow(_ vector: UnsafeBufferPointer<Double>, stride: Int = 1) {
        precondition(vector.count >= (cols - 1) * stride + 1 || cols == 0)
        if rows == 0 || cols == 0 { return }
        let ones = [Double](repeating: 1, count: rows)
        storage.withUnsafeMutableBufferPointer { pc in
            cblas_dger(
                CblasRowMajor, Int32(rows), Int32(cols), 1, ones, 1,
                vector.baseAddress, Int32(stride), pc.baseAddress, Int32(cols)
            )
        }
    }

    /// Sums of each column (BLAS dgemv with a vector of ones).
    public func columnSums() -> [Double] {
        var out = [Double](repeating: 0, count: cols)
        if rows == 0 || cols == 0 { return out }
        let ones = [Double](repeating: 1, count: rows)
        storage.withUnsafeBufferPointer { pa in
            cblas_dgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(cols), 1, pa.baseAddress, Int32(cols), ones, 1, 0, &out, 1)
        }
        return out
    }
}
