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
        /// `applied`, `recorded_only` or `release` (a release alone).
        var outcome: String
        /// Limits this update raised (the update that hit the limit carries them).
        var reasonsRaised: [String]
        var selection: String?
        var blockSize: Int
        /// The slices the step changed: (parametric layer, unit or filter), as `Architecture.parametricLayers` numbers them.
        var slices: [Slice]
        /// Parameters the dampening method scaled (nil for the other methods).
        var dampenedParameters: Int?
        /// Optimiser steps of the gradient-step methods (nil for the others).
        var optimizerSteps: Int?
        /// Parameters in SalUn's saliency mask (nil for the other methods).
        var salientParameters: Int?
        var residualBound: Double?
        var noiseSigma: Double
        var certified: Bool
        /// Epsilon spent in the epoch after this update (cumulative).
        var epsilonSpent: Double
        /// True when new weights were released in this record's snapshot.
        var released: Bool
        /// The released model's validation accuracy when released, else the noise-free state's after the update.
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
        /// The record that raised a limit (an update's cap, or a release the budget, bound or guard refused).
        var hitLimit: Bool { !reasonsRaised.isEmpty }
    }

    var model: String
    var snapshotVersion: UInt64
    var snapshotCreatedAt: String
    var epoch: Int
    var baseVersion: UInt64
    var originalRows: Int
    var residualRows: Int
    /// The network (docs/NETWORKS.md): any stack of dense, conv, pooling and residual layers.
    var architecture: Architecture
    var parameterCount: Int { architecture.parameterCount }
    var policy: BudgetPolicy?
    var budget: BudgetState?
    var updates: [Update]

    /// Delta limit (docs/ARCHITECTURE.md, sections 3.3 and 3.4): in certified mode Delta* = sigma epsilon_step /
    /// sqrt(2 ln(1.25/delta)); in adaptive mode the largest residual bound whose noise stays within sigma_max.
    var residualBoundLimit: Double? {
        guard let policy, let mode, policy.delta > 0, policy.delta < 1 else { return nil }
        return (mode == .certified ? policy.sigma : policy.sigmaMax) * policy.epsilonStep / policy.gaussianCalibration
    }

    /// The privacy mode the daemon ran with: the policy's, or the network's default when it is unset (certified for
    /// logistic regression, adaptive for every other network).
    var mode: BudgetPolicy.Mode? {
        guard let policy else { return nil }
        return updates.contains { $0.certified } ? .certified : policy.resolvedMode(for: architecture)
    }

    /// Lowest validation accuracy the accuracy guard accepts (base accuracy - max_accuracy_drop).
    var accuracyFloor: Double? {
        guard let base = budget?.baseValidationAccuracy, let policy else { return nil }
        return base - policy.maxAccuracyDrop
    }

    /// Updates of the epoch the per-update accuracy guard refused (their records' failure is `destructive_update: ...`).
    var guardRefusals: Int

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
        architecture = manifest.architecture
        policy = try? manifest.extensions?["budget_policy"].map { try $0.decode(BudgetPolicy.self) }
        budget = try? manifest.budget.decode(BudgetState.self)
        guardRefusals = manifest.updates.filter { $0.failure?.hasPrefix(UnlearningError.Code.destructiveUpdate.rawValue + ":") == true }.count
        var epsilon = 0.0
        updates = manifest.updates.enumerated().map { i, record in
            func finite(_ v: Double?) -> Double? { v.flatMap { $0.isFinite ? $0 : nil } }
            var update = Update(
                number: i + 1, time: record.time, rows: record.rowsRemoved, requests: record.requestIds.count,
                outcome: record.outcome.rawValue, reasonsRaised: record.reasons, selection: record.selection,
                blockSize: record.blockSize, slices: record.selectedSlices.map { Slice(layer: $0.layer, unit: $0.unit) },
                dampenedParameters: record.dampenedParameters, optimizerSteps: record.optimizerSteps,
                salientParameters: record.salientParameters,
                residualBound: record.residualBound >= 0 ? record.residualBound : nil,
                noiseSigma: record.noiseSigma, certified: record.certified, epsilonSpent: record.epsilonSpent,
                released: record.released,
                validationAccuracy: record.release?.released == true ? record.release?.validationAccuracy : record.validationAccuracyAfter,
                forgottenAccuracyBefore: finite(record.forgottenAccuracyBefore), forgottenAccuracyAfter: finite(record.forgottenAccuracyAfter),
                forgottenLossBefore: finite(record.forgottenLossBefore), forgottenLossAfter: finite(record.forgottenLossAfter),
                method: record.method,
                validationLossBefore: finite(record.validationLossBefore), validationLossAfter: finite(record.validationLossAfter),
                membershipAUCBefore: finite(record.membershipAUCBefore), membershipAUCAfter: finite(record.membershipAUCAfter),
                seconds: record.seconds.isEmpty ? nil : record.seconds.values.reduce(0, +)
            )
            // Records made after the limit skip the engine and carry epsilon 0: the epoch's spend is unchanged.
            if update.afterLimit { update.epsilonSpent = epsilon }
            epsilon = update.epsilonSpent
            return update
        }
    }
}
