/// L-FOCI: greedy Markov-blanket selection of the variables that carry information about a response Y
/// (Azadkia and Chatterjee's FOCI, with the L-CODEC randomised tie-breaking of Mehta et al., CVPR 2022).
///
/// Step 1 picks the candidate Z with the largest unconditional T_n(Y, Z); step k picks the one with the
/// largest T_n(Y, Z | selected). Selection stops when the best score is <= 0, when a step's best score
/// is within the estimator's noise (`Configuration.NoiseGate`, on by default), when `maxSelected`
/// variables are chosen, when the best candidate's cost would exceed the budget, or when Y is a function of the
/// selected variables on the sample (T's denominator is 0). Results are deterministic given
/// `Configuration.seed`, whatever the number of threads.
///
/// Cost: one O(mp log m) preparation (noise, sort orders), then per step O(mp) for the unconditional step or
/// O(m^2 d) + about O(mp * visited) for a conditional one with the pruned search; the candidates of a step are
/// evaluated in parallel on all cores. The noise gate adds, per step, the preparation and evaluation of its
/// `probes` permutations of the best candidate (as many as 32 more candidates by default).
public enum LFOCI {
    /// Selects variables of `candidates` (m samples, p variables, column-major) that explain `response`
    /// (m values, one per sample, in the same sample order).
    public static func select(
        response: [Double], candidates: CandidateMatrix, configuration: Configuration = Configuration()
    ) throws(SelectionError) -> Selection {
        let m = candidates.sampleCount
        let p = candidates.variableCount
        try validate(response: response, candidates: candidates, configuration: configuration)

        let ranks = ResponseRanks(response)
        let engine = LFOCIEngine(
            ranks: ranks,
            columns: PreparedColumns(
                columnMajor: candidates.values, m: m, p: p, tieBreaking: configuration.tieBreaking,
                seed: configuration.seed, parallel: configuration.parallel
            ),
            tieBreaking: configuration.tieBreaking, search: configuration.search, seed: configuration.seed,
            parallel: configuration.parallel, listLength: configuration.pruningListLength
        )
        let gate = configuration.stopAtNonPositiveScore ? configuration.noiseGate : nil

        var steps: [Step] = []
        var selected: [Int] = []
        var excluded = [Bool](repeating: false, count: p)
        var spent = 0
        while true {
            if selected.count >= configuration.maxSelected {
                return Selection(steps: steps, stopReason: .maxSelected)
            }
            if selected.count == p {
                return Selection(steps: steps, stopReason: .candidatesExhausted)
            }
            let stepIndex = selected.count
            // The step's conditioning set (none for step 1) and how a neighbour sum becomes the step's score.
            let conditioning: ConditioningSet?
            let score: (Int) -> Double
            if selected.isEmpty {
                if ranks.unconditionalDenominator == 0 {
                    return Selection(steps: steps, stopReason: .responseDetermined)
                }
                conditioning = nil
                score = { ranks.unconditionalScore(neighbourSum: $0) }
            } else {
                let x = engine.conditioningSet(selected, step: stepIndex)
                let sN = ranks.neighbourSum(x.nearest)
                if ranks.sumOfR - sN == 0 {
                    return Selection(steps: steps, stopReason: .responseDetermined)
                }
                conditioning = x
                score = { ranks.conditionalScore(neighbourSum: $0, conditioningSum: sN) }
            }
            let sums = engine.neighbourSums(conditioning: conditioning, excluded: excluded, step: stepIndex)
            let j = argmax(sums)
            let best = (candidate: j, score: score(sums[j]))
            if !(best.score > 0) && configuration.stopAtNonPositiveScore {
                return Selection(steps: steps, stopReason: .nonPositiveScore(candidate: best.candidate, score: best.score))
            }
            if let gate {
                let probeScores = probeNeighbourSums(
                    of: best.candidate, candidates: candidates, gate: gate, ranks: ranks, conditioning: conditioning,
                    configuration: configuration, step: stepIndex
                ).map(score)
                let threshold = gate.threshold(probeScores: probeScores, remaining: p - selected.count)
                if !(best.score > threshold) {
                    return Selection(
                        steps: steps,
                        stopReason: .withinNoise(candidate: best.candidate, score: best.score, threshold: threshold)
                    )
                }
            }
            if let cap = configuration.costCap {
                let cost = cap.costs[best.candidate]
                if spent + cost > cap.budget {
                    return Selection(steps: steps, stopReason: .costBudget(candidate: best.candidate, cost: cost))
                }
                spent += cost
            }
            selected.append(best.candidate)
            excluded[best.candidate] = true
            steps.append(Step(candidate: best.candidate, score: best.score, cumulativeCost: spent))
        }
    }

    /// The first index of the largest value (the lowest index wins ties, for determinism).
    private static func argmax(_ sums: [Int]) -> Int {
        var best = 0
        for j in 1..<sums.count where sums[j] > sums[best] { best = j }
        return best
    }

    /// The noise gate's probes of candidate `j` at step `step`: `gate.probes` uniformly random row permutations
    /// of j's values (no information about Y or the selected set, j's marginal, ties and scale), prepared with
    /// their own tie-breaking noise and scored like a candidate against the same ranks and conditioning set.
    /// Seeds: stream family 3 of the run's seed (noise and tie draws use families 0 and 1).
    private static func probeNeighbourSums(
        of j: Int, candidates: CandidateMatrix, gate: NoiseGate, ranks: ResponseRanks, conditioning: ConditioningSet?,
        configuration: Configuration, step: Int
    ) -> [Int] {
        let m = candidates.sampleCount
        var rng = SeededGenerator(seed: configuration.seed, stream: 3 << 40 | UInt64(step))
        let probeSeed = rng.next()
        let source = Array(candidates.column(j))
        var values = [Double]()
        values.reserveCapacity(gate.probes * m)
        for _ in 0..<gate.probes {
            var column = source
            column.shuffle(using: &rng)
            values += column
        }
        let probes = LFOCIEngine(
            ranks: ranks,
            columns: PreparedColumns(
                columnMajor: values, m: m, p: gate.probes, tieBreaking: configuration.tieBreaking, seed: probeSeed,
                parallel: configuration.parallel
            ),
            tieBreaking: configuration.tieBreaking, search: configuration.search, seed: probeSeed,
            parallel: configuration.parallel, listLength: configuration.pruningListLength
        )
        return probes.neighbourSums(
            conditioning: conditioning, excluded: [Bool](repeating: false, count: gate.probes), step: step
        )
    }

    private static func validate(
        response: [Double], candidates: CandidateMatrix, configuration: Configuration
    ) throws(SelectionError) {
        let m = candidates.sampleCount
        let p = candidates.variableCount
        if p == 0 {
            throw SelectionError(.noCandidates, "the candidate matrix has no variables; pass at least one candidate")
        }
        if response.count != m {
            throw SelectionError(
                .lengthMismatch,
                "the response has \(response.count) values but the candidates have \(m) samples; pass one response "
                    + "value per sample, in the same order"
            )
        }
        try SelectionError.checkRowCount(m)
        if m > Int(Int32.max) {
            throw SelectionError(.invalidConfiguration, "\(m) samples exceed the supported \(Int32.max); subsample")
        }
        try response.withUnsafeBufferPointer { (y) throws(SelectionError) in
            try SelectionError.checkFinite(y, what: "the response")
        }
        try candidates.values.withUnsafeBufferPointer { (v) throws(SelectionError) in
            try SelectionError.checkFinite(v, what: "the candidate matrix", rowsPerVariable: m)
        }
        try configuration.validate(candidateCount: p)
    }
}
