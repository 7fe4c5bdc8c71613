extension Unlearner {
    /// The `dampening` step: Selective Synaptic Dampening (`SelectiveDampening`) of the parameters that matter far
    /// more to the forgotten rows than to the training data.
    ///
    /// The data importance []_D is taken over the training rows before this removal (the residual rows plus the
    /// batch), as in the paper, where D is the full training set including D_f: it is the data the current weights
    /// were fitted to, and the batch's own importance is the thing compared against it. Both sums come from one
    /// pass over the rows (residual and batch separately, then added). With `dampeningScope` `.lfoci` only the
    /// slices L-FOCI selects for the batch (the `lfoci` method's selection) are eligible. With `dampeningRepairSteps`
    /// > 0 the dampened model is then fine-tuned on the residual rows for that many steps (`finetune`'s loop, every
    /// parameter), a short repair of what the dampening cost the residual rows.
    static func dampeningStep(
        model: Network, state: UnlearningState, batch: (x: Matrix, labels: [Int]), residual: (x: Matrix, labels: [Int]),
        options: UnlearningOptions, report: inout UpdateReport, clock: inout PhaseClock
    ) throws(UnlearningError) -> (Network, [Slice]) {
        let scope: [Slice]? =
            options.dampeningScope == .lfoci
            ? try lfociScope(model: model, batch: batch, options: options, report: &report, clock: &clock) : nil
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
        guard options.dampeningRepairSteps > 0 else { return (result.model, result.slices) }
        // The repair: residual fine-tuning of every parameter (`finetune`'s loop) after the dampening.
        var repaired = result.model
        report.optimizerSteps = finetune(&repaired, residual: residual, steps: options.dampeningRepairSteps, options: options, scope: nil)
        clock.lap("repair")
        return (repaired, model.architecture.allSlices)
    }
}
