import TestSupport
import Testing

@testable import UnlearningCore

/// `newton` with the Nyström preconditioner built from the base (digits logistic regression, 650 parameters): the
/// same solves, the same stopping point and the same certification as plain CG, and the fallback when the memory
/// bound does not allow it.
@Suite("Newton with the Nyström preconditioner (digits)", .serialized, .computeBound)
struct NewtonPreconditionerTests {
    static func options(rank: Int = 64) -> UnlearningOptions {
        var options = NewtonUnlearningTests.noiseless()
        options.newtonPreconditionerRank = rank
        return options
    }

    // One Newton system at the base on the residual rows: (G/n + lambda I) d = g. The dense G/n comes from
    // `Network.hessianBlock` (dsyrk, independent of the operator's products); cond(G/n + lambda I) <= ~1e3 at
    // lambda 0.01, so CG's relative residual 1e-10 bounds the relative difference of the solutions by ~1e-7, and
    // Float32 rounding of U only changes the path. 1e-6 leaves margin; a wrong shift in P^-1 would still converge
    // (P only preconditions) but a wrong operator or a wrong right-hand side is off by O(1).
    @Test("a preconditioned Newton solve equals the plain CG solve and the dense Cholesky solve")
    func solveMatchesDense() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        var state = base
        let record = state.prepareNewtonPreconditioner(options: Self.options())
        #expect(record.outcome == .built && record.bytes > 0 && record.rows == base.residualCount)
        let preconditioner = try #require(record.preconditioner)
        let subject = UnlearningFixtures.subjects(train, count: 1)[0]
        let removing = Set(subject.rows)
        let keep = base.residualIndices.filter { !removing.contains($0) }
        let x = base.trainFeatures.selectingRows(keep)
        let labels = keep.map { base.trainLabels[$0] }
        let model = base.model
        let (_, g) = ResidualNewton.objectiveAndGradient(model, x, labels)
        let lambda = model.lambda
        var dense = model.hessianBlock(x, slices: model.architecture.allSlices)
        for i in 0..<dense.rows { dense[i, i] += lambda }
        let exact = try Cholesky.solve(dense, g).x
        let curvature = GaussNewtonOperator(model: model, rows: x)
        let options = ConjugateGradient.Options(tolerance: 1e-10, maxIterations: 5000)
        let plain = ConjugateGradient.solve(shift: lambda, g, options: options, apply: curvature.apply)
        let preconditioned = ConjugateGradient.solve(
            shift: lambda, g, preconditioner: { preconditioner.apply($0, shift: lambda) }, options: options, apply: curvature.apply)
        #expect(plain.converged && preconditioned.converged)
        let toDense = Vector.distance(preconditioned.x, exact) / Vector.norm(exact)
        let toPlain = Vector.distance(preconditioned.x, plain.x) / Vector.norm(plain.x)
        print("Newton system: plain CG \(plain.iterations) iterations, Nyström PCG \(preconditioned.iterations); to dense \(toDense)")
        #expect(toDense < 1e-6)
        #expect(toPlain < 1e-6)
        #expect(preconditioned.iterations < plain.iterations)
    }

    // Certification is unchanged: Delta = ||grad F_residual|| / lambda from the gradient after the step, at most
    // tolerance / lambda = 1e-5; both results are within it of the unique optimum, so within 2e-5 of each other and
    // of the retrained model (up to its own 5e-8).
    @Test("preconditioned updates stop at the same tolerance, certify the same bound and land on the retrained model")
    func certificationUnchanged() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        var preconditionedBase = base
        preconditionedBase.prepareNewtonPreconditioner(options: Self.options())
        var plainTotal = 0
        var preconditionedTotal = 0
        for subject in UnlearningFixtures.subjects(train, count: 3) {
            var plain = base
            var preconditioned = preconditionedBase
            let plainReport = try Unlearner.forget(rows: subject.rows, in: &plain, options: Self.options())
            let report = try Unlearner.forget(rows: subject.rows, in: &preconditioned, options: Self.options())
            #expect(plainReport.preconditionerRank == 0)
            #expect(report.preconditionerRank > 0)
            #expect(report.outcome == .applied && report.gradientResidual <= 1e-7)
            #expect(report.residualBound == report.gradientResidual / base.model.lambda)
            let retrained = UnlearningFixtures.retrained(base, without: subject.rows)
            #expect(Vector.distance(preconditioned.model.theta, retrained.theta) <= report.residualBound + 1e-7)
            #expect(Vector.distance(preconditioned.model.theta, plain.model.theta) <= 2e-7 / base.model.lambda)
            plainTotal += plainReport.cgIterations
            preconditionedTotal += report.cgIterations
        }
        print("CG iterations over 3 subjects: plain \(plainTotal), Nyström \(preconditionedTotal)")
        #expect(preconditionedTotal < plainTotal)
    }

    @Test("a preconditioner above the memory bound is not built; newton runs plain CG and still certifies")
    func memoryBoundFallback() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        var options = Self.options()
        options.newtonPreconditionerMemoryLimit = NystromPreconditioner.bytes(rank: 64, dimension: base.model.parameterCount) - 1
        var state = base
        let record = state.prepareNewtonPreconditioner(options: options)
        #expect(record.outcome == .overMemoryLimit)
        #expect(record.preconditioner == nil && record.bytes == 0)
        #expect(record.reason?.contains("newton_preconditioner_memory_limit") == true)
        let report = try Unlearner.forget(rows: UnlearningFixtures.subjects(train, count: 1)[0].rows, in: &state, options: options)
        #expect(report.preconditionerRank == 0)
        #expect(report.outcome == .applied && report.gradientResidual <= options.newtonTolerance)
        // At the bound exactly, it is built.
        options.newtonPreconditionerMemoryLimit += 1
        var fits = base
        #expect(fits.prepareNewtonPreconditioner(options: options).outcome == .built)
    }

    // Newton's steps build the operator from the forward pass F was computed from and reuse the previous step's
    // Float32 rows; the products must be those of an operator built from the rows at the new theta. Same chunks, same
    // Float32 GEMMs: equal up to summation order in BLAS (1e-12 relative), while a stale probability matrix (the
    // previous theta's) is off by the change in theta's effect, here ~1e-2.
    @Test("the operator from a forward pass, reusing the previous step's Float32 rows, equals one built from the rows")
    func operatorFromPassMatchesRows() throws {
        let (base, _) = UnlearningFixtures.digitsLogReg
        let x = base.trainFeatures
        let model0 = base.model
        var model1 = model0
        var rng = SeededGenerator(seed: 3)
        for i in model1.theta.indices { model1.theta[i] += 0.05 * rng.nextGaussian() }
        let previous = GaussNewtonOperator(model: model0, forward: model0.forward(x), precision: .single)
        let reused = GaussNewtonOperator(model: model1, forward: model1.forward(x), precision: .single, reusingRowsOf: previous)
        let fresh = GaussNewtonOperator(model: model1, rows: x, precision: .single)
        #expect(reused.isSinglePrecision && fresh.isSinglePrecision)
        let v = (0..<model1.parameterCount).map { _ in rng.nextGaussian() }
        let a = reused.apply(v)
        let b = fresh.apply(v)
        #expect(Vector.distance(a, b) / Vector.norm(b) < 1e-12)
        let stale = previous.apply(v)
        #expect(Vector.distance(stale, b) / Vector.norm(b) > 1e-4, "the test's theta change must matter")
    }

    @Test("rank 0 disables it, and a rebase drops the old base's preconditioner")
    func disabledAndRebase() {
        let (base, _) = UnlearningFixtures.digitsLogReg
        var state = base
        #expect(state.prepareNewtonPreconditioner(options: Self.options(rank: 0)).outcome == .disabled)
        state.prepareNewtonPreconditioner(options: Self.options())
        #expect(state.newtonPreconditioning?.preconditioner != nil)
        state.rebase(model: base.model)
        #expect(state.newtonPreconditioning == nil)
    }
}
