extension Unlearner {
    /// The `neggrad` step: NegGrad+ (Kurmanji, Triantafillou, Hayes, Triantafillou, "Towards Unbounded Machine
    /// Unlearning", NeurIPS 2023, their NegGrad+ baseline): `neggradSteps` steps of the chosen optimiser on
    /// beta F_residual(B_r) - (1 - beta) L_forget(B_f), where B_r is a seeded residual mini-batch, F_residual the
    /// model's objective on it (mean loss plus the L2 term) and L_forget the mean loss of a mini-batch B_f of the
    /// forgotten rows (at most `neggradBatchSize` rows, cycling through them). Every parameter may change.
    static func neggradStep(
        model: Network, batch: (x: Matrix, labels: [Int]), residual: (x: Matrix, labels: [Int]), options: UnlearningOptions,
        report: inout UpdateReport, clock: inout PhaseClock
    ) -> (Network, [Slice]) {
        var updated = model
        let beta = options.neggradBeta
        var residualBatches = MiniBatches(count: residual.x.rows, seed: options.seed &+ residualBatchSeed)
        var forgetBatches = MiniBatches(count: batch.x.rows, seed: options.seed &+ forgetBatchSeed)
        var optimizer = StepOptimizer(options.neggradOptimizer, learningRate: options.neggradLearningRate, parameterCount: model.parameterCount)
        for _ in 0..<options.neggradSteps {
            let r = residualBatches.next(options.neggradBatchSize)
            var g = updated.objectiveGradient(residual.x.selectingRows(r), labels: r.map { residual.labels[$0] })
            Vector.scale(&g, by: beta)
            let f = forgetBatches.next(options.neggradBatchSize)
            let forget = updated.lossGradientSum(batch.x.selectingRows(f), labels: f.map { batch.labels[$0] })
            Vector.axpy(-(1 - beta) / Double(f.count), forget, &g)
            optimizer.step(&updated.theta, gradient: g)
        }
        report.optimizerSteps = optimizer.steps
        clock.lap("neggrad")
        return (updated, model.architecture.allSlices)
    }
}
