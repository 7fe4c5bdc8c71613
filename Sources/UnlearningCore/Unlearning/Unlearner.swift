import Dispatch
import Foundation

/// The unlearning update: a step towards the model retrained without the forgotten rows, then the residual bound,
/// the Gaussian mechanism, the budget and the accuracy guard (docs/ARCHITECTURE.md, section 3). The step is either `newton`
/// (Newton-CG to the residual optimum, `Unlearner+Newton.swift`), `lfoci`, the L-FOCI block Newton step of
/// Algorithm 1 of Mehta, Pal, Singh, Ravi, "Deep Unlearning via Randomized Conditionally Independent Hessians",
/// CVPR 2022 (`Unlearner+LFOCI.swift`), or `dampening`, Selective Synaptic Dampening (`Unlearner+Dampening.swift`).
public enum Unlearner {
    /// Forgets the training rows `rows` (one batch: a subject's or a class's rows) from `state`.
    ///
    /// On a thrown error the state is untouched (`.notConverged`: the method did not reach its tolerance within
    /// its caps). Otherwise the rows are tombstoned and, unless a limit was hit or the accuracy guard rolled it
    /// back, the noisy step is applied and the release is accounted.
    public static func forget(
        rows: [Int], in state: inout UnlearningState, options: UnlearningOptions = UnlearningOptions(),
        policy: BudgetPolicy = BudgetPolicy()
    ) throws(UnlearningError) -> UpdateReport {
        try validate(rows, state)
        let model = state.model
        let m = rows.count
        let batchX = state.trainFeatures.selectingRows(rows)
        let batchY = rows.map { state.trainLabels[$0] }
        var report = reportBefore(rows: rows, batch: (batchX, batchY), state: state, options: options)

        if state.budget.retrainRequired {
            // Stop applying approximate updates; keep recording so the retrain can exclude these rows.
            return recordWithoutStep(rows: rows, in: &state, report: report, policy: policy)
        }

        var clock = PhaseClock()
        let removing = Set(rows)
        let residualAfter = state.residualIndices.filter { !removing.contains($0) }
        let residualX = state.trainFeatures.selectingRows(residualAfter)
        let residualY = residualAfter.map { state.trainLabels[$0] }

        // 1-3. The step: a noise-free model `updated` and the slices it changed (the scope of block noise).
        let updated: MLP
        let slices: [Slice]
        switch report.method {
        case .newton:
            updated = try newtonStep(
                model: model, residual: (residualX, residualY), options: options, report: &report, clock: &clock
            )
            slices = model.architecture.allSlices
        case .lfoci:
            (updated, slices) = try lfociStep(
                model: model, state: state, batch: (batchX, batchY), residualAfter: residualAfter, residualX: residualX,
                options: options, report: &report, clock: &clock
            )
        case .dampening:
            (updated, slices) = try dampeningStep(
                model: model, state: state, batch: (batchX, batchY), residual: (residualX, residualY), options: options,
                report: &report, clock: &clock
            )
        }
        report.slices = slices
        report.blockSize = model.blockSize(slices)

        // 4. Residual bound: r = ||grad F_residual(theta')||, Delta = r / lambda (strong convexity).
        report.gradientResidual = Vector.norm(updated.objectiveGradient(residualX, labels: residualY))
        report.residualBound = model.lambda > 0 ? report.gradientResidual / model.lambda : .infinity
        clock.lap("residual")

        // 5. Gaussian mechanism: sigma = Delta sqrt(2 ln(1.25/delta)) / epsilon_step, floored. The noise goes on a
        //    copy (the release); the noise-free `updated` stays the state the next update continues from. It is the
        //    lattice discrete Gaussian of `SecureGaussian` (bits from the kernel CSPRNG unless a test fixes
        //    `noiseSeed`), so the accountant is given its sensitivity bound Delta + gamma sqrt(d), not Delta.
        var raised: [RetrainReason] = []
        var released = updated
        var accountedSensitivity = report.residualBound
        if options.noise {
            let sigma = max(
                report.residualBound * (2 * log(1.25 / policy.delta)).squareRoot() / policy.epsilonStep,
                policy.sigmaFloor
            )
            report.sigma = sigma
            let ranges: [Range<Int>] = switch options.noiseScope {
            case .all: [released.theta.indices]
            case .block: slices.map { released.architecture.parameterRange(of: $0) }
            }
            if !(sigma <= policy.sigmaMax) || !sigma.isFinite {
                raised.append(.removalLimit)
            } else if sigma > 0 {
                let gaussian = SecureGaussian(sigma: sigma)
                accountedSensitivity = gaussian.sensitivityBound(report.residualBound, dimension: ranges.reduce(0) { $0 + $1.count })
                let after = state.budget.accountant.epsilon(delta: policy.delta, afterRelease: accountedSensitivity, sigma: sigma)
                if after > policy.epsilonBudget { raised.append(.privacyBudget) }
                if raised.isEmpty {
                    if let seed = options.noiseSeed {
                        var generator = SeededGenerator(seed: seed)
                        for range in ranges { gaussian.addNoise(to: &released.theta, in: range, using: &generator) }
                    } else {
                        var generator = KernelRandom()
                        for range in ranges { gaussian.addNoise(to: &released.theta, in: range, using: &generator) }
                    }
                }
            }
            report.certified = model.architecture.isConvex && options.noiseScope == .all && raised.isEmpty
        }
        clock.lap("noise")

        // 6. Guard: validation accuracy versus the epoch's base model.
        if raised.isEmpty, let base = state.budget.baseValidationAccuracy, state.validationFeatures.rows > 0 {
            let after = released.accuracy(state.validationFeatures, labels: state.validationLabels)
            if after < base - policy.maxAccuracyDrop { raised.append(.accuracyDrop) }
        }
        clock.lap("validate")

        state.tombstone(rows)
        if raised.isEmpty {
            state.model = updated
            state.releasedTheta = released.theta == updated.theta ? nil : released.theta
            state.budget.appliedUpdates += 1
            if options.noise && report.sigma > 0 {
                state.budget.accountant.record(sensitivity: accountedSensitivity, sigma: report.sigma)
            }
            report.outcome = .applied
            if let cap = policy.maxRemovals, state.budget.removedRows >= cap { raised.append(.maxRemovals) }
        } else {
            report.outcome = raised.contains(.accuracyDrop) ? .rolledBack : .recordedOnly
        }
        for reason in raised { state.budget.raise(reason) }
        report.reasonsRaised = raised
        report.epsilonSpent = state.budget.epsilonSpent(delta: policy.delta)
        report.residualRowsAfter = state.residualCount
        let final = state.releasedModel
        report.forgottenLossAfter = mean(final.perRowLoss(batchX, labels: batchY))
        report.forgottenAccuracyAfter = final.accuracy(batchX, labels: batchY)
        report.validationAccuracyAfter = state.validationFeatures.rows > 0
            ? final.accuracy(state.validationFeatures, labels: state.validationLabels) : nil
        report.residualAccuracyAfter = final.accuracy(residualX, labels: residualY)
        (report.validationLossAfter, report.membershipAUCAfter) = audit(final, state: state, removing: [])
        clock.lap("audit")
        report.seconds = clock.laps
        return report
    }

    /// Tombstones `rows` without changing the weights, raising `reason` if given: the path of requests that arrive
    /// once a limit was reached, and of a step that failed (`failure` says why). The retrain excludes the rows.
    public static func recordWithoutStep(
        rows: [Int], in state: inout UnlearningState, options: UnlearningOptions = UnlearningOptions(),
        policy: BudgetPolicy = BudgetPolicy(), raising reason: RetrainReason, failure: String
    ) throws(UnlearningError) -> UpdateReport {
        try validate(rows, state)
        let batch = (state.trainFeatures.selectingRows(rows), rows.map { state.trainLabels[$0] })
        var report = reportBefore(rows: rows, batch: batch, state: state, options: options)
        report.failure = failure
        let raised = !state.budget.retrainReasons.contains(reason)
        state.budget.raise(reason)
        report.reasonsRaised = raised ? [reason] : []
        return recordWithoutStep(rows: rows, in: &state, report: report, policy: policy)
    }

    private static func recordWithoutStep(rows: [Int], in state: inout UnlearningState, report: UpdateReport, policy: BudgetPolicy) -> UpdateReport {
        var report = report
        state.tombstone(rows)
        report.residualRowsAfter = state.residualCount
        report.forgottenLossAfter = report.forgottenLossBefore
        report.forgottenAccuracyAfter = report.forgottenAccuracyBefore
        report.validationAccuracyAfter = report.validationAccuracyBefore
        report.validationLossAfter = report.validationLossBefore
        report.membershipAUCAfter = report.membershipAUCBefore
        report.epsilonSpent = state.budget.epsilonSpent(delta: policy.delta)
        return report
    }

    /// A record-only report with the "before" half filled in: the released model's validation accuracy, its loss and
    /// accuracy on the batch, and the audit (the batch counted as forgotten).
    static func reportBefore(
        rows: [Int], batch: (x: Matrix, labels: [Int]), state: UnlearningState, options: UnlearningOptions
    ) -> UpdateReport {
        let released = state.releasedModel
        var report = UpdateReport(
            outcome: .recordedOnly, rows: rows.count, method: options.resolvedMethod(for: state.model.architecture),
            selection: options.selection
        )
        report.validationAccuracyBefore = state.validationFeatures.rows > 0
            ? released.accuracy(state.validationFeatures, labels: state.validationLabels) : nil
        report.forgottenLossBefore = mean(released.perRowLoss(batch.x, labels: batch.labels))
        report.forgottenAccuracyBefore = released.accuracy(batch.x, labels: batch.labels)
        (report.validationLossBefore, report.membershipAUCBefore) = audit(released, state: state, removing: rows)
        return report
    }

    /// The forgetting audit under `model`: mean validation loss, and the loss-based membership AUC of every removed
    /// row (plus `removing`) against the validation rows (nil without validation rows).
    static func audit(_ model: MLP, state: UnlearningState, removing: [Int]) -> (validationLoss: Double?, membershipAUC: Double?) {
        guard state.validationFeatures.rows > 0 else { return (nil, nil) }
        let validationLosses = model.perRowLoss(state.validationFeatures, labels: state.validationLabels)
        let forgotten = Array(Set(state.removedIndices + removing)).sorted()
        let forgottenLosses = forgotten.isEmpty
            ? [] : model.perRowLoss(state.trainFeatures.selectingRows(forgotten), labels: forgotten.map { state.trainLabels[$0] })
        return (mean(validationLosses), MembershipInference.lossAUC(members: forgottenLosses, nonMembers: validationLosses))
    }

    static func validate(_ rows: [Int], _ state: UnlearningState) throws(UnlearningError) {
        guard !rows.isEmpty else {
            throw UnlearningError(.emptyBatch, "the batch holds no rows; a deletion must select at least one training row")
        }
        var seen = Set<Int>()
        for r in rows {
            guard r >= 0 && r < state.originalCount else {
                throw UnlearningError(.unknownRow, "row \(r) is not a training row (0..<\(state.originalCount))")
            }
            guard seen.insert(r).inserted else {
                throw UnlearningError(.duplicateRow, "row \(r) appears twice in the batch")
            }
            guard !state.removed[r] else {
                throw UnlearningError(.alreadyRemoved, "row \(r) was already removed; it cannot be removed twice")
            }
        }
        guard rows.count < state.residualCount else {
            throw UnlearningError(
                .batchTooLarge,
                "the batch removes \(rows.count) rows but only \(state.residualCount) remain; at least one must stay (retrain instead)"
            )
        }
    }

    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }
}

/// Wall-clock laps of the update's phases.
struct PhaseClock {
    private var last = DispatchTime.now().uptimeNanoseconds
    private(set) var laps: [String: Double] = [:]

    mutating func lap(_ name: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        laps[name, default: 0] += Double(now - last) / 1e9
        last = now
    }
}
