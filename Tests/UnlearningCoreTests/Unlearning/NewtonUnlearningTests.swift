import TestSupport
import Testing

@testable import UnlearningCore

@Suite("Newton unlearning (digits)", .serialized, .computeBound)
struct NewtonUnlearningTests {
    static func noiseless() -> UnlearningOptions {
        var options = UnlearningOptions()
        options.method = .newton
        options.noise = false
        return options
    }

    @Test("the default method is newton for logistic regression and dampening for MLPs")
    func defaults() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        #expect(UnlearningOptions.defaultMethod(for: base.model.architecture) == .newton)
        #expect(UnlearningOptions.defaultMethod(for: Architecture(inputs: 64, hidden: [8], classes: 10)) == .dampening)
        var state = base
        var options = UnlearningOptions()
        options.noise = false
        let report = try Unlearner.forget(rows: UnlearningFixtures.subjects(train, count: 1)[0].rows, in: &state, options: options)
        #expect(report.method == .newton && report.newtonIterations >= 1 && report.cgIterations > 0)
    }

    /// Newton stops at ||grad F_residual|| <= 1e-7, so ||theta' - theta*|| <= 1e-7 / lambda = 1e-5; the retrained
    /// reference is within 5e-10 / lambda = 5e-8 of theta*. The base model is 0.1 or more from theta* for these
    /// subjects, so the distance ratio is at most ~1e-4; 1e-3 is the issue's bound.
    @Test("converges within the cap and lands within 1e-3 of the original distance to the retrained model, 10 of 10 subjects")
    func matchesRetraining() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        let options = Self.noiseless()
        var ratios: [Double] = []
        var steps: [Int] = []
        for subject in UnlearningFixtures.subjects(train, count: 10) {
            var state = base
            let report = try Unlearner.forget(rows: subject.rows, in: &state, options: options)
            let retrained = UnlearningFixtures.retrained(base, without: subject.rows)
            let before = Vector.distance(base.model.theta, retrained.theta)
            let after = Vector.distance(state.model.theta, retrained.theta)
            ratios.append(after / before)
            steps.append(report.newtonIterations)
            #expect(report.outcome == .applied)
            #expect(report.method == .newton)
            #expect(report.newtonIterations <= options.newtonMaxIterations)
            #expect(report.hessianVectorProducts >= report.cgIterations && report.cgIterations > 0)
            #expect(report.gradientResidual <= options.newtonTolerance)
            #expect(report.residualBound <= 1e-5)
            #expect(report.blockSize == base.model.parameterCount)
            // Strong convexity: ||theta' - theta*|| <= r / lambda, up to the reference's own 5e-8.
            #expect(after <= report.residualBound + 1e-7)
            #expect(report.forgottenLossAfter > report.forgottenLossBefore, "subject \(subject.name)")
        }
        print("newton distance ratios: \(ratios), Newton steps: \(steps)")
        #expect(ratios.allSatisfy { $0 <= 1e-3 })
    }

    /// The residual bound is that of the converged state: it does not grow over sequential removals, and the
    /// result after four removals is the model retrained without all four subjects.
    @Test("sequential removals: every residual gradient stays below the tolerance, no accumulation")
    func sequential() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        let options = Self.noiseless()
        var state = base
        var removed: [Int] = []
        var residuals: [Double] = []
        for subject in UnlearningFixtures.subjects(train, count: 4) {
            let report = try Unlearner.forget(rows: subject.rows, in: &state, options: options)
            removed += subject.rows
            residuals.append(report.gradientResidual)
            #expect(report.outcome == .applied)
            #expect(report.gradientResidual <= options.newtonTolerance)
        }
        let retrained = UnlearningFixtures.retrained(base, without: removed)
        let ratio = Vector.distance(state.model.theta, retrained.theta) / Vector.distance(base.model.theta, retrained.theta)
        print("sequential newton residual gradients: \(residuals), final distance ratio \(ratio)")
        #expect(ratio <= 1e-3)
    }

    @Test("not converging within the caps throws not_converged and leaves the state bit-identical")
    func notConverged() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        let subjects = UnlearningFixtures.subjects(train, count: 2)
        var state = base
        var options = UnlearningOptions()  // noise on: nothing may be spent either
        options.noiseSeed = 5
        var policy = BudgetPolicy()
        policy.sigmaMax = .infinity
        _ = try Unlearner.forget(rows: subjects[0].rows, in: &state, options: options, policy: policy)
        #expect(state.budget.accountant.releases == 1 && state.releasedTheta != nil)
        let before = state

        for (label, cause, tweak) in [
            (
                "one Newton step", "cap of 1 Newton steps",
                { (o: inout UnlearningOptions) in
                    o.newtonMaxIterations = 1
                    o.newtonTolerance = 1e-300
                }
            ),
            (
                "two CG iterations", "conjugate-gradient solve stopped (iteration_limit)",
                { (o: inout UnlearningOptions) in
                    o.cgMaxIterations = 2
                    o.cgTolerance = 1e-12
                }
            ),
            // Checked before each step: any elapsed time exceeds a cap of 0 s, so no step is taken.
            ("a time cap of 0 s", "time cap of 0.0 s after 0 steps", { (o: inout UnlearningOptions) in o.newtonMaxSeconds = 0 }),
        ] {
            var capped = options
            tweak(&capped)
            do {
                _ = try Unlearner.forget(rows: subjects[1].rows, in: &state, options: capped, policy: policy)
                Issue.record("\(label): the capped update must throw")
            } catch {
                #expect(error.code == .notConverged, "\(label): \(error)")
                #expect(error.reason.contains(cause), "\(label): \(error.reason)")
            }
            #expect(state.model.theta.map(\.bitPattern) == before.model.theta.map(\.bitPattern), "\(label)")
            #expect(state.releasedTheta?.map(\.bitPattern) == before.releasedTheta?.map(\.bitPattern))
            #expect(state.removed == before.removed)
            #expect(state.budget == before.budget)
        }
        // The same request with the default caps goes through afterwards.
        let report = try Unlearner.forget(rows: subjects[1].rows, in: &state, options: options, policy: policy)
        #expect(report.outcome == .applied && report.certified)
    }

    /// The forcing term and the preconditioner change the CG path, not what the iteration stops at: every variant
    /// stops at ||grad F_residual|| <= 1e-7, so each result is within 1e-7 / lambda = 1e-5 of the unique optimum and
    /// any two within 2e-5 of each other. Adaptive forcing solves the early steps loosely: on these subjects it may
    /// not take more CG products in total than the fixed term (counts, not time).
    @Test("adaptive forcing and Jacobi preconditioning reach the same tolerance and optimum as fixed-forcing Newton-CG")
    func variantsMatch() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        var fixedTotal = 0
        var adaptiveTotal = 0
        for subject in UnlearningFixtures.subjects(train, count: 3) {
            let removing = Set(subject.rows)
            let keep = base.residualIndices.filter { !removing.contains($0) }
            let x = base.trainFeatures.selectingRows(keep)
            let labels = keep.map { base.trainLabels[$0] }
            let fixed = ResidualNewton.Options(
                tolerance: 1e-7, maxIterations: 20, maxSeconds: nil, cg: .init(tolerance: 1e-4, maxIterations: 500), damping: 0
            )
            var adaptive = fixed
            adaptive.forcing = .eisenstatWalker
            var jacobi = adaptive
            jacobi.preconditioner = .jacobi
            let results = [fixed, adaptive, jacobi].map { ResidualNewton.minimize(base.model, x: x, labels: labels, options: $0) }
            for result in results {
                #expect(result.status == .converged && result.gradientNorm <= 1e-7, "subject \(subject.name)")
                let distance = Vector.distance(result.model.theta, results[0].model.theta)
                #expect(distance <= 2e-7 / base.model.lambda, "subject \(subject.name): results \(distance) apart")
            }
            print(
                "subject \(subject.name): CG products fixed \(results[0].hessianVectorProducts), adaptive "
                    + "\(results[1].hessianVectorProducts), adaptive + Jacobi \(results[2].hessianVectorProducts); Newton steps "
                    + "\(results.map(\.iterations))"
            )
            fixedTotal += results[0].hessianVectorProducts
            adaptiveTotal += results[1].hessianVectorProducts
        }
        #expect(adaptiveTotal <= fixedTotal)
    }

    /// lfoci's block solved by CG (forced with denseBlockLimit 0) equals the dense Cholesky solve: the CG relative
    /// residual of 1e-12 and cond(H + lambda I) <= ~1e4 (lambda 0.01) bound the step's difference by ~1e-8 relative.
    @Test("lfoci: the CG block solve equals the dense Cholesky one")
    func lfociBlockByCG() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        let rows = UnlearningFixtures.subjects(train, count: 1)[0].rows
        for selection in [UnlearningOptions.Selection.full, .lfoci] {
            var options = UnlearningOptions()
            options.method = .lfoci
            options.selection = selection
            options.noise = false
            options.cgTolerance = 1e-12
            var dense = base
            let denseReport = try Unlearner.forget(rows: rows, in: &dense, options: options)
            options.denseBlockLimit = 0
            var iterative = base
            let cgReport = try Unlearner.forget(rows: rows, in: &iterative, options: options)
            #expect(denseReport.cgIterations == 0 && cgReport.cgIterations > 0)
            #expect(denseReport.slices == cgReport.slices)
            var step = iterative.model.theta
            Vector.axpy(-1, base.model.theta, &step)
            var denseStep = dense.model.theta
            Vector.axpy(-1, base.model.theta, &denseStep)
            let err = Vector.distance(step, denseStep) / Vector.norm(denseStep)
            #expect(err < 1e-6, "\(selection): relative difference of the steps \(err)")

            // A block solve that CG cannot finish within its cap refuses the update and leaves the state as it was.
            options.cgMaxIterations = 1
            var refused = base
            do {
                _ = try Unlearner.forget(rows: rows, in: &refused, options: options)
                Issue.record("\(selection): a CG block solve capped at 1 iteration must throw")
            } catch {
                #expect(error.code == .notConverged && error.reason.contains("iteration_limit"), "\(error)")
            }
            #expect(refused.model.theta.map(\.bitPattern) == base.model.theta.map(\.bitPattern))
            #expect(refused.removed == base.removed && refused.budget == base.budget)
        }
    }
}

@Suite("Newton on an MLP (digits)", .serialized, .computeBound)
struct NewtonMLPTests {
    static let trained: (model: Network, x: Matrix, labels: [Int]) = {
        let (train, _, _) = BundledData.split(BundledData.digits)
        var model = try! Network(architecture: Architecture(inputs: 64, hidden: [16], classes: 10), lambda: 1e-3, seed: 1)
        var options = Trainer.AdamOptions()
        options.epochs = 10
        _ = Trainer.adam(&model, x: train.features, labels: train.labels, options: options)
        return (model, train.features, train.labels)
    }()

    // The damped Gauss-Newton iteration accepts only steps that do not increase F: the objective sequence is
    // non-increasing (exactly, no tolerance: a rejected step leaves F as it was), and it makes progress.
    @Test("damped Gauss-Newton never increases the residual objective")
    func monotone() {
        let (model, x, labels) = Self.trained
        let keep = Array(30..<x.rows)
        for damping in [1e-4, 1e-2] {
            let result = ResidualNewton.minimize(
                model, x: x.selectingRows(keep), labels: keep.map { labels[$0] },
                options: .init(tolerance: 1e-12, maxIterations: 6, maxSeconds: nil, cg: .init(tolerance: 1e-4, maxIterations: 300), damping: damping)
            )
            print("MLP damped Newton, mu0 \(damping): objectives \(result.objectives), status \(result.status), mu \(result.damping)")
            #expect(zip(result.objectives, result.objectives.dropFirst()).allSatisfy { $1 <= $0 })
            #expect(result.objectives.last! < result.objectives.first!)
            #expect(result.iterations >= 1)
        }
    }

    @Test("newton on an MLP is reported as not certified")
    func notCertified() throws {
        let (model, x, labels) = Self.trained
        let (_, validation, _) = BundledData.split(BundledData.digits)
        var state = UnlearningState(
            model: model, trainFeatures: x, trainLabels: labels,
            validationFeatures: validation.features, validationLabels: validation.labels
        )
        var options = UnlearningOptions()
        options.method = .newton
        // A heuristic target: the Adam-trained base is far from a stationary point, so ask for a tenfold reduction
        // of the residual gradient instead of the convex default.
        let keep = Array(20..<x.rows)
        let start = Vector.norm(model.objectiveGradient(x.selectingRows(keep), labels: keep.map { labels[$0] }))
        options.newtonTolerance = start / 10
        options.newtonStopAtBaseGradient = false
        options.noiseSeed = 1
        var policy = BudgetPolicy()
        policy.sigmaMax = .infinity
        policy.epsilonBudget = .infinity
        policy.maxAccuracyDrop = 1
        let report = try Unlearner.forget(rows: Array(0..<20), in: &state, options: options, policy: policy)
        #expect(report.method == .newton && report.outcome == .applied)
        #expect(report.gradientResidual <= start / 10)
        #expect(!report.certified)
    }
}
