/// Why a model needs retraining (the reasons of the retrain-required event).
public enum RetrainReason: String, Codable, Sendable, CaseIterable, Comparable {
    case privacyBudget = "privacy_budget"
    case removalLimit = "removal_limit"
    case accuracyDrop = "accuracy_drop"
    case maxRemovals = "max_removals"

    public static func < (a: RetrainReason, b: RetrainReason) -> Bool { a.rawValue < b.rawValue }
}
