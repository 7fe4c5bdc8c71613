/// What one release did: the noisy weights published from the noise-free state (docs/ARCHITECTURE.md, section 3.3).
public struct ReleaseReport: Codable, Sendable, Equatable {
    /// True when new weights were released; false when a limit refused the release (`reasonsRaised`).
    public var released: Bool
    public var mode: BudgetPolicy.Mode
    /// True when the residual bound is a proof and the noise covers it: a convex model updated by `newton` (every other
    /// method is a heuristic), `certified` mode, noise on every parameter, released.
    public var certified: Bool = false
    /// Noise standard deviation (0 without noise).
    public var sigma: Double = 0
    /// ||grad F_residual(theta)|| of the noise-free state over every parameter and residual row.
    public var gradientResidual: Double = 0
    /// Delta = gradientResidual / lambda: bound on the distance to the retrained optimum (convex models).
    public var residualBound: Double = 0
    /// The L2 sensitivity the accountant was given: Delta* in `certified` mode, Delta + gamma sqrt(d) in `adaptive`.
    public var sensitivity: Double = 0
    /// `certified`: Delta*, the largest residual bound a release may have (nil in `adaptive` mode).
    public var sensitivityLimit: Double?
    /// Epsilon of this release on its own (the accountant's conversion of one release).
    public var epsilonRelease: Double = 0
    /// Epsilon of every release of the budget epoch so far, this one included when released.
    public var epsilonSpent: Double = 0
    /// Limits raised by this release (empty when none).
    public var reasonsRaised: [RetrainReason] = []
    /// Why nothing was released when no limit says so (e.g. the model already waits for a retrain).
    public var failure: String?
    /// The released model's validation accuracy and mean loss, and the loss-based membership AUC of every removed row
    /// against the validation rows (`MembershipInference`): what a user of the released weights sees.
    public var validationAccuracy: Double?
    public var validationLoss: Double?
    public var membershipAUC: Double?
    public var seconds: Double = 0

    public init(released: Bool, mode: BudgetPolicy.Mode) {
        self.released = released
        self.mode = mode
    }
}
