extension Unlearner {
    /// The `newton` step: `ResidualNewton` from the current weights on F over all residual rows until
    /// ||grad F_residual|| <= `newtonTolerance`. The result is the residual optimum up to that tolerance, so the
    /// residual bound is that of the converged state and does not accumulate over removals. Throws `.notConverged`
    /// (nothing applied, the caller's state untouched) when the caps stop it first.
    static func newtonStep(
        model: Network, residual: (x: Matrix, labels: [Int]), options: UnlearningOptions, report: inout UpdateReport,
        clock: inout PhaseClock
    ) throws(UnlearningError) -> Network {
        let newtonOptions = ResidualNewton.Options(
            tolerance: options.newtonTolerance, maxIterations: options.newtonMaxIterations,
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
                + "||grad F_residual|| = \(result.gradientNorm) above the tolerance \(options.newtonTolerance); the update "
                + "was not applied. Raise the caps or the tolerance, or retrain"
        )
    }
}
