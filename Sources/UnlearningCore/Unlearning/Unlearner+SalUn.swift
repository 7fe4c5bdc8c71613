extension Unlearner {
    /// The `salun` step: SalUn (Fan, Liu, Zhang, Wei, Wong, Liu, "SalUn: Empowering Machine Unlearning via
    /// Gradient-based Weight Saliency", ICLR 2024), section 4. The weight saliency mask m_S keeps the parameters
    /// whose |gradient of the forget loss| (the mean loss of the forgotten rows at their true labels, at the
    /// current weights) is among the top `salunFraction` (ties to the lower index). Then, the random-labelling variant:
    /// `salunSteps` Adam steps, on the masked parameters only, on
    /// (1/|B_f|) sum_{B_f} loss(x, y') + alpha (1/|B_r|) sum_{B_r} loss(x, y) + (lambda/2) ||theta||^2,
    /// with B_f a mini-batch of the forgotten rows whose labels y' are drawn afresh each step uniformly among the
    /// wrong classes, and B_r a seeded residual mini-batch.
    static func salunStep(
        model: Network, batch: (x: Matrix, labels: [Int]), residual: (x: Matrix, labels: [Int]), options: UnlearningOptions,
        report: inout UpdateReport, clock: inout PhaseClock
    ) -> (Network, [Slice]) {
        let architecture = model.architecture
        let forgetGradient = model.lossGradientSum(batch.x, labels: batch.labels)
        let p = model.parameterCount
        let k = min(p, max(1, Int((options.salunFraction * Double(p)).rounded(.up))))
        let salient = Array(
            (0..<p).sorted { a, b in
                let (ga, gb) = (abs(forgetGradient[a]), abs(forgetGradient[b]))
                return ga > gb || (ga == gb && a < b)
            }.prefix(k)
        ).sorted()
        var inMask = [Bool](repeating: false, count: p)
        for i in salient { inMask[i] = true }
        let slices = architecture.allSlices.filter { architecture.parameterRange(of: $0).contains { inMask[$0] } }
        report.salientParameters = k
        clock.lap("saliency")

        var updated = model
        let classes = architecture.classes
        var residualBatches = MiniBatches(count: residual.x.rows, seed: options.seed &+ residualBatchSeed)
        var forgetBatches = MiniBatches(count: batch.x.rows, seed: options.seed &+ forgetBatchSeed)
        var labelRNG = SeededGenerator(seed: options.seed &+ randomLabelSeed)
        var optimizer = StepOptimizer(.adam, learningRate: options.salunLearningRate, parameterCount: p, indices: salient)
        for _ in 0..<options.salunSteps {
            let f = forgetBatches.next(options.salunBatchSize)
            let wrong = f.map { (batch.labels[$0] + 1 + Int(labelRNG.next(upperBound: UInt64(classes - 1)))) % classes }
            var g = updated.lossGradientSum(batch.x.selectingRows(f), labels: wrong)
            Vector.scale(&g, by: 1 / Double(f.count))
            let r = residualBatches.next(options.salunBatchSize)
            let retain = updated.lossGradientSum(residual.x.selectingRows(r), labels: r.map { residual.labels[$0] })
            Vector.axpy(options.salunAlpha / Double(r.count), retain, &g)
            Vector.axpy(updated.lambda, updated.theta, &g)
            optimizer.step(&updated.theta, gradient: g)
        }
        report.optimizerSteps = optimizer.steps
        clock.lap("salun")
        return (updated, slices)
    }
}
