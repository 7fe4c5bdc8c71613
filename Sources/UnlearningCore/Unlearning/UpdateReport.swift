/// What one unlearning update did to the noise-free state (one record per update in the snapshot manifest), and the
/// release that followed it when there was one.
public struct UpdateReport: Codable, Sendable {
    public enum Outcome: String, Codable, Sendable {
        /// The step was applied to the noise-free state.
        case applied
        /// A limit was hit (now or earlier): rows are tombstoned, the weights are unchanged.
        case recordedOnly = "recorded_only"
    }

    public var outcome: Outcome
    /// Limits raised by this update (empty when none).
    public var reasonsRaised: [RetrainReason] = []
    public var rows: Int
    /// The method that computed the step.
    public var method: UnlearningOptions.Method
    /// Block selection of the `lfoci` method (reported as given, unused by `newton`).
    public var selection: UnlearningOptions.Selection
    public var slices: [Slice] = []
    /// L-FOCI scores T(Y, Z_j | selected) at each step, when L-FOCI ran.
    public var selectionScores: [Double] = []
    public var blockSize: Int = 0
    /// Damping added to the Hessian block to make it positive definite (0: none needed).
    public var damping: Double = 0
    /// Newton steps taken (`newton`; for `lfoci` the block steps kept, 1 unless `lfociSteps` > 1).
    public var newtonIterations: Int = 0
    /// Conjugate-gradient iterations over all solves (0 when the solve was a dense Cholesky).
    public var cgIterations: Int = 0
    /// Hessian-vector products computed (CG iterations plus residual checks).
    public var hessianVectorProducts: Int = 0
    /// Rank of the Nyström preconditioner `newton`'s CG solves used (0: plain CG).
    public var preconditionerRank: Int = 0
    /// `dampening`: parameters scaled down by the update (nil for the other methods).
    public var dampenedParameters: Int?
    /// Optimiser steps of the gradient-step methods (`finetune`, `neggrad`, `scrub` max- plus min-steps, `salun`,
    /// the dampening repair); nil for the others.
    public var optimizerSteps: Int?
    /// `salun`: parameters in the saliency mask (nil for the other methods).
    public var salientParameters: Int?
    /// ||grad F_residual(theta')|| over all parameters and residual rows, after the step, before noise.
    public var gradientResidual: Double = 0
    /// Delta = gradientResidual / lambda: bound on the distance to the retrained optimum (convex models).
    public var residualBound: Double = 0
    /// Epsilon spent in the budget epoch after the update (and its release, if any).
    public var epsilonSpent: Double = 0
    /// The release made right after the update (`Unlearner.forget`, or the daemon when its cadence falls here).
    public var release: ReleaseReport?
    /// The release's noise sd (0 when none was made).
    public var sigma: Double { release?.sigma ?? 0 }
    /// True when the update was released under a certified bound (`ReleaseReport.certified`).
    public var certified: Bool { release?.certified ?? false }
    public var validationAccuracyBefore: Double?
    public var validationAccuracyAfter: Double?
    /// Accuracy of the released model on the residual training rows after the update.
    public var residualAccuracyAfter: Double?
    /// Mean loss on the forgotten rows before and after the update.
    public var forgottenLossBefore: Double = 0
    public var forgottenLossAfter: Double = 0
    public var forgottenAccuracyBefore: Double = 0
    public var forgottenAccuracyAfter: Double = 0
    /// Mean loss of the released model on the validation rows (the non-member reference) before and after.
    public var validationLossBefore: Double?
    public var validationLossAfter: Double?
    /// Loss-based membership inference AUC (`MembershipInference`) of every row removed so far, this batch
    /// included, against the validation rows, under the released model before and after the update. 0.5: the
    /// forgotten rows look like rows the model never saw; compare with a retrained model's value.
    public var membershipAUCBefore: Double?
    public var membershipAUCAfter: Double?
    /// Why the step was not applied when the method failed or was refused (e.g. `not_converged: ...`, or
    /// `destructive_update: ...` with the validation accuracy the step would have had); the rows stay tombstoned.
    public var failure: String?
    public var residualRowsAfter: Int = 0
    /// Wall time per phase in seconds: rows (gathering the residual rows), then perturb, select, gradient, hessian,
    /// solve (lfoci), newton, or importance, dampen, repair (dampening), or finetune, neggrad, scrub, saliency, salun,
    /// then residual, guard (the per-update accuracy guard), audit.
    public var seconds: [String: Double] = [:]

    public var totalSeconds: Double { seconds.values.reduce(0, +) }
}
