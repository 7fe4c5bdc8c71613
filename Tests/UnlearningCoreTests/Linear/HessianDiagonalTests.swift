import TestSupport
import Testing

@testable import UnlearningCore

/// The diagonal `GaussNewtonOperator.diagonal` computes for the Jacobi preconditioner, against the dense
/// `hessianBlock` (which forms J^T H_z J by backpropagating the rows of a factor of H_z, sharing no code with it)
/// and against central finite differences of the gradient.
@Suite("Hessian diagonal for the Jacobi preconditioner", .computeBound)
struct HessianDiagonalTests {
    static let h = 1e-5

    /// (d grad F / d theta_p)_p by central differences: H_pp + lambda + O(h^2).
    static func finiteDifferenceDiagonal(_ model: Network, _ x: Matrix, _ labels: [Int]) -> [Double] {
        (0..<model.parameterCount).map { p in
            var plus = model
            var minus = model
            plus.theta[p] += h
            minus.theta[p] -= h
            let d = plus.objectiveGradient(x, labels: labels)[p] - minus.objectiveGradient(x, labels: labels)[p]
            return d / (2 * h) - model.lambda
        }
    }

    // Against the dense Hessian the two differ only by rounding in sums of 30 O(1) terms: 1e-12 relative. Against
    // finite differences the truncation error is O(h^2) ~ 1e-10 and the rounding eps |grad F| / h ~ 1e-11 on
    // entries of O(0.1), so 1e-6 relative; a wrong layout (bias and weight swapped, units transposed) or a missing
    // (1 - p) factor is off by 1e-1 or more.
    @Test("logistic regression: equals the dense Hessian's diagonal and finite differences of the gradient")
    func logisticRegression() throws {
        let (model, x, labels) = try MLPDerivativeTests.randomProblem(hidden: [], activation: .identity, rows: 30)
        let slices = model.architecture.allSlices
        let dense = model.hessianBlock(x, slices: slices)
        let expected = (0..<dense.rows).map { dense[$0, $0] }
        // Chunks of 7 rows: the sums over chunks must add up to the one over all rows.
        for chunkRows in [2048, 7] {
            let diagonal = try #require(GaussNewtonOperator(model: model, rows: x, maxChunkRows: chunkRows).diagonal())
            #expect(diagonal.count == model.parameterCount)
            let err = MLPDerivativeTests.relativeError(diagonal, expected)
            #expect(err < 1e-12, "chunks of \(chunkRows) rows: relative difference to the dense Hessian \(err)")
        }
        let diagonal = try #require(GaussNewtonOperator(model: model, rows: x).diagonal())
        let fd = Self.finiteDifferenceDiagonal(model, x, labels)
        let err = MLPDerivativeTests.relativeError(diagonal, fd)
        #expect(err < 1e-6, "relative difference to finite differences \(err)")
        // The diagonal of the operator itself: e_p^T (G/n) e_p for a few parameters, a weight and a bias of two units.
        let curvature = GaussNewtonOperator(model: model, rows: x)
        let arch = model.architecture
        for p in [0, arch.inputs, arch.parameterRange(of: Slice(layer: 0, unit: 2)).lowerBound + 3, model.parameterCount - 1] {
            var e = [Double](repeating: 0, count: model.parameterCount)
            e[p] = 1
            let applied = curvature.apply(e)[p]
            #expect(abs(applied - diagonal[p]) <= 1e-12 * max(1, abs(applied)), "parameter \(p): \(applied) vs \(diagonal[p])")
        }
    }

    // A block of output-layer slices (in any order) has the output layer's exact Hessian diagonal, gathered in the
    // block's order; a block reaching a hidden layer has no cheap diagonal and gets nil (plain CG).
    @Test("output-layer blocks of an MLP get the gathered diagonal; hidden-layer blocks get none")
    func blocks() throws {
        let (model, x, _) = try MLPDerivativeTests.randomProblem(hidden: [6], activation: .tanh, rows: 30)
        let output = [Slice(layer: 1, unit: 3), Slice(layer: 1, unit: 0)]
        let dense = model.hessianBlock(x, slices: output)
        let diagonal = try #require(GaussNewtonOperator(model: model, rows: x, slices: output).diagonal())
        let err = MLPDerivativeTests.relativeError(diagonal, (0..<dense.rows).map { dense[$0, $0] })
        #expect(err < 1e-12, "relative difference to the dense block's diagonal \(err)")
        #expect(GaussNewtonOperator(model: model, rows: x).diagonal() == nil)
        #expect(GaussNewtonOperator(model: model, rows: x, slices: [Slice(layer: 0, unit: 1)]).diagonal() == nil)
    }

    // The preconditioned Newton-CG solve on a logistic-regression Hessian equals the dense Cholesky solve.
    // lambda 0.03 and ||H|| = O(1) give cond <= ~100, so a CG residual of 1e-12 bounds the error by ~1e-10.
    @Test("preconditioned CG on a logistic-regression Hessian matches Cholesky")
    func hessianSolve() throws {
        let (model, x, labels) = try MLPDerivativeTests.randomProblem(hidden: [], activation: .identity, rows: 30)
        var h = model.hessianBlock(x, slices: model.architecture.allSlices)
        for i in 0..<h.rows { h[i, i] += model.lambda }
        let g = model.objectiveGradient(x, labels: labels)
        let expected = try Cholesky.solve(h, g).x
        let curvature = GaussNewtonOperator(model: model, rows: x)
        let jacobi = ConjugateGradient.jacobi(diagonal: try #require(curvature.diagonal()), shift: model.lambda)
        let solution = ConjugateGradient.solve(
            shift: model.lambda, g, preconditioner: jacobi,
            options: ConjugateGradient.Options(tolerance: 1e-12, maxIterations: 1000), apply: curvature.apply
        )
        #expect(solution.converged)
        let err = MLPDerivativeTests.relativeError(solution.x, expected)
        #expect(err < 1e-8, "relative difference to Cholesky \(err)")
    }
}
