extension Unlearner {
    /// The `scrub` step: SCRUB (Kurmanji, Triantafillou, Hayes, Triantafillou, "Towards Unbounded Machine
    /// Unlearning", NeurIPS 2023, section 3). The teacher is the model before the update; the student
    /// starts from it and alternates
    /// - max-steps: ascend (1/|B_f|) sum_{B_f} d(x) on a mini-batch of the forgotten rows, and
    /// - min-steps: descend (1/|B_r|) sum_{B_r} [alpha d(x) + gamma loss(x, y)] + (lambda/2) ||theta||^2 on a seeded
    ///   residual mini-batch (the model's L2 term standing in for the paper's weight decay),
    /// where d(x) = T^2 KL(teacher(x) || student(x)) at temperature T (`Network.distillation`). The min-steps are
    /// split into `scrubMaxSteps + 1` equal phases with one max-step before each but the last: the paper runs its
    /// max epochs first and keeps min epochs after them to restore the residual performance. One Adam state serves
    /// both kinds of step, as in the paper's code.
    static func scrubStep(
        model: Network, batch: (x: Matrix, labels: [Int]), residual: (x: Matrix, labels: [Int]), options: UnlearningOptions,
        report: inout UpdateReport, clock: inout PhaseClock
    ) -> (Network, [Slice]) {
        let teacher = model
        var student = model
        let t = options.scrubTemperature
        let (alpha, gamma) = (options.scrubAlpha, options.scrubGamma)
        let classes = model.architecture.classes
        var residualBatches = MiniBatches(count: residual.x.rows, seed: options.seed &+ residualBatchSeed)
        var forgetBatches = MiniBatches(count: batch.x.rows, seed: options.seed &+ forgetBatchSeed)
        var optimizer = StepOptimizer(.adam, learningRate: options.scrubLearningRate, parameterCount: model.parameterCount)
        let phases = options.scrubMaxSteps + 1
        for phase in 0..<phases {
            if phase < options.scrubMaxSteps {
                let f = forgetBatches.next(options.scrubBatchSize)
                let x = batch.x.selectingRows(f)
                let teacherLogits = teacher.logits(x)
                var g = student.cotangentGradientSum(x) { pass, rows in
                    Network.distillation(student: pass.logits, teacher: teacherLogits.selectingRows(rows), temperature: t).cotangent
                }
                Vector.scale(&g, by: -1 / Double(f.count))
                optimizer.step(&student.theta, gradient: g)
            }
            let minSteps = options.scrubMinSteps / phases + (phase < options.scrubMinSteps % phases ? 1 : 0)
            for _ in 0..<minSteps {
                let r = residualBatches.next(options.scrubBatchSize)
                let x = residual.x.selectingRows(r)
                let labels = r.map { residual.labels[$0] }
                let teacherLogits = teacher.logits(x)
                var g = student.cotangentGradientSum(x) { pass, rows in
                    var c = Network.lossDelta(pass, labels: Array(labels[rows]), classes: classes)
                    let kl = Network.distillation(student: pass.logits, teacher: teacherLogits.selectingRows(rows), temperature: t).cotangent
                    for i in c.storage.indices { c.storage[i] = gamma * c.storage[i] + alpha * kl.storage[i] }
                    return c
                }
                Vector.scale(&g, by: 1 / Double(r.count))
                Vector.axpy(student.lambda, student.theta, &g)
                optimizer.step(&student.theta, gradient: g)
            }
        }
        report.optimizerSteps = optimizer.steps
        clock.lap("scrub")
        return (student, model.architecture.allSlices)
    }
}
