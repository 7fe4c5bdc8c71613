extension Unlearner {
    /// Steps 1-3 of the paper's Algorithm 1: L-FOCI slice selection on the perturbation statistics, then one
    /// block Newton step theta_S += (H_S + lambda I)^-1 g_S / (n - m), with g = sum_B grad_S f + m lambda theta_S
    /// and H_S the mean residual Hessian over the block. The block is solved densely (Cholesky) up to
    /// `denseBlockLimit` parameters and by conjugate gradients on Hessian-vector products beyond it (and always for
    /// networks other than dense stacks, whose dense blocks `Network.hessianBlock` does not form).
    ///
    /// With `lfociSteps` > 1 the step is repeated as a randomized block-coordinate Newton method on the residual
    /// objective (Mehta et al., CVPR 2022, Theorem 2): each further step draws a fresh L-FOCI selection (seed
    /// `seed + k`) on the current weights and solves theta_S -= (H_S + lambda I)^-1 grad_S F_residual. A step that
    /// does not lower ||grad F_residual|| is discarded and ends the iteration, as does a further step whose solve
    /// fails; `newtonIterations` reports the steps kept, `slices` their union.
    static func lfociStep(
        model: Network, state: UnlearningState, batch: (x: Matrix, labels: [Int]), residualAfter: [Int], residualX: Matrix,
        options: UnlearningOptions, report: inout UpdateReport, clock: inout PhaseClock
    ) throws(UnlearningError) -> (Network, [Slice]) {
        var (updated, slices) = try lfociBlockStep(
            model: model, state: state, batch: batch, residualAfter: residualAfter, residualX: residualX, seed: options.seed,
            residualGradient: nil, options: options, report: &report, clock: &clock
        )
        report.newtonIterations = 1
        guard options.lfociSteps > 1 else { return (updated, slices) }
        let residualY = residualAfter.map { state.trainLabels[$0] }
        var gradient = updated.objectiveGradient(residualX, labels: residualY)
        var norm = Vector.norm(gradient)
        var union = Set(slices)
        clock.lap("residual")
        for k in 1..<options.lfociSteps {
            // The trial step reports into a copy: a discarded step leaves only its work (CG iterations, products).
            var trial = report
            let candidate: (Network, [Slice])
            do {
                candidate = try lfociBlockStep(
                    model: updated, state: state, batch: batch, residualAfter: residualAfter, residualX: residualX,
                    seed: options.seed &+ UInt64(k), residualGradient: gradient, options: options, report: &trial, clock: &clock
                )
            } catch {
                (report.cgIterations, report.hessianVectorProducts) = (trial.cgIterations, trial.hessianVectorProducts)
                break
            }
            let candidateGradient = candidate.0.objectiveGradient(residualX, labels: residualY)
            let candidateNorm = Vector.norm(candidateGradient)
            clock.lap("residual")
            guard candidateNorm < norm else {
                (report.cgIterations, report.hessianVectorProducts) = (trial.cgIterations, trial.hessianVectorProducts)
                break
            }
            report = trial
            (updated, gradient, norm) = (candidate.0, candidateGradient, candidateNorm)
            union.formUnion(candidate.1)
            report.newtonIterations += 1
        }
        slices = union.sorted()
        return (updated, slices)
    }

    /// One block Newton step from `model`: selection from `seed`, then the solve. The right-hand side is the
    /// removed rows' gradient (the paper's step from the trained weights) when `residualGradient` is nil, and
    /// -(n - m) grad_S F_residual otherwise, so that both take theta_S += (H_S + lambda I)^-1 g / (n - m).
    private static func lfociBlockStep(
        model: Network, state: UnlearningState, batch: (x: Matrix, labels: [Int]), residualAfter: [Int], residualX: Matrix,
        seed: UInt64, residualGradient: [Double]?, options: UnlearningOptions, report: inout UpdateReport,
        clock: inout PhaseClock
    ) throws(UnlearningError) -> (Network, [Slice]) {
        var rng = SeededGenerator(seed: seed)
        let m = batch.x.rows
        let n = state.residualCount

        // 1-2. Slice selection.
        let slices: [Slice]
        switch options.selection {
        case .full:
            slices = model.architecture.allSlices
        case .lfoci, .random, .top1:
            let statistics = PerturbationStatistics.sample(
                model: model, batch: batch.x, labels: batch.labels, options: options, rng: &rng
            )
            clock.lap("perturb")
            let selected = try select(statistics: statistics, model: model, batch: batch, options: options, rng: &rng)
            slices = selected.slices
            report.selectionScores = selected.scores
            clock.lap("select")
        }

        // 3. Block Newton step.
        var g: [Double]
        if let residualGradient {
            g = model.gather(residualGradient, slices: slices)
            Vector.scale(&g, by: -Double(n - m))
        } else {
            g = model.lossGradientSum(batch.x, labels: batch.labels, slices: slices)
            Vector.axpy(Double(m) * model.lambda, model.gather(model.theta, slices: slices), &g)
        }
        clock.lap("gradient")
        let hessianX: Matrix
        if let limit = options.hessianRows, limit < residualAfter.count {
            var sample = residualAfter
            sample.shuffle(using: &rng)
            hessianX = state.trainFeatures.selectingRows(Array(sample.prefix(limit)).sorted())
        } else {
            hessianX = residualX
        }
        var step: [Double]
        if model.blockSize(slices) > options.denseBlockLimit || model.architecture.denseStages == nil {
            let curvature = GaussNewtonOperator(model: model, rows: hessianX, slices: slices)
            clock.lap("hessian")
            let solution = ConjugateGradient.solve(
                shift: model.lambda, g, options: ConjugateGradient.Options(tolerance: options.cgTolerance, maxIterations: options.cgMaxIterations),
                apply: curvature.apply
            )
            report.cgIterations += solution.iterations
            report.hessianVectorProducts += solution.products
            guard solution.converged else {
                throw UnlearningError(
                    .notConverged,
                    "conjugate gradients on the \(curvature.dimension)-parameter block stopped (\(solution.status.rawValue)) after "
                        + "\(solution.iterations) iterations at relative residual \(solution.relativeResidual), above the tolerance "
                        + "\(options.cgTolerance); raise unlearning cg_max_iterations or cg_tolerance"
                )
            }
            step = solution.x
        } else {
            var h = model.hessianBlock(hessianX, slices: slices)
            for i in 0..<h.rows { h[i, i] += model.lambda }
            clock.lap("hessian")
            let solution: Cholesky.Solution
            do {
                solution = try Cholesky.solve(h, g)
            } catch {
                throw UnlearningError(.numericalFailure, "the Hessian block (\(h.rows) parameters) could not be factorised: \(error)")
            }
            report.damping = solution.damping
            step = solution.x
        }
        var updated = model
        Vector.scale(&step, by: 1 / Double(n - m))
        updated.addToBlock(step, slices: slices)
        clock.lap("solve")
        return (updated, slices)
    }
}
