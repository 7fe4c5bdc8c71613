import Foundation

/// Budget, noise and supported-removal policy of a model (docs/ARCHITECTURE.md, section 3.4).
///
/// Releases are Gaussian mechanisms on the noise-free state (output perturbation). In `certified` mode the noise sd
/// is `sigma`, fixed by configuration for the whole budget epoch, and a release is allowed only while the residual
/// bound Delta (the distance from the state to the model retrained without the removed rows; a proof for strongly
/// convex models) is at most `certifiedSensitivity` = sigma epsilon_step / sqrt(2 ln(1.25 / delta)). The released
/// weights are then (epsilon_step, delta)-indistinguishable from the retrained model with the same noise: the
/// certified removal of Guo, Goldstein, Hannun, van der Maaten, "Certified Data Removal from Machine Learning
/// Models", ICML 2020 (Definition 1, and their rule of removing while the bound stays within what the noise covers,
/// retraining otherwise), with the Gaussian mechanism's calibration (Dwork and Roth 2014, Theorem A.1). Delta decides
/// whether a release happens, never its noise. In `adaptive` mode sigma = Delta sqrt(2 ln(1.25 / delta)) /
/// epsilon_step per release: the published sigma is a function of the data, so it is never called certified.
public struct BudgetPolicy: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable, CaseIterable {
        /// Fixed sigma per epoch; a release needs Delta <= `certifiedSensitivity` (convex models only).
        case certified
        /// sigma from each release's own Delta (today's heuristic for models without a proven bound).
        case adaptive
    }

    /// nil: `certified` for convex models (logistic regression), `adaptive` otherwise.
    public var mode: Mode? = nil
    /// Total epsilon per budget epoch.
    public var epsilonBudget: Double = 1
    /// delta of the (epsilon, delta) guarantee.
    public var delta: Double = 1e-5
    /// Epsilon of each release on its own (the Gaussian mechanism's calibration); the accountant composes them.
    public var epsilonStep: Double = 0.1
    /// `certified`: the noise sd of every release of the epoch.
    public var sigma: Double = 0.01
    /// `adaptive`: smallest noise sd ever used.
    public var sigmaFloor: Double = 0
    /// `adaptive`: largest noise sd the model tolerates; a release needing more is the supported-removal limit.
    public var sigmaMax: Double = 0.1
    /// Optional cap on removed rows per epoch.
    public var maxRemovals: Int? = nil
    /// Largest tolerated drop of validation accuracy versus the epoch's base model (the release guard).
    public var maxAccuracyDrop: Double = 0.05
    /// Largest tolerated drop of validation accuracy by one heuristic update, as a fraction (the per-update guard of
    /// `Unlearner.update`, docs/ARCHITECTURE.md section 3.5); nil: `defaultUpdateAccuracyDrop`, two binomial standard
    /// errors of the epoch base's validation accuracy.
    public var maxUpdateAccuracyDrop: Double? = nil

    public init() {}

    /// c = sqrt(2 ln(1.25 / delta)): sigma = c Delta / epsilon makes one Gaussian release (epsilon, delta)-DP for
    /// epsilon < 1 (Dwork and Roth 2014, Theorem A.1).
    public var gaussianCalibration: Double { (2 * log(1.25 / delta)).squareRoot() }

    /// `certified`: the largest residual bound a release may have, Delta* = sigma epsilon_step / c. Every release is
    /// accounted with this sensitivity, so the epsilon spent is the same for every release and data-independent.
    public var certifiedSensitivity: Double { sigma * epsilonStep / gaussianCalibration }

    /// The per-update guard's default: two binomial standard errors of an accuracy p measured on n rows,
    /// 2 sqrt(p (1 - p) / n), the normal approximation to the binomial, so a drop within it is indistinguishable from
    /// the sampling noise of the validation set. At least one row (1 / n): with p at 0 or 1 the formula gives 0, and
    /// no drop smaller than a row can be measured. nil without validation rows.
    public static func defaultUpdateAccuracyDrop(baseAccuracy p: Double, validationRows n: Int) -> Double? {
        guard n > 0, p.isFinite else { return nil }
        let q = min(max(p, 0), 1)
        return max(2 * (q * (1 - q) / Double(n)).squareRoot(), 1 / Double(n))
    }

    /// The drop of validation accuracy one heuristic update may cause: `maxUpdateAccuracyDrop` when set, else
    /// `defaultUpdateAccuracyDrop` (nil without validation rows: nothing to measure, no guard).
    public func allowedUpdateAccuracyDrop(baseAccuracy p: Double, validationRows n: Int) -> Double? {
        guard n > 0 else { return nil }
        return maxUpdateAccuracyDrop ?? Self.defaultUpdateAccuracyDrop(baseAccuracy: p, validationRows: n)
    }

    /// `mode`, or the model kind's default when it is nil.
    public func resolvedMode(for architecture: Architecture) -> Mode {
        mode ?? (architecture.isConvex ? .certified : .adaptive)
    }
}
