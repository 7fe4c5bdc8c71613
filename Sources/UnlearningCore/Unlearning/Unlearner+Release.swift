import Foundation

extension Unlearner {
    /// Releases the noise-free state: the residual bound of the state as it is now, the release rule of the policy's
    /// mode (`BudgetPolicy`), the Gaussian mechanism, the accountant and the accuracy guard. On success
    /// `state.releasedTheta` holds the new noisy weights and the release is composed into the budget; on a refusal
    /// the weights being served stay, and the reason is raised (the model then waits for a retrain).
    ///
    /// `noiseSlices`: the slices the updates since the last release changed, the scope of `noiseScope == .block`
    /// (nil or empty: every parameter).
    public static func release(
        in state: inout UnlearningState, options: UnlearningOptions = UnlearningOptions(),
        policy: BudgetPolicy = BudgetPolicy(), noiseSlices: [Slice]? = nil
    ) -> ReleaseReport {
        let start = DispatchTime.now().uptimeNanoseconds
        let model = state.model
        let mode = policy.resolvedMode(for: model.architecture)
        var report = ReleaseReport(released: false, mode: mode)
        defer { report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        report.epsilonSpent = state.budget.epsilonSpent(delta: policy.delta)
        guard !state.budget.retrainRequired else {
            report.failure = "the model waits for a retrain (\(state.budget.retrainReasons.map(\.rawValue).joined(separator: ", ")))"
            return report
        }
        guard mode == .adaptive || model.architecture.isConvex else {
            report.failure = "certified mode needs a convex model (logistic regression); this one has hidden layers"
            report.reasonsRaised = [.removalLimit]
            state.budget.raise(.removalLimit)
            return report
        }

        // Residual bound of the state: r = ||grad F_residual(theta)||, Delta = r / lambda (strong convexity).
        let residual = state.residualIndices
        let residualX = state.trainFeatures.selectingRows(residual)
        let residualY = residual.map { state.trainLabels[$0] }
        report.gradientResidual = Vector.norm(model.objectiveGradient(residualX, labels: residualY))
        report.residualBound = model.lambda > 0 ? report.gradientResidual / model.lambda : .infinity

        var released = model
        var raised: [RetrainReason] = []
        var accounted: (sensitivity: Double, sigma: Double)?
        if options.noise {
            let ranges: [Range<Int>] =
                switch options.noiseScope {
                case .block where !(noiseSlices ?? []).isEmpty: noiseSlices!.map { model.architecture.parameterRange(of: $0) }
                default: [model.theta.indices]
                }
            let dimension = ranges.reduce(0) { $0 + $1.count }
            let sigma: Double
            switch mode {
            case .certified:
                // Delta decides release or limit; the noise is the epoch's fixed sigma.
                sigma = policy.sigma
                report.sensitivityLimit = policy.certifiedSensitivity
                let bound = SecureGaussian(sigma: sigma).sensitivityBound(report.residualBound, dimension: dimension)
                if !(bound <= policy.certifiedSensitivity) { raised.append(.removalLimit) }
                report.sensitivity = policy.certifiedSensitivity
            case .adaptive:
                sigma = max(report.residualBound * policy.gaussianCalibration / policy.epsilonStep, policy.sigmaFloor)
                if !(sigma <= policy.sigmaMax) || !sigma.isFinite {
                    raised.append(.removalLimit)
                } else if sigma > 0 {
                    report.sensitivity = SecureGaussian(sigma: sigma).sensitivityBound(report.residualBound, dimension: dimension)
                }
            }
            report.sigma = sigma
            if raised.isEmpty && sigma > 0 {
                accounted = (report.sensitivity, sigma)
                var single = PrivacyAccountant()
                single.record(sensitivity: report.sensitivity, sigma: sigma)
                report.epsilonRelease = single.epsilon(delta: policy.delta)
                let after = state.budget.accountant.epsilon(delta: policy.delta, afterRelease: report.sensitivity, sigma: sigma)
                if after > policy.epsilonBudget { raised.append(.privacyBudget) }
            }
            if raised.isEmpty && sigma > 0 {
                // The lattice discrete Gaussian of `SecureGaussian`, bits from the kernel CSPRNG unless a test fixes
                // `noiseSeed`.
                let gaussian = SecureGaussian(sigma: sigma)
                if let seed = options.noiseSeed {
                    var generator = SeededGenerator(seed: seed &+ UInt64(state.budget.accountant.releases))
                    for range in ranges { gaussian.addNoise(to: &released.theta, in: range, using: &generator) }
                } else {
                    var generator = KernelRandom()
                    for range in ranges { gaussian.addNoise(to: &released.theta, in: range, using: &generator) }
                }
            }
        }

        // Guard: validation accuracy of what would be released versus the epoch's base model.
        if raised.isEmpty, let base = state.budget.baseValidationAccuracy, state.validationFeatures.rows > 0 {
            let accuracy = released.accuracy(state.validationFeatures, labels: state.validationLabels)
            if accuracy < base - policy.maxAccuracyDrop { raised.append(.accuracyDrop) }
        }

        if raised.isEmpty {
            state.releasedTheta = released.theta == model.theta ? nil : released.theta
            if let accounted { state.budget.accountant.record(sensitivity: accounted.sensitivity, sigma: accounted.sigma) }
            report.released = true
            // Only Newton's method drives a convex model to its residual bound by construction; every other method is
            // a heuristic and is never called certified (docs/ARCHITECTURE.md, section 3.1).
            report.certified =
                mode == .certified && model.architecture.isConvex && options.resolvedMethod(for: model.architecture) == .newton
                && options.noise && options.noiseScope == .all
        }
        for reason in raised { state.budget.raise(reason) }
        report.reasonsRaised = raised
        report.epsilonSpent = state.budget.epsilonSpent(delta: policy.delta)
        let served = state.releasedModel
        let validation = validationPredictions(served, state: state)
        report.validationAccuracy = validation?.accuracy
        (report.validationLoss, report.membershipAUC) = audit(served, state: state, validation: validation, removing: [])
        return report
    }
}
