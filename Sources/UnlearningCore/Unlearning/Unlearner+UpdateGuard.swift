import Foundation

extension Unlearner {
    /// The per-update accuracy guard (docs/ARCHITECTURE.md, section 3.5): a heuristic update whose noise-free result
    /// loses more validation accuracy than `BudgetPolicy.allowedUpdateAccuracyDrop` against the noise-free model
    /// before it (`state.model`) is refused with `.destructiveUpdate`; the daemon then tombstones the rows without a
    /// step and raises `removal_limit`, as for `.notConverged`.
    ///
    /// Which updates: every heuristic one, i.e. every method on a non-convex network and any method other than
    /// `newton` on logistic regression. A certified update (`newton` on logistic regression) is exempt: it lands at the
    /// retrained optimum to within Delta, so whatever accuracy it loses is what retraining without the rows loses.
    ///
    /// Which rows: the validation rows whose class keeps at least one residual training row after the removal.
    /// Forgetting every row of a class makes the retrained model miss that class's validation rows too; that loss is
    /// the deletion's, not the method's, and is left to the release guard (`maxAccuracyDrop`) and to the retrain.
    public static func isGuarded(_ method: UnlearningOptions.Method, on architecture: Architecture) -> Bool {
        !(method == .newton && architecture.isConvex)
    }

    /// What the guard measured for one update.
    public struct UpdateAccuracyCheck: Sendable, Equatable {
        /// Accuracy of the noise-free model before the update, and of its noise-free result, on `rows` validation rows.
        public var before: Double
        public var after: Double
        public var rows: Int
        /// The drop the guard allows (`BudgetPolicy.allowedUpdateAccuracyDrop`).
        public var allowed: Double

        public var drop: Double { before - after }
        /// Refused when the drop exceeds the allowance (a drop equal to it passes).
        public var passes: Bool { !(drop > allowed) }
    }

    /// The guard's measurement of `updated` against `state.model`, or nil when the update is not guarded (certified,
    /// or no validation row of a class with residual training rows). `residualLabels`: the labels of the training
    /// rows left after the removal.
    public static func updateAccuracyCheck(
        _ updated: Network, method: UnlearningOptions.Method, state: UnlearningState, residualLabels: [Int], policy: BudgetPolicy
    ) -> UpdateAccuracyCheck? {
        guard isGuarded(method, on: state.model.architecture), state.validationFeatures.rows > 0 else { return nil }
        let x = state.validationFeatures
        let y = state.validationLabels
        return updateAccuracyCheck(
            before: RowPredictions(state.model, x, labels: y), after: RowPredictions(updated, x, labels: y), method: method,
            state: state, residualLabels: residualLabels, policy: policy)
    }

    /// As above, from the validation rows' predictions under `state.model` and under the update's result.
    static func updateAccuracyCheck(
        before: RowPredictions, after: RowPredictions, method: UnlearningOptions.Method, state: UnlearningState,
        residualLabels: [Int], policy: BudgetPolicy
    ) -> UpdateAccuracyCheck? {
        guard isGuarded(method, on: state.model.architecture) else { return nil }
        let classesLeft = Set(residualLabels)
        let kept = state.validationLabels.indices.filter { classesLeft.contains(state.validationLabels[$0]) }
        guard !kept.isEmpty else { return nil }
        let accuracyBefore = before.accuracy(over: kept)
        let p = state.budget.baseValidationAccuracy ?? accuracyBefore
        guard let allowed = policy.allowedUpdateAccuracyDrop(baseAccuracy: p, validationRows: kept.count) else { return nil }
        return UpdateAccuracyCheck(before: accuracyBefore, after: after.accuracy(over: kept), rows: kept.count, allowed: allowed)
    }

    /// Throws `.destructiveUpdate` when `check` fails, with the numbers and what to do (no row or label appears).
    static func enforce(_ check: UpdateAccuracyCheck?, method: UnlearningOptions.Method) throws(UnlearningError) {
        guard let check, !check.passes else { return }
        func points(_ fraction: Double) -> String { String(format: "%.2f", 100 * fraction) }
        throw UnlearningError(
            .destructiveUpdate,
            "the \(method.rawValue) update would lower validation accuracy from \(points(check.before))% to "
                + "\(points(check.after))% (a drop of \(points(check.drop)) points on the \(check.rows) validation rows "
                + "whose class keeps training rows); the per-update guard allows \(points(check.allowed)) points "
                + "(budget.max_update_accuracy_drop; by default two binomial standard errors of the base's validation "
                + "accuracy). The update was not applied: retrain the model without the removed rows, or raise "
                + "budget.max_update_accuracy_drop"
        )
    }
}
