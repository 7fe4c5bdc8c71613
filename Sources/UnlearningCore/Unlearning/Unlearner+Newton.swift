extension Unlearner {
    /// The `newton` step: `ResidualNewton` from the current weights on F over all residual rows until
    /// ||grad F_residual|| <= `newtonTolerance`. The result is the residual optimum up to that tolerance, so the
    /// residual bound is that of the converged state and does not accumulate over removals. Throws `.notConverged`
    /// (nothing applied, the caller's state untouched) when the caps stop it first.
    ///
    /// Non-convex models have no residual optimum to converge to, and a trained network's gradient is far from 0
    /// (a CNN trained by Adam: ||grad F|| ~ 1e-2): there the iteration stops once the model is as stationary on the
    /// residual rows as it was on the rows before this removal, ||grad F_residual|| <= max(tolerance, ||grad
    /// F_before(theta_0)||), the point a retrain from the current weights would also stop at
    /// (`UnlearningOptions.newtonStopAtBaseGradient`).
    ///
    /// `preconditioner` (the state's `NewtonPreconditioning`, convex models only) preconditions every CG solve; it
    /// changes how many iterations a step takes, not when a step, the iteration or the certification stops.
    static func newtonStep(
        model: Network, residual: (x: Matrix, labels: [Int]), batch: (x: Matrix, labels: [Int]), options: UnlearningOptions,
        preconditioner: NystromPreconditioner? = nil, report: inout UpdateReport, clock: inout PhaseClock
    ) throws(UnlearningError) -> Network {
        var tolerance = options.newtonTolerance
        if !model.architecture.isConvex && options.newtonStopAtBaseGradient {
            // grad F_before = (n_res grad F_res_loss + m grad F_batch_loss) / (n_res + m) + lambda theta.
            var before = model.lossGradientSum(residual.x, labels: residual.labels)
            Vector.axpy(1, model.lossGradientSum(batch.x, labels: batch.labels), &before)
            Vector.scale(&before, by: 1 / Double(max(1, residual.x.rows + batch.x.rows)))
            Vector.axpy(model.lambda, model.theta, &before)
            tolerance = max(tolerance, Vector.norm(before))
            clock.lap("tolerance")
        }
        var newtonOptions = ResidualNewton.Options(
            tolerance: tolerance, maxIterations: options.newtonMaxIterations,
            maxSeconds: options.newtonMaxSeconds,
            cg: ConjugateGradient.Options(tolerance: options.cgTolerance, maxIterations: options.cgMaxIterations),
            damping: model.architecture.isConvex ? 0 : options.newtonDamping,
            // Adaptive forcing cut the CG products of MNIST logistic-regression updates 1.7x (BENCHMARKS.md, newton
            // section); MLPs' damped Gauss-Newton steps keep the fixed term they were tuned with.
            forcing: model.architecture.isConvex ? .eisenstatWalker : .fixed,
            // Float32 products: the same Newton steps and final ||grad F|| on MNIST logistic regression, each product
            // faster (BENCHMARKS.md, newton precision section); MLP steps keep Float64.
            precision: model.architecture.isConvex ? .single : .double
        )
        let usable = preconditioner.flatMap { $0.dimension == model.parameterCount && model.architecture.isConvex ? $0 : nil }
        if let usable {
            newtonOptions.preconditioner = .nystrom(usable)
            report.preconditionerRank = usable.rank
        }
        let result = ResidualNewton.minimize(model, x: residual.x, labels: residual.labels, options: newtonOptions)
        clock.lap("newton")
        report.newtonIterations = result.iterations
        report.cgIterations = result.cgIterations
        report.hessianVectorProducts = result.hessianVectorProducts
        report.damping = result.damping
        let stopped: String
        switch result.status {
        case .converged:
            return result.model
        case .iterationLimit:
            stopped = "reached the cap of \(options.newtonMaxIterations) Newton steps"
        case .timeLimit:
            stopped = "reached the time cap of \(options.newtonMaxSeconds ?? 0) s"
        case .solveFailed(let status):
            stopped = "a conjugate-gradient solve stopped (\(status.rawValue)) within \(options.cgMaxIterations) iterations"
        case .noDecrease:
            stopped = "found no step that decreases the residual objective"
        }
        throw UnlearningError(
            .notConverged,
            "newton \(stopped) after \(result.iterations) steps (\(result.cgIterations) CG iterations) with "
                + "||grad F_residual|| = \(result.gradientNorm) above the tolerance \(tolerance); the update "
                + "was not applied. Raise the caps or the tolerance, or retrain"
        )
    }
}
