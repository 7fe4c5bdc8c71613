import Foundation

/// What a training run did.
public struct TrainingReport: Sendable, Codable, Equatable {
    public var method: String
    public var steps: Int
    public var objective: Double
    public var gradientNorm: Double
    public var converged: Bool
    public var seconds: Double
}
