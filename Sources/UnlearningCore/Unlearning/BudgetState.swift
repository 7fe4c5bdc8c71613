/// Budget bookkeeping of one budget epoch; serialised into every snapshot's manifest.
public struct BudgetState: Codable, Sendable, Equatable {
    public var epoch: Int = 1
    public var accountant = PrivacyAccountant()
    /// Rows removed since the epoch's base (applied or only recorded).
    public var removedRows: Int = 0
    /// Updates whose step was applied to the weights.
    public var appliedUpdates: Int = 0
    /// Non-empty once a limit was hit: approximate updates stop until a retrained base is installed.
    public var retrainReasons: [RetrainReason] = []
    /// Validation accuracy of the epoch's base model (the reference of the accuracy guard).
    public var baseValidationAccuracy: Double?

    public init() {}

    public var retrainRequired: Bool { !retrainReasons.isEmpty }

    mutating func raise(_ reason: RetrainReason) {
        if !retrainReasons.contains(reason) {
            retrainReasons.append(reason)
            retrainReasons.sort()
        }
    }

    public func epsilonSpent(delta: Double) -> Double { accountant.epsilon(delta: delta) }
}
