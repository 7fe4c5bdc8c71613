import Foundation
import TestSupport
import Testing

@testable import UnlearningCore

/// The randomized Nyström approximation and the preconditioned CG it gives, against Cholesky on the same systems.
@Suite("Nyström preconditioner", .computeBound)
struct NystromPreconditionerTests {
    /// M M^T for an n x r Gaussian M: rank r exactly.
    static func lowRank(_ n: Int, rank r: Int, seed: UInt64) -> Matrix {
        var rng = SeededGenerator(seed: seed)
        // Columns scaled over 1.5 orders of magnitude (eigenvalues over 3): a spread top spectrum, the case the preconditioner is for.
        let m = Matrix(
            rows: n, cols: r, storage: (0..<(n * r)).map { i in rng.nextGaussian() * pow(10, -1.5 * Double(i % r) / Double(max(r - 1, 1))) })
        return Matrix.product(m, m, transposeB: true)
    }

    static func product(_ a: Matrix) -> ([Double]) -> [Double] { ConjugateGradientTests.product(a) }

    // With the rank at least A's, the sketch spans A's range and the approximation is A up to rounding: U Lambda
    // U^T v = A v. U is stored in Float32 (relative rounding ~6e-8 per entry, summed over n = 60 terms), so the
    // products agree to ~1e-6 of ||A v||; 1e-5 leaves margin, while a wrong core (say C^-T instead of C^-1) or an
    // eigenvalue off by the shift nu is off by O(1).
    @Test("with a rank at least A's, the approximation reproduces A's products and positive eigenvalues")
    func exactOnLowRank() throws {
        let n = 60
        let a = Self.lowRank(n, rank: 8, seed: 3)
        let nystrom = try NystromPreconditioner.build(dimension: n, rank: 12, seed: 1, apply: Self.product(a))
        #expect(nystrom.rank >= 8 && nystrom.rank <= 12)
        #expect(nystrom.eigenvalues == nystrom.eigenvalues.sorted(by: >))
        let v = ConjugateGradientTests.randomVector(n, seed: 5)
        let exact = Self.product(a)(v)
        var approximate = [Double](repeating: 0, count: n)
        for i in 0..<nystrom.rank {
            let u = (0..<n).map { Double(nystrom.vectors[i * n + $0]) }
            Vector.axpy(nystrom.eigenvalues[i] * Vector.dot(u, v), u, &approximate)
        }
        let error = Vector.distance(approximate, exact) / Vector.norm(exact)
        #expect(error < 1e-5, "relative error of U Lambda U^T v: \(error)")
        #expect(NystromPreconditioner.bytes(rank: nystrom.rank, dimension: n) == nystrom.bytes)
    }

    // The preconditioner changes CG's path, not its stopping rule: the solution has the same relative residual
    // 1e-12 as plain CG's and matches Cholesky to cond * 1e-12 (cond(A + shift I) <= ~1e4 here: <= 1e-8, the
    // tolerance). With the top of the spectrum removed it needs fewer iterations (counts, not time).
    @Test("Nyström-preconditioned CG agrees with plain CG and with Cholesky, and needs fewer iterations", arguments: [40, 120])
    func agreesWithPlainAndDense(n: Int) throws {
        var a = Self.lowRank(n, rank: n / 4, seed: UInt64(n))
        // A full-rank tail below the low-rank top, so the approximation of rank n / 8 is not exact.
        let tail = CholeskyTests.spd(n, shift: 0, seed: UInt64(n) + 1)
        a.add(tail, scaledBy: 1e-3 / Double(n))
        let shift = 1e-2
        let b = ConjugateGradientTests.randomVector(n, seed: 9)
        var shifted = a
        for i in 0..<n { shifted[i, i] += shift }
        let dense = try Cholesky.solve(shifted, b).x
        let options = ConjugateGradient.Options(tolerance: 1e-12, maxIterations: 20 * n)
        let plain = ConjugateGradient.solve(shift: shift, b, options: options, apply: Self.product(a))
        let nystrom = try NystromPreconditioner.build(dimension: n, rank: n / 8, seed: 2, apply: Self.product(a))
        let preconditioned = ConjugateGradient.solve(
            shift: shift, b, preconditioner: { nystrom.apply($0, shift: shift) }, options: options, apply: Self.product(a))
        #expect(plain.converged && preconditioned.converged)
        #expect(preconditioned.relativeResidual <= 1e-12)
        let toDense = Vector.distance(preconditioned.x, dense) / Vector.norm(dense)
        let toPlain = Vector.distance(preconditioned.x, plain.x) / Vector.norm(plain.x)
        #expect(toDense < 1e-8, "n \(n): relative difference to Cholesky \(toDense)")
        #expect(toPlain < 1e-8, "n \(n): relative difference to plain CG \(toPlain)")
        // Iterations to a Newton-like tolerance with the rank covering the spread top of the spectrum (with
        // Float32 U the preconditioner is linear only to ~1e-7, so counts at 1e-12 say little).
        let loose = ConjugateGradient.Options(tolerance: 1e-6, maxIterations: 20 * n)
        let covering = try NystromPreconditioner.build(dimension: n, rank: n / 4 + 4, seed: 2, apply: Self.product(a))
        let plainLoose = ConjugateGradient.solve(shift: shift, b, options: loose, apply: Self.product(a))
        let coveringLoose = ConjugateGradient.solve(
            shift: shift, b, preconditioner: { covering.apply($0, shift: shift) }, options: loose, apply: Self.product(a))
        #expect(coveringLoose.converged)
        #expect(
            coveringLoose.iterations < plainLoose.iterations, "n \(n): \(coveringLoose.iterations) vs \(plainLoose.iterations) iterations")
    }

    @Test("P^-1 is the identity on the complement of U and scales U's directions by (lambda_l + mu) / (lambda_i + mu)")
    func appliesEquationFiveThree() throws {
        let n = 30
        let a = Self.lowRank(n, rank: 6, seed: 8)
        let nystrom = try NystromPreconditioner.build(dimension: n, rank: 6, seed: 4, apply: Self.product(a))
        let shift = 0.05
        let top = (0..<n).map { Double(nystrom.vectors[$0]) }
        let scaled = nystrom.apply(top, shift: shift)
        let expected = (nystrom.eigenvalues[nystrom.rank - 1] + shift) / (nystrom.eigenvalues[0] + shift)
        #expect(abs(Vector.dot(scaled, top) - expected) < 1e-5)
        // A vector orthogonal to every kept eigenvector passes unchanged.
        var other = ConjugateGradientTests.randomVector(n, seed: 12)
        for i in 0..<nystrom.rank {
            let u = (0..<n).map { Double(nystrom.vectors[i * n + $0]) }
            Vector.axpy(-Vector.dot(u, other), u, &other)
        }
        let passed = nystrom.apply(other, shift: shift)
        #expect(Vector.distance(passed, other) / Vector.norm(other) < 1e-5)
    }

    @Test("a zero operator is refused rather than approximated")
    func zeroOperator() {
        #expect(throws: NystromPreconditioner.BuildError.zeroOperator) {
            try NystromPreconditioner.build(dimension: 10, rank: 3, seed: 1) { [Double](repeating: 0, count: $0.count) }
        }
    }
}
