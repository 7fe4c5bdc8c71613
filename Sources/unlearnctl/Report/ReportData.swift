import Checkpoints
import Foundation
import UnlearningCore

/// What the report shows, read from one snapshot's manifest: its update records (every batch of the budget epoch
/// since the base, oldest first), the budget policy the daemon ran with, and the budget state.
struct ReportData {
    /// One update record, with the numbers the charts need.
    struct Update {
        var number: Int
        var time: String
        var rows: Int
        var requests: Int
        /// `applied`, `rolled_back` or `recorded_only`.
        var outcome: String
        /// Limits this update raised (the update that hit the limit carries them).
        var reasonsRaised: [String]
        var selection: String?
        var blockSize: Int
        var slices: Int
        var residualBound: Double?
        var noiseSigma: Double
        var certified: Bool
        /// Epsilon spent in the epoch after this update (cumulative).
        var epsilonSpent: Double
        var validationAccuracy: Double?
        var forgottenAccuracyBefore: Double?
        var forgottenAccuracyAfter: Double?
        var forgottenLossBefore: Double?
        var forgottenLossAfter: Double?
        /// `newton`, `lfoci`, ... (records before methods existed: nil, they were lfoci).
        var method: String?
        var validationLossBefore: Double?
        var validationLossAfter: Double?
        /// Loss-based membership AUC of every row removed so far against the validation rows (0.5: indistinguishable).
        var membershipAUCBefore: Double?
        var membershipAUCAfter: Double?
        var seconds: Double?

        var applied: Bool { outcome == "applied" }
        /// Recorded after the epoch's limit was reached: rows tombstoned, no step computed.
        var afterLimit: Bool { outcome == "recorded_only" && reasonsRaised.isEmpty }
        /// The update whose step was computed and then not applied because it reached a limit.
        var hitLimit: Bool { !applied && !reasonsRaised.isEmpty }
    }

    var model: String
    var snapshotVersion: UInt64
    var snapshotCreatedAt: String
    var epoch: Int
    var baseVersion: UInt64
    var originalRows: Int
    var residualRows: Int
    var parameterCount: Int
    var policy: BudgetPolicy?
    var budget: BudgetState?
    var updates: [Update]

    /// Delta limit: the largest residual bound whose required noise sigma = Delta sqrt(2 ln(1.25/delta)) /
    /// epsilon_step stays within sigma_max (docs/ARCHITECTURE.md, sections 3.3 and 3.4).
    var residualBoundLimit: Double? {
        guard let policy, policy.delta > 0, policy.delta < 1 else { return nil }
        return policy.sigmaMax * policy.epsilonStep / (2 * log(1.25 / policy.delta)).squareRoot()
    }

    /// Lowest validation accuracy the accuracy guard accepts (base accuracy - max_accuracy_drop).
    var accuracyFloor: Double? {
        guard let base = budget?.baseValidationAccuracy, let policy else { return nil }
        return base - policy.maxAccuracyDrop
    }

    var epsilonSpent: Double? {
        guard let budget else { return nil }
        return budget.epsilonSpent(delta: policy?.delta ?? BudgetPolicy().delta)
    }

    init(snapshot: Snapshot) {
        let manifest = snapshot.manifest
        model = manifest.modelId
        snapshotVersion = manifest.version
        snapshotCreatedAt = manifest.createdAt
        epoch = manifest.budgetEpoch
        baseVersion = manifest.baseVersion
        originalRows = manifest.n0
        residualRows = manifest.residualN
        parameterCount = manifest.architecture.parameterCount
        policy = try? manifest.extensions?["budget_policy"].map { try $0.decode(BudgetPolicy.self) }
        budget = try? manifest.budget.decode(BudgetState.self)
        var epsilon = 0.0
        updates = manifest.updates.enumerated().map { i, record in
            let ext = record.extensions ?? [:]
            func number(_ key: String) -> Double? {
                if case .number(let v)? = ext[key], v.isFinite { return v }
                return nil
            }
            var outcome = record.rolledBack ? "rolled_back" : "applied"
            if case .string(let o)? = ext["outcome"] { outcome = o }
            var reasons: [String] = []
            if case .array(let values)? = ext["reasons"] {
                reasons = values.compactMap { if case .string(let s) = $0 { s } else { nil } }
            }
            var selection: String?
            if case .string(let s)? = ext["selection"] { selection = s }
            var seconds: Double?
            if case .object(let laps)? = ext["seconds"] {
                seconds = laps.values.reduce(0.0) { total, v in if case .number(let n) = v { total + n } else { total } }
            }
            var update = Update(
                number: i + 1, time: record.time, rows: record.rowsRemoved, requests: record.requestIds.count,
                outcome: outcome, reasonsRaised: reasons, selection: selection, blockSize: record.blockSize,
                slices: record.selectedSlices.count, residualBound: record.residualBound >= 0 ? record.residualBound : nil,
                noiseSigma: record.noiseSigma, certified: record.certified, epsilonSpent: record.epsilonSpent,
                validationAccuracy: record.validationAccuracy,
                forgottenAccuracyBefore: number("forgotten_accuracy_before"), forgottenAccuracyAfter: number("forgotten_accuracy_after"),
                forgottenLossBefore: number("forgotten_loss_before"), forgottenLossAfter: number("forgotten_loss_after"),
                method: { if case .string(let m)? = ext["method"] { m } else { nil } }(),
                validationLossBefore: number("validation_loss_before"), validationLossAfter: number("validation_loss_after"),
                membershipAUCBefore: number("membership_auc_before"), membershipAUCAfter: number("membership_auc_after"),
                seconds: seconds
            )
            // Records made after the limit skip the engine and carry epsilon 0: the epoch's spend is unchanged.
            if update.afterLimit { update.epsilonSpent = epsilon }
            epsilon = update.epsilonSpent
            return update
        }
    }
}
