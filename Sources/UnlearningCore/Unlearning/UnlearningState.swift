/// Why a model needs retraining (the reasons of the retrain-required event).
public enum RetrainReason: String, Codable, Sendable, CaseIterable, Comparable {
    case privacyBudget = "privacy_budget"
    case removalLimit = "removal_limit"
    case accuracyDrop = "accuracy_drop"
    case maxRemovals = "max_removals"

    public static func < (a: RetrainReason, b: RetrainReason) -> Bool { a.rawValue < b.rawValue }
}

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

/// Everything the engine needs about one model: weights, the training rows (standardised), which rows are gone,
/// the validation rows, and the budget state.
public struct UnlearningState: Sendable {
    /// The noise-free model the updates continue from (secret when noise is on: it is what the noise hides).
    public var model: MLP
    /// Parameters of the released model (`model` plus the last update's Gaussian noise), or nil when they equal
    /// `model`'s. Output perturbation with a secret noise-free state: each update computes its step and residual
    /// bound on the noise-free model and releases it with fresh noise, so noise never enters the next residual.
    public var releasedTheta: [Double]?
    /// Standardised training features, n0 x d (never modified: removed rows are tombstoned).
    public let trainFeatures: Matrix
    public let trainLabels: [Int]
    public let validationFeatures: Matrix
    public let validationLabels: [Int]
    /// `removed[i]` is true once training row i was forgotten.
    public private(set) var removed: [Bool]
    public var budget: BudgetState

    public init(
        model: MLP, trainFeatures: Matrix, trainLabels: [Int], validationFeatures: Matrix, validationLabels: [Int],
        removed: [Bool]? = nil, budget: BudgetState = BudgetState(), releasedTheta: [Double]? = nil
    ) {
        precondition(trainFeatures.rows == trainLabels.count && validationFeatures.rows == validationLabels.count)
        self.model = model
        self.trainFeatures = trainFeatures
        self.trainLabels = trainLabels
        self.validationFeatures = validationFeatures
        self.validationLabels = validationLabels
        self.removed = removed ?? [Bool](repeating: false, count: trainLabels.count)
        self.budget = budget
        self.releasedTheta = releasedTheta
        if self.budget.baseValidationAccuracy == nil, validationFeatures.rows > 0 {
            self.budget.baseValidationAccuracy = model.accuracy(validationFeatures, labels: validationLabels)
        }
    }

    /// The model as released (what users load and what the accuracy guard checks).
    public var releasedModel: MLP {
        guard let releasedTheta else { return model }
        var m = model
        m.theta = releasedTheta
        return m
    }

    /// n0: rows the model was originally trained on.
    public var originalCount: Int { trainLabels.count }
    /// n: rows not yet removed.
    public var residualCount: Int { removed.count - removedIndices.count }
    public var removedIndices: [Int] { removed.indices.filter { removed[$0] } }
    public var residualIndices: [Int] { removed.indices.filter { !removed[$0] } }

    mutating func tombstone(_ rows: [Int]) {
        for r in rows { removed[r] = true }
        budget.removedRows += rows.count
    }

    /// Installs a retrained model as the base of a new budget epoch; `removed` carries over (those rows were
    /// excluded from the retrain).
    public mutating func rebase(model: MLP) {
        self.model = model
        self.releasedTheta = nil
        let epoch = budget.epoch
        budget = BudgetState()
        budget.epoch = epoch + 1
        if validationFeatures.rows > 0 {
            budget.baseValidationAccuracy = model.accuracy(validationFeatures, labels: validationLabels)
        }
    }
}
