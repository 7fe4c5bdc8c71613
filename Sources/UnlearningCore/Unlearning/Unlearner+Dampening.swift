extension Unlearner {
    /// The `dampening` step: Selective Synaptic Dampening (`SelectiveDampening`) of the parameters that matter far
    /// more to the forgotten rows than to the training data.
    ///
    /// The data importance []_D is taken over the training rows before this removal (the residual rows plus the
    /// batch), as in the paper, where D is the full training set including D_f: it is the data the current weights
    /// were fitted to, and the batch's own importance is the thing compared against it. Both sums come from one
    /// pass over the rows (residual and batch separately, then added). With `dampeningScope` `.lfoci` only the
    /// slices L-FOCI selects for the batch (the `lfoci` method's selection) are eligible.
    static func dampeningStep(
        model: Network, state: UnlearningState, batch: (x: Matrix, labels: [Int]), residual: (x: Matrix, labels: [Int]),
        options: UnlearningOptions, report: inout UpdateReport, clock: inout PhaseClock
    ) throws(UnlearningError) -> (Network, [Slice]) {
        guard options.dampeningAlpha > 0, options.dampeningAlpha.isFinite,
            options.dampeningLambda >= 0, options.dampeningLambda.isFinite
        else {
            throw UnlearningError(
                .invalidOptions,
                "dampening needs a finite alpha > 0 and lambda >= 0, got alpha \(options.dampeningAlpha), lambda "
                    + "\(options.dampeningLambda); the paper's defaults are alpha 10, lambda 1"
            )
        }
        var scope: [Slice]? = nil
        if options.dampeningScope == .lfoci {
            var rng = SeededGenerator(seed: options.seed)
            var selecting = options
            selecting.selection = .lfoci
            let statistics = PerturbationStatistics.sample(
                model: model, batch: batch.x, labels: batch.labels, options: selecting, rng: &rng
            )
            clock.lap("perturb")
            let selected = try select(statistics: statistics, model: model, batch: batch, options: selecting, rng: &rng)
            scope = selected.slices
            report.selectionScores = selected.scores
            clock.lap("select")
        }
        let m = Double(batch.x.rows)
        let forgetSum = model.squaredGradientSum(batch.x, labels: batch.labels)
        var dataImportance = model.squaredGradientSum(residual.x, labels: residual.labels)
        Vector.axpy(1, forgetSum, &dataImportance)
        Vector.scale(&dataImportance, by: 1 / (m + Double(residual.x.rows)))
        var forgetImportance = forgetSum
        Vector.scale(&forgetImportance, by: 1 / m)
        clock.lap("importance")
        let result = SelectiveDampening.dampen(
            model, forgetImportance: forgetImportance, dataImportance: dataImportance,
            alpha: options.dampeningAlpha, lambda: options.dampeningLambda, scope: scope
        )
        clock.lap("dampen")
        report.dampenedParameters = result.dampened
        return (result.model, result.slices)
    }
}
