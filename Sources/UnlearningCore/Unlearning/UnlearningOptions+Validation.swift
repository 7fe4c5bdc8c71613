extension UnlearningOptions {
    /// Throws `invalidOptions` for the first hyperparameter `method` uses that is outside its range, naming the
    /// option (and its daemon configuration key), the value and the valid range. Called before the update touches
    /// the state.
    public func validate(for method: Method) throws(UnlearningError) {
        switch method {
        case .newton:
            return
        case .lfoci:
            try Self.require(lfociSteps >= 1, "lfociSteps", "lfoci_steps", lfociSteps, "an integer >= 1 (1: the paper's single step)")
        case .dampening:
            guard dampeningAlpha > 0, dampeningAlpha.isFinite, dampeningLambda >= 0, dampeningLambda.isFinite else {
                throw UnlearningError(
                    .invalidOptions,
                    "dampening needs a finite alpha > 0 and lambda >= 0, got alpha \(dampeningAlpha), lambda \(dampeningLambda); "
                        + "the paper's defaults are alpha 10, lambda 1"
                )
            }
            try Self.require(dampeningRepairSteps >= 0, "dampeningRepairSteps", "dampening_repair_steps", dampeningRepairSteps, "an integer >= 0")
            if dampeningRepairSteps > 0 { try validateFinetune() }
        case .finetune:
            try validateFinetune()
        case .neggrad:
            try Self.steps(neggradSteps, "neggradSteps", "neggrad_steps")
            try Self.batchSize(neggradBatchSize, "neggradBatchSize", "neggrad_batch_size")
            try Self.rate(neggradLearningRate, "neggradLearningRate", "neggrad_learning_rate")
            try Self.require((0...1).contains(neggradBeta), "neggradBeta", "neggrad_beta", neggradBeta, "a number in [0, 1]")
        case .scrub:
            try Self.steps(scrubMaxSteps, "scrubMaxSteps", "scrub_max_steps")
            try Self.steps(scrubMinSteps, "scrubMinSteps", "scrub_min_steps")
            try Self.batchSize(scrubBatchSize, "scrubBatchSize", "scrub_batch_size")
            try Self.rate(scrubLearningRate, "scrubLearningRate", "scrub_learning_rate")
            try Self.weight(scrubAlpha, "scrubAlpha", "scrub_alpha")
            try Self.weight(scrubGamma, "scrubGamma", "scrub_gamma")
            try Self.require(
                scrubTemperature > 0 && scrubTemperature.isFinite, "scrubTemperature", "scrub_temperature", scrubTemperature,
                "a finite number > 0 (the paper's 4)")
        case .salun:
            try Self.require(
                salunFraction > 0 && salunFraction <= 1, "salunFraction", "salun_fraction", salunFraction, "a number in (0, 1] (the paper's 0.5)")
            try Self.steps(salunSteps, "salunSteps", "salun_steps")
            try Self.batchSize(salunBatchSize, "salunBatchSize", "salun_batch_size")
            try Self.rate(salunLearningRate, "salunLearningRate", "salun_learning_rate")
            try Self.weight(salunAlpha, "salunAlpha", "salun_alpha")
        }
    }

    private func validateFinetune() throws(UnlearningError) {
        try Self.steps(finetuneSteps, "finetuneSteps", "finetune_steps")
        try Self.batchSize(finetuneBatchSize, "finetuneBatchSize", "finetune_batch_size")
        try Self.rate(finetuneLearningRate, "finetuneLearningRate", "finetune_learning_rate")
    }

    private static func steps(_ value: Int, _ name: String, _ key: String) throws(UnlearningError) {
        try require(value >= 0, name, key, value, "an integer >= 0")
    }

    private static func batchSize(_ value: Int, _ name: String, _ key: String) throws(UnlearningError) {
        try require(value >= 1, name, key, value, "an integer >= 1")
    }

    private static func rate(_ value: Double, _ name: String, _ key: String) throws(UnlearningError) {
        try require(value > 0 && value.isFinite, name, key, value, "a finite number > 0")
    }

    private static func weight(_ value: Double, _ name: String, _ key: String) throws(UnlearningError) {
        try require(value >= 0 && value.isFinite, name, key, value, "a finite number >= 0")
    }

    private static func require(_ valid: Bool, _ name: String, _ key: String, _ value: some CustomStringConvertible, _ range: String)
        throws(UnlearningError)
    {
        guard !valid else { return }
        throw UnlearningError(.invalidOptions, "\(name) (configuration key unlearning.\(key)) must be \(range), got \(value)")
    }
}
