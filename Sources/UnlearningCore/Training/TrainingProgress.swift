import Foundation

/// One line of training progress (an epoch for Adam, an iteration for L-BFGS).
public struct TrainingProgress: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var objective: Double
    public var gradientNorm: Double
    public var trainAccuracy: Double
    public var validationAccuracy: Double?
}
