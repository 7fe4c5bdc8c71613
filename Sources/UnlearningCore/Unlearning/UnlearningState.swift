/// Everything the engine needs about one model: weights, the training rows (standardised), which rows are gone,
/// the validation rows, and the budget state.
public struct UnlearningState: Sendable {
    /// The noise-free model the updates continue from (secret when noise is on: it is what the noise hides).
    public var model: Network
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
    /// `newton`'s preconditioner for the current base, built by `prepareNewtonPreconditioner` (at load and after a
    /// rebase); runtime state, never part of a snapshot. Copies of the state share it (it is immutable).
    public internal(set) var newtonPreconditioning: NewtonPreconditioning?

    public init(
        model: Network, trainFeatures: Matrix, trainLabels: [Int], validationFeatures: Matrix, validationLabels: [Int],
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
    public var releasedModel: Network {
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
    public mutating func rebase(model: Network) {
        self.model = model
        self.releasedTheta = nil
        self.newtonPreconditioning = nil  // it approximated the old base's curvature; the caller rebuilds it
        let epoch = budget.epoch
        budget = BudgetState()
        budget.epoch = epoch + 1
        if validationFeatures.rows > 0 {
            budget.baseValidationAccuracy = model.accuracy(validationFeatures, labels: validationLabels)
        }
    }
}
