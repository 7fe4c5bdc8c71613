extension Unlearner {
    /// Offsets of the seeds of the gradient-step methods' streams from `options.seed` (residual batches, forgotten-row
    /// batches, random labels), so that they are independent of each other and of L-FOCI's selection stream.
    static let residualBatchSeed: UInt64 = 0x9E37_79B9_7F4A_7C15
    static let forgetBatchSeed: UInt64 = 0xBF58_476D_1CE4_E5B9
    static let randomLabelSeed: UInt64 = 0x94D0_49BB_1331_11EB

    /// The `finetune` step: residual fine-tuning, the standard baseline of the deep unlearning literature (e.g. the
    /// fine-tuning baseline of Kurmanji et al., NeurIPS 2023): `finetuneSteps` Adam steps on the model's
    /// own objective over seeded residual mini-batches, from the current weights. With `finetuneScope` `.lfoci`
    /// only the slices L-FOCI selects for the batch change.
    static func finetuneStep(
        model: Network, batch: (x: Matrix, labels: [Int]), residual: (x: Matrix, labels: [Int]), options: UnlearningOptions,
        report: inout UpdateReport, clock: inout PhaseClock
    ) throws(UnlearningError) -> (Network, [Slice]) {
        let scope: [Slice]? =
            options.finetuneScope == .lfoci
            ? try lfociScope(model: model, batch: batch, options: options, report: &report, clock: &clock) : nil
        var updated = model
        report.optimizerSteps = finetune(&updated, residual: residual, steps: options.finetuneSteps, options: options, scope: scope)
        clock.lap("finetune")
        return (updated, scope ?? model.architecture.allSlices)
    }

    /// Adam on F_residual = (1/|B|) sum_B loss + (lambda/2) ||theta||^2 over `steps` seeded residual mini-batches B of
    /// `finetuneBatchSize` rows at `finetuneLearningRate`, changing only the parameters of `scope` (nil: all).
    /// Returns the steps taken.
    @discardableResult
    static func finetune(
        _ model: inout Network, residual: (x: Matrix, labels: [Int]), steps: Int, options: UnlearningOptions, scope: [Slice]?
    ) -> Int {
        guard steps > 0, residual.x.rows > 0 else { return 0 }
        var batches = MiniBatches(count: residual.x.rows, seed: options.seed &+ residualBatchSeed)
        var optimizer = StepOptimizer(
            .adam, learningRate: options.finetuneLearningRate, parameterCount: model.parameterCount,
            indices: scope.map { StepOptimizer.indices(of: $0, in: model.architecture) }
        )
        for _ in 0..<steps {
            let rows = batches.next(options.finetuneBatchSize)
            let g = model.objectiveGradient(residual.x.selectingRows(rows), labels: rows.map { residual.labels[$0] })
            optimizer.step(&model.theta, gradient: g)
        }
        return optimizer.steps
    }
}
