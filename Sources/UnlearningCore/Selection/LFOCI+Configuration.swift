extension LFOCI {
    /// A cap on the total cost of the selected variables, e.g. the parameter count of the network slices.
    public struct CostCap: Sendable, Equatable {
        /// The cost of each candidate, indexed like the candidate matrix's variables (non-negative).
        public var costs: [Int]
        /// Selection stops before the variable that would make the total exceed this.
        public var budget: Int

        public init(costs: [Int], budget: Int) {
            self.costs = costs
            self.budget = budget
        }
    }

    /// How a selection runs. Every field has a default; the defaults are L-FOCI as DESIGN.md describes it.
    public struct Configuration: Sendable, Equatable {
        /// The most variables to select; >= 1. Default 10.
        public var maxSelected: Int
        /// Optional budget on the selected variables' total cost. Default none.
        public var costCap: CostCap?
        /// Stop at the first step whose best score is <= 0 (default true). False keeps selecting the best
        /// candidate up to `maxSelected` regardless, like the `stop = FALSE` option of the FOCI R package: for
        /// diagnostics and worst-case benchmarks, not for choosing a Markov blanket.
        public var stopAtNonPositiveScore: Bool
        /// L-CODEC noise (default, 1% of each variable's smallest gap) or exact tie handling.
        public var tieBreaking: TieBreaking
        /// Nearest-neighbour search: `.pruned` (default) or `.bruteForce` (baseline).
        public var search: NeighbourSearch
        /// Seed of every random choice (noise, tie draws). Same seed, same input: same selection.
        public var seed: UInt64
        /// Evaluate candidates on all cores. Default true.
        public var parallel: Bool
        /// How many X-neighbours per sample the pruned search precomputes per step (the walk continues along
        /// the candidate's sort order beyond them, so this only tunes speed); 1...4096, default 32 (measured
        /// fastest of 8, 16, 32, 64 on MLP activations).
        public var pruningListLength: Int

        public init(
            maxSelected: Int = 10, costCap: CostCap? = nil, stopAtNonPositiveScore: Bool = true,
            tieBreaking: TieBreaking = .default, search: NeighbourSearch = .pruned, seed: UInt64 = 0,
            parallel: Bool = true, pruningListLength: Int = 32
        ) {
            self.maxSelected = maxSelected
            self.costCap = costCap
            self.stopAtNonPositiveScore = stopAtNonPositiveScore
            self.tieBreaking = tieBreaking
            self.search = search
            self.seed = seed
            self.parallel = parallel
            self.pruningListLength = pruningListLength
        }

        func validate(candidateCount p: Int) throws(SelectionError) {
            if maxSelected < 1 {
                throw SelectionError(.invalidConfiguration, "maxSelected is \(maxSelected); it must be at least 1")
            }
            if !(1...4096).contains(pruningListLength) {
                throw SelectionError(
                    .invalidConfiguration, "pruningListLength is \(pruningListLength); use a value in 1...4096 (default 64)"
                )
            }
            try tieBreaking.validate()
            if let cap = costCap {
                if cap.costs.count != p {
                    throw SelectionError(
                        .lengthMismatch,
                        "the cost cap lists \(cap.costs.count) costs for \(p) candidates; give one cost per candidate"
                    )
                }
                if let j = cap.costs.firstIndex(where: { $0 < 0 }) {
                    throw SelectionError(
                        .invalidConfiguration, "candidate \(j) has the negative cost \(cap.costs[j]); costs must be >= 0"
                    )
                }
                if cap.budget < 0 {
                    throw SelectionError(.invalidConfiguration, "the cost budget is \(cap.budget); it must be >= 0")
                }
            }
        }
    }
}
