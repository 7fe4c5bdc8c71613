import Dispatch
import Foundation

/// The unlearning update and the release (docs/ARCHITECTURE.md, section 3). An update moves the secret noise-free
/// state towards the model retrained without the forgotten rows; a release publishes that state with Gaussian noise
/// and spends budget (`Unlearner+Release.swift`). The step is either `newton` (Newton-CG to the residual optimum,
/// `Unlearner+Newton.swift`), `lfoci`, the L-FOCI block Newton step of Algorithm 1 of Mehta, Pal, Singh, Ravi,
/// "Deep Unlearning via Randomized Conditionally Independent Hessians", CVPR 2022 (`Unlearner+LFOCI.swift`), or
/// `dampening`, Selective Synaptic Dampening (`Unlearner+Dampening.swift`), or one of the gradient-step heuristics of
/// the deep unlearning literature: `finetune`, `neggrad`, `scrub`, `salun` (`Unlearner+Finetune.swift` and the
/// files named after the others).
public enum Unlearner {
    /// Forgets `rows` and releases at once: `update` then `release` (offline use and tests; the daemon releases at a
    /// cadence instead). The report carries the release in `release`.
    public static func forget(
        rows: [Int], in state: inout UnlearningState, options: UnlearningOptions = UnlearningOptions(),
        policy: BudgetPolicy = BudgetPolicy()
    ) throws(UnlearningError) -> UpdateReport {
        var report = try update(rows: rows, in: &state, options: options, policy: policy)
        guard report.outcome == .applied else { return report }
        let release = release(in: &state, options: options, policy: policy, noiseSlices: report.slices)
        report.release = release
        report.reasonsRaised += release.reasonsRaised
        report.epsilonSpent = release.epsilonSpent
        return report
    }

    /// Forgets the training rows `rows` (one batch: one or more subjects' or a class's rows) from the noise-free
    /// state. Nothing is released and no budget is spent: the released weights stay those of the last release
    /// until `release` publishes the new state.
    ///
    /// On a thrown error the state is untouched (`.notConverged`: the method did not reach its tolerance within
    /// its caps; `.destructiveUpdate`: a heuristic step would lower validation accuracy by more than the per-update
    /// guard allows, `Unlearner+UpdateGuard.swift`). Otherwise the rows are tombstoned and, unless the model already
    /// waits for a retrain, the step is applied to the noise-free state.
    public static func update(
        rows: [Int], in state: inout UnlearningState, options: UnlearningOptions = UnlearningOptions(),
        policy: BudgetPolicy = BudgetPolicy()
    ) throws(UnlearningError) -> UpdateReport {
        try validate(rows, state)
        try options.validate(for: options.resolvedMethod(for: state.model.architecture))
        let model = state.model
        let batchX = state.trainFeatures.selectingRows(rows)
        let batchY = rows.map { state.trainLabels[$0] }
        // The released model's predictions on the validation rows serve the report, its audit and, when it is the
        // noise-free model too, the guard's "before".
        let releasedValidation = validationPredictions(state.releasedModel, state: state)
        var report = reportBefore(rows: rows, batch: (batchX, batchY), state: state, options: options, validation: releasedValidation)

        if state.budget.retrainRequired {
            // Stop applying approximate updates; keep recording so the retrain can exclude these rows.
            return recordWithoutStep(rows: rows, in: &state, report: report, policy: policy)
        }

        var clock = PhaseClock()
        let removing = Set(rows)
        let residualAfter = state.residualIndices.filter { !removing.contains($0) }
        let residualX = state.trainFeatures.selectingRows(residualAfter)
        let residualY = residualAfter.map { state.trainLabels[$0] }
        clock.lap("rows")

        // 1-3. The step: a noise-free model `updated` and the slices it changed (the scope of block noise).
        let updated: Network
        let slices: [Slice]
        switch report.method {
        case .newton:
            updated = try newtonStep(
                model: model, residual: (residualX, residualY), batch: (batchX, batchY), options: options,
                preconditioner: state.newtonPreconditioning?.preconditioner, report: &report, clock: &clock
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
        case .finetune:
            (updated, slices) = try finetuneStep(
                model: model, batch: (batchX, batchY), residual: (residualX, residualY), options: options, report: &report, clock: &clock
            )
        case .neggrad:
            (updated, slices) = neggradStep(
                model: model, batch: (batchX, batchY), residual: (residualX, residualY), options: options, report: &report, clock: &clock
            )
        case .scrub:
            (updated, slices) = scrubStep(
                model: model, batch: (batchX, batchY), residual: (residualX, residualY), options: options, report: &report, clock: &clock
            )
        case .salun:
            (updated, slices) = salunStep(
                model: model, batch: (batchX, batchY), residual: (residualX, residualY), options: options, report: &report, clock: &clock
            )
        }
        report.slices = slices
        report.blockSize = model.blockSize(slices)

        // 4. Residual bound of the step: r = ||grad F_residual(theta')||, Delta = r / lambda (strong convexity). The
        // same pass gives the residual rows' accuracy for the record.
        let (residualGradient, residualLogits) = updated.objectiveGradientAndLogits(residualX, labels: residualY)
        report.gradientResidual = Vector.norm(residualGradient)
        report.residualBound = model.lambda > 0 ? report.gradientResidual / model.lambda : .infinity
        clock.lap("residual")

        // 5. The per-update guard (heuristic methods only): refuse, state untouched, a step that loses too much accuracy.
        let updatedValidation = validationPredictions(updated, state: state)
        if isGuarded(report.method, on: model.architecture), let after = updatedValidation,
            let before = state.releasedTheta == nil ? releasedValidation : validationPredictions(model, state: state)
        {
            try enforce(
                updateAccuracyCheck(
                    before: before, after: after, method: report.method, state: state, residualLabels: residualY, policy: policy),
                method: report.method
            )
        }
        clock.lap("guard")

        // The weights being served stay those of the last release (the imported base before the first one).
        if state.releasedTheta == nil { state.releasedTheta = model.theta }
        state.model = updated
        if state.releasedTheta == updated.theta { state.releasedTheta = nil }
        state.tombstone(rows)
        state.budget.appliedUpdates += 1
        report.outcome = .applied
        if let cap = policy.maxRemovals, state.budget.removedRows >= cap {
            state.budget.raise(.maxRemovals)
            report.reasonsRaised = [.maxRemovals]
        }
        report.epsilonSpent = state.budget.epsilonSpent(delta: policy.delta)
        report.residualRowsAfter = state.residualCount
        // "After" is the noise-free state the next release publishes (plus its noise).
        let forgotten = RowPredictions(updated, batchX, labels: batchY)
        report.forgottenLossAfter = forgotten.meanLoss
        report.forgottenAccuracyAfter = forgotten.accuracy
        report.validationAccuracyAfter = updatedValidation?.accuracy
        report.residualAccuracyAfter = RowPredictions(logits: residualLogits, labels: residualY).accuracy
        (report.validationLossAfter, report.membershipAUCAfter) = audit(updated, state: state, validation: updatedValidation, removing: [])
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
        var report = reportBefore(
            rows: rows, batch: batch, state: state, options: options, validation: validationPredictions(state.releasedModel, state: state))
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
    /// accuracy on the batch, and the audit (the batch counted as forgotten). `validation`: the released model's
    /// predictions on the validation rows (nil without validation rows).
    static func reportBefore(
        rows: [Int], batch: (x: Matrix, labels: [Int]), state: UnlearningState, options: UnlearningOptions, validation: RowPredictions?
    ) -> UpdateReport {
        let released = state.releasedModel
        var report = UpdateReport(
            outcome: .recordedOnly, rows: rows.count, method: options.resolvedMethod(for: state.model.architecture),
            selection: options.selection
        )
        let forgotten = RowPredictions(released, batch.x, labels: batch.labels)
        report.validationAccuracyBefore = validation?.accuracy
        report.forgottenLossBefore = forgotten.meanLoss
        report.forgottenAccuracyBefore = forgotten.accuracy
        (report.validationLossBefore, report.membershipAUCBefore) = audit(released, state: state, validation: validation, removing: rows)
        return report
    }

    /// `model`'s predictions on the state's validation rows, or nil when it has none.
    static func validationPredictions(_ model: Network, state: UnlearningState) -> RowPredictions? {
        state.validationFeatures.rows > 0 ? RowPredictions(model, state.validationFeatures, labels: state.validationLabels) : nil
    }

    /// The forgetting audit under `model`: mean validation loss, and the loss-based membership AUC of every removed
    /// row (plus `removing`) against the validation rows (nil without validation rows). `validation`: `model`'s
    /// predictions on the validation rows.
    static func audit(
        _ model: Network, state: UnlearningState, validation: RowPredictions?, removing: [Int]
    ) -> (validationLoss: Double?, membershipAUC: Double?) {
        guard let validation else { return (nil, nil) }
        let forgotten = Array(Set(state.removedIndices + removing)).sorted()
        let forgottenLosses =
            forgotten.isEmpty
            ? [] : model.perRowLoss(state.trainFeatures.selectingRows(forgotten), labels: forgotten.map { state.trainLabels[$0] })
        return (validation.meanLoss, MembershipInference.lossAUC(members: forgottenLosses, nonMembers: validation.losses))
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
