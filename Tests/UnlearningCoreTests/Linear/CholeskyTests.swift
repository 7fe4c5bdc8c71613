import TestSupport
import Testing

@testable import UnlearningCore

/// Cholesky.solve against an independent computation: the residual A x - b evaluated with plain loops, which
/// share nothing with LAPACK's factorisation.
@Suite("Cholesky solve", .computeBound)
struct CholeskyTests {
    /// A = M M^T + shift I for a seeded Gaussian M (n x n): symmetric, positive definite when shift > 0.
    static func spd(_ n: Int, shift: Double, seed: UInt64) -> Matrix {
        var rng = SeededGenerator(seed: seed)
        let m = Matrix(rows: n, cols: n, storage: (0..<(n * n)).map { _ in rng.nextGaussian() })
        var a = Matrix.product(m, m, transposeB: true)
        for i in 0..<n { a[i, i] += shift }
        return a
    }

    /// max_i |(A x - b)_i| / max_i |b_i|, with (A + mu I) when damping was added.
    static func relativeResidual(_ a: Matrix, _ x: [Double], _ b: [Double], mu: Double = 0) -> Double {
        var worst = 0.0
        for i in 0..<a.rows {
            var sum = mu * x[i]
            for j in 0..<a.cols { sum += a[i, j] * x[j] }
            worst = max(worst, abs(sum - b[i]))
        }
        return worst / b.map(abs).max()!
    }

    @Test("solves SPD systems of order 1 to 600 to a relative residual below 1e-10, without damping", arguments: [1, 2, 7, 64, 255, 600])
    func solves(n: Int) throws {
        let a = Self.spd(n, shift: 1, seed: UInt64(n))
        var rng = SeededGenerator(seed: 99)
        let b = (0..<n).map { _ in rng.nextGaussian() }
        let solution = try Cholesky.solve(a, b)
        #expect(solution.damping == 0 && solution.attempts == 1)
        #expect(Self.relativeResidual(a, solution.x, b) < 1e-10)
    }

    // The contract: only the upper triangle is read. Garbage below the diagonal must not change x.
    @Test("only the upper triangle is read")
    func upperTriangleOnly() throws {
        let n = 40
        let a = Self.spd(n, shift: 1, seed: 3)
        var junk = a
        for i in 0..<n { for j in 0..<i { junk[i, j] = 1e6 * Double(i - j) } }
        let b = (0..<n).map { Double($0 % 7) - 3 }
        let x = try Cholesky.solve(a, b).x
        #expect(try Cholesky.solve(junk, b).x == x)
        #expect(Self.relativeResidual(a, x, b) < 1e-10)
    }

    // An indefinite matrix (eigenvalues about 2, 1 and -0.5) fails dpotrf; the solve retries with mu = 1e-10 *
    // mean|diag| = 1.1667e-10, times 10 per attempt, until A + mu I factors: mu = 0.11667 (attempt 11) is still
    // too small, mu = 1.1667 (attempt 12) works. The answer then solves the damped system.
    @Test("an indefinite matrix is damped until it factors, and x solves the damped system")
    func damping() throws {
        let a = Matrix(rows: 3, cols: 3, storage: [2, 0.1, 0, 0.1, 1, 0.05, 0, 0.05, -0.5])
        let b = [1.0, -2, 0.5]
        let solution = try Cholesky.solve(a, b)
        #expect(abs(solution.damping - 3.5 / 3) < 1e-9 && solution.attempts == 12, "damping \(solution.damping) after \(solution.attempts) attempts")
        #expect(Self.relativeResidual(a, solution.x, b, mu: solution.damping) < 1e-12)
    }

    @Test("a negative definite matrix that damping cannot fix within the attempts throws")
    func notPositiveDefinite() {
        var a = Matrix.identity(4)
        for i in 0..<4 { a[i, i] = -1 }
        #expect(throws: Cholesky.NotPositiveDefinite.self) { try Cholesky.solve(a, [1, 2, 3, 4], maxAttempts: 3) }
    }
}
