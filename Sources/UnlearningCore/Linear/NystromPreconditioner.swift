import COpenBLAS

/// A preconditioner for (A + mu I) x = b, A symmetric positive semi-definite and known only through products,
/// from a rank-l randomized Nyström approximation A ~ U diag(lambda) U^T (Frangella, Tropp & Udell 2023,
/// "Randomized Nyström preconditioning", SIAM J. Matrix Anal. Appl. 44(2): Algorithm 2.1 for the approximation,
/// equation (5.3) for the inverse preconditioner):
///
///     P^-1 = (lambda_l + mu) U (Lambda + mu I)^-1 U^T + (I - U U^T).
///
/// The paper shows the preconditioned system's condition number is bounded by a constant once l exceeds the
/// effective dimension of A at mu; where the spectrum decays slowly (MNIST logistic regression at lambda 0.01
/// keeps hundreds of eigenvalues above lambda) a practical l removes only the top of it (BENCHMARKS.md, newton
/// preconditioner section). mu is an argument of `apply`, so one approximation serves every shift.
///
/// U is kept in Float32: application reads it twice (U r, then U^T w), so its bytes are its cost, and P only has to
/// be symmetric positive definite, which rounding of the stored U at 1e-7 cannot break while
/// (lambda_l + mu) / (lambda_1 + mu) is far above that (checked on every application: `minimumSpectralRatio`).
public final class NystromPreconditioner: Sendable {
    public enum BuildError: Error, Equatable, CustomStringConvertible {
        /// The approximation found no positive eigenvalue (A v = 0 on the sketch: a zero operator).
        case zeroOperator
        /// LAPACK failed (the name of the routine and its info).
        case lapack(String, Int32)

        public var description: String {
            switch self {
            case .zeroOperator: "the operator is zero on the sketch; there is nothing to precondition"
            case .lapack(let routine, let info): "LAPACK \(routine) failed with info \(info)"
            }
        }
    }

    /// Length of the vectors.
    public let dimension: Int
    /// Eigenpairs kept (at most the requested rank).
    public let rank: Int
    /// The eigenvalues lambda_1 >= ... >= lambda_rank of the approximation.
    public let eigenvalues: [Double]
    /// U^T, rank x dimension row-major: row i is the eigenvector of `eigenvalues[i]`.
    let vectors: [Float]

    /// Smallest (lambda_rank + mu) / (lambda_1 + mu) at which `apply` is used; below it `apply` returns r unchanged
    /// (plain CG). P^-1 = I + U^T W U with w_i = ratio_i - 1 >= ratio - 1; the stored U~ = U + E has
    /// ||E||_2 <= ||E||_F <= 6e-8 sqrt(rank) (Float32 rounding of unit columns), so the smallest eigenvalue of the
    /// applied P^-1 is at least ratio - 2 ||E||_2 - ||E||_2^2: positive with a tenfold margin above this.
    var minimumSpectralRatio: Double { 2e-6 * Double(rank).squareRoot() }

    /// Bytes held: the Float32 eigenvectors and the Float64 eigenvalues.
    public var bytes: Int { vectors.count * MemoryLayout<Float>.size + eigenvalues.count * MemoryLayout<Double>.size }

    /// Bytes a preconditioner of `rank` over `dimension` holds (the test against a memory bound before building).
    public static func bytes(rank: Int, dimension: Int) -> Int {
        rank * dimension * MemoryLayout<Float>.size + rank * MemoryLayout<Double>.size
    }

    init(dimension: Int, eigenvalues: [Double], vectors: [Float]) {
        precondition(vectors.count == eigenvalues.count * dimension)
        self.dimension = dimension
        self.rank = eigenvalues.count
        self.eigenvalues = eigenvalues
        self.vectors = vectors
    }

    /// Builds the approximation from `rank` products with A (`apply`), Gaussian test vectors drawn from `seed`.
    /// Transient memory: about three rank x dimension Float64 matrices.
    public static func build(
        dimension d: Int, rank requested: Int, seed: UInt64, apply: ([Double]) -> [Double]
    ) throws(BuildError) -> NystromPreconditioner {
        precondition(d > 0 && requested > 0, "dimension and rank must be positive")
        let l = min(requested, d)
        // Omega: l x d row-major, which is the column-major d x l matrix LAPACK factors; orthonormal columns
        // (Algorithm 2.1, step 2) via QR.
        var rng = SeededGenerator(seed: seed)
        var omega = (0..<(l * d)).map { _ in rng.nextGaussian() }
        var tau = [Double](repeating: 0, count: l)
        var info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, Int32(d), Int32(l), &omega, Int32(d), &tau)
        guard info == 0 else { throw .lapack("dgeqrf", info) }
        info = LAPACKE_dorgqr(LAPACK_COL_MAJOR, Int32(d), Int32(l), Int32(l), &omega, Int32(d), &tau)
        guard info == 0 else { throw .lapack("dorgqr", info) }

        // Y = A Omega (step 3), row i = A omega_i; the shift nu = sqrt(d) eps ||Y||_F keeps the core positive
        // definite in rounding (step 4).
        var y = [Double](repeating: 0, count: l * d)
        for i in 0..<l {
            let column = Array(omega[(i * d)..<((i + 1) * d)])
            let product = apply(column)
            precondition(product.count == d, "the operator returned \(product.count) values for a vector of \(d)")
            for j in 0..<d { y[i * d + j] = product[j] }
        }
        let yNorm = Vector.norm(y)
        guard yNorm > 0, yNorm.isFinite else { throw .zeroOperator }
        let nu = Double(d).squareRoot() * Double.ulpOfOne * yNorm
        Vector.axpy(nu, omega, &y)

        // Core Omega^T Y_nu = C^T C (step 5): an l x l symmetric matrix; dpotrf on its upper triangle.
        var core = [Double](repeating: 0, count: l * l)
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, Int32(l), Int32(l), Int32(d), 1, omega, Int32(d), y, Int32(d), 0, &core, Int32(l))
        for i in 0..<l {
            for j in 0..<i {
                let mean = 0.5 * (core[i * l + j] + core[j * l + i])
                core[i * l + j] = mean
                core[j * l + i] = mean
            }
        }
        info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "U")), Int32(l), &core, Int32(l))
        guard info == 0 else { throw .lapack("dpotrf", info) }
        // B = Y_nu C^-1 (step 6), in place on the d x l column-major Y.
        cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, Int32(d), Int32(l), 1, core, Int32(l), &y, Int32(d))
        // Thin SVD B = U Sigma V^T (step 7): U overwrites B (jobu "O"); lambda = max(0, sigma^2 - nu) (step 8).
        var sigma = [Double](repeating: 0, count: l)
        var superb = [Double](repeating: 0, count: max(1, l - 1))
        var unusedU = [Double](repeating: 0, count: 1)
        var unusedVT = [Double](repeating: 0, count: 1)
        info = LAPACKE_dgesvd(
            LAPACK_COL_MAJOR, Int8(UInt8(ascii: "O")), Int8(UInt8(ascii: "N")), Int32(d), Int32(l), &y, Int32(d), &sigma,
            &unusedU, 1, &unusedVT, 1, &superb
        )
        guard info == 0 else { throw .lapack("dgesvd", info) }
        let eigenvalues = sigma.map { max(0, $0 * $0 - nu) }
        let kept = eigenvalues.prefix { $0 > 0 }.count
        guard kept > 0 else { throw .zeroOperator }
        return NystromPreconditioner(
            dimension: d, eigenvalues: Array(eigenvalues.prefix(kept)), vectors: y.prefix(kept * d).map(Float.init))
    }

    /// P^-1 r for the system (A + shift I) x = b, shift > 0: r + U^T (w * (U r)) with
    /// w_i = (lambda_l + shift) / (lambda_i + shift) - 1.
    public func apply(_ r: [Double], shift: Double) -> [Double] {
        precondition(r.count == dimension, "the preconditioner acts on \(dimension) values, not \(r.count)")
        let smallest = eigenvalues[rank - 1] + shift
        guard shift > 0, smallest / (eigenvalues[0] + shift) >= minimumSpectralRatio else { return r }
        let r32 = r.map(Float.init)
        var c = [Float](repeating: 0, count: rank)
        vectors.withUnsafeBufferPointer { u in
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rank), Int32(dimension), 1, u.baseAddress, Int32(dimension), r32, 1, 0, &c, 1)
        }
        for i in 0..<rank { c[i] *= Float(smallest / (eigenvalues[i] + shift) - 1) }
        var correction = [Float](repeating: 0, count: dimension)
        vectors.withUnsafeBufferPointer { u in
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(rank), Int32(dimension), 1, u.baseAddress, Int32(dimension), c, 1, 0, &correction, 1)
        }
        var y = r
        for j in 0..<dimension { y[j] += Double(correction[j]) }
        return y
    }
}
