/// A request the engine refuses; the model is left untouched.
public struct UnlearningError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        case emptyBatch = "empty_batch"
        case unknownRow = "unknown_row"
        case alreadyRemoved = "already_removed"
        case duplicateRow = "duplicate_row"
        case batchTooLarge = "batch_too_large"
        case numericalFailure = "numerical_failure"
        /// The update did not reach its convergence tolerance within its caps; it was not applied.
        case notConverged = "not_converged"
        /// A heuristic update would lower validation accuracy by more than the per-update guard allows
        /// (`BudgetPolicy.maxUpdateAccuracyDrop`); it was not applied.
        case destructiveUpdate = "destructive_update"
        /// An option is outside its range; nothing was computed.
        case invalidOptions = "invalid_options"
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code.rawValue): \(reason)" }
}
