import Foundation

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

    /// A stop rule calibrated on the estimator's own noise, applied at every step.
    ///
    /// FOCI's rule "stop when the best T is <= 0" is the right limit as m grows, but at finite m the score of a
    /// candidate that carries no information is centred at 0 with a spread of its own (at m = 1000: 0.033 for
    /// a continuous variable unconditionally, sqrt(16/(15m)), see CODECTests; 0.045 conditionally, measured; far
    /// less for a nearly constant one), so the best of p such scores is usually positive and FOCI keeps adding
    /// noise variables (measured: with Y independent of 20 candidates, 53 of 100 seeds selected 2 to 6 of them).
    ///
    /// The gate asks of the step's best candidate j whether its score is above what j itself scores without any
    /// information: it scores `probes` random row permutations of j (j's values, ties and scale, independent of Y
    /// and of the selected set by construction) against the same ranks of Y and the same neighbours in the selected
    /// set, and requires j's score to exceed their upper normal prediction bound at level `level / remaining`.
    /// If no remaining candidate carries information, each one exceeds its own bound with probability
    /// level / remaining, so by the union bound the step adds a variable with probability at most `level`,
    /// whatever the mix of candidate scales (assuming near-normal scores: kurtosis 2.6 unconditional, 3.1
    /// conditional, measured at m = 1000). FOCI's own rule stays: a step whose best score is <= 0 stops too. Cost per
    /// step: `probes` more candidate evaluations and one sort of each probe.
    public struct NoiseGate: Sendable, Equatable {
        /// The family-wise level of one step, in (0, 0.5). Default 0.05.
        public var level: Double
        /// Probes per step, 32...1024. Default 32 (K - 1 = 31 degrees of freedom for the Student-t quantile).
        public var probes: Int

        public init(level: Double = 0.05, probes: Int = 32) {
            self.level = level
            self.probes = probes
        }

        /// The score the best of `remaining` candidates must exceed, from its probes' scores: the upper normal
        /// prediction bound mean + t * s * sqrt(1 + 1/K) of K probe scores (mean and s estimated, so a further
        /// draw from the same normal exceeds it with probability exactly level / remaining), t the Student-t
        /// quantile with K - 1 degrees of freedom at 1 - level / remaining. Never below 0 (FOCI's rule). When every
        /// probe scores the same (s = 0, e.g. a tiny sample), the bound is their common score.
        func threshold(probeScores: [Double], remaining: Int) -> Double {
            let k = Double(probeScores.count)
            let mean = probeScores.reduce(0, +) / k
            let variance = probeScores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (k - 1)
            let t = Self.upperStudentQuantile(level / Double(max(remaining, 1)), degreesOfFreedom: k - 1)
            return max(0, mean + t * (variance * (1 + 1 / k)).squareRoot())
        }

        /// z with P(N(0, 1) > z) = q, for q in (0, 0.5]: bisection on 0.5 * erfc(z / sqrt 2), which decreases
        /// in z, to about 1e-12.
        static func upperNormalQuantile(_ q: Double) -> Double {
            var lo = 0.0
            var hi = 40.0
            for _ in 0..<100 {
                let mid = (lo + hi) / 2
                if 0.5 * erfc(mid / 2.0.squareRoot()) > q { lo = mid } else { hi = mid }
            }
            return (lo + hi) / 2
        }

        /// t with P(T_nu > t) = q: the Cornish-Fisher expansion of the Student-t quantile in the normal one,
        /// Abramowitz and Stegun 26.7.5 (four terms). For nu >= 31 and q >= 1e-7 its error is below 4e-4 (checked
        /// against SciPy's t.isf; the test pins three values); it underestimates t, and it is not accurate for small
        /// nu (-0.27 at nu = 7, q = 1e-6), hence at least 32 probes.
        static func upperStudentQuantile(_ q: Double, degreesOfFreedom nu: Double) -> Double {
            let z = upperNormalQuantile(q)
            let z2 = z * z
            let g1 = z * (z2 + 1) / 4
            let g2 = z * ((5 * z2 + 16) * z2 + 3) / 96
            let g3 = z * (((3 * z2 + 19) * z2 + 17) * z2 - 15) / 384
            let g4 = z * ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) / 92160
            return z + g1 / nu + g2 / (nu * nu) + g3 / (nu * nu * nu) + g4 / (nu * nu * nu * nu)
        }

        func validate() throws(SelectionError) {
            if !(level > 0 && level < 0.5) {
                throw SelectionError(.invalidConfiguration, "the noise gate's level is \(level); use a value in (0, 0.5), e.g. 0.05")
            }
            if !(32...1024).contains(probes) {
                throw SelectionError(.invalidConfiguration, "the noise gate has \(probes) probes; use 32...1024 (default 32)")
            }
        }
    }

    /// How a selection runs. Every field has a default; the defaults are L-FOCI as docs/ARCHITECTURE.md (section 3.1) describes it, with
    /// the noise gate added to its stop rule (see `NoiseGate`).
    public struct Configuration: Sendable, Equatable {
        /// The most variables to select; >= 1. Default 10.
        public var maxSelected: Int
        /// Optional budget on the selected variables' total cost. Default none.
        public var costCap: CostCap?
        /// Stop at the first step whose best score is <= 0 (default true). False keeps selecting the best
        /// candidate up to `maxSelected` regardless (the noise gate too is off), like the `stop = FALSE` option of
        /// the FOCI R package: for diagnostics and worst-case benchmarks, not for choosing a Markov blanket.
        public var stopAtNonPositiveScore: Bool
        /// The noise-calibrated stop of every step (default on); nil gives FOCI's plain rule (best score <= 0).
        public var noiseGate: NoiseGate?
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
            noiseGate: NoiseGate? = NoiseGate(), tieBreaking: TieBreaking = .default, search: NeighbourSearch = .pruned, seed: UInt64 = 0,
            parallel: Bool = true, pruningListLength: Int = 32
        ) {
            self.maxSelected = maxSelected
            self.costCap = costCap
            self.stopAtNonPositiveScore = stopAtNonPositiveScore
            self.noiseGate = noiseGate
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
                    .invalidConfiguration, "pruningListLength is \(pruningListLength); use a value in 1...4096 (default 32)"
                )
            }
            try tieBreaking.validate()
            try noiseGate?.validate()
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
