extension LFOCI {
    /// One selected variable.
    public struct Step: Sendable, Equatable {
        /// Index of the variable in the candidate matrix.
        public let candidate: Int
        /// T_n(Y, Z) for the first step, T_n(Y, Z | variables selected before) after it; > 0 (and above the
        /// step's noise threshold) unless `Configuration.stopAtNonPositiveScore` is false.
        public let score: Double
        /// Total cost of the variables selected so far, this one included (0 without a cost cap).
        public let cumulativeCost: Int
    }

    /// Why selection ended.
    public enum StopReason: Sendable, Equatable {
        /// The best remaining candidate scored <= 0: nothing left adds information about Y.
        case nonPositiveScore(candidate: Int, score: Double)
        /// The best remaining candidate scored > 0 but not above `threshold`, the level of the estimator's noise
        /// at this step (`Configuration.NoiseGate`): its score is what a variable without information reaches.
        case withinNoise(candidate: Int, score: Double, threshold: Double)
        /// `Configuration.maxSelected` variables were selected.
        case maxSelected
        /// The best remaining candidate would have taken the total cost over the budget.
        case costBudget(candidate: Int, cost: Int)
        /// Every candidate was selected.
        case candidatesExhausted
        /// Y is constant, or a function of the selected variables on the sample (T's denominator is 0).
        case responseDetermined
    }

    /// The outcome of a selection: the variables in the order chosen, with their scores.
    public struct Selection: Sendable, Equatable {
        public let steps: [Step]
        public let stopReason: StopReason

        /// The selected candidate indices, in selection order.
        public var candidates: [Int] { steps.map(\.candidate) }
        /// The score of each selected candidate, in selection order.
        public var scores: [Double] { steps.map(\.score) }
    }
}
