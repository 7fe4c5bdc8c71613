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
/// evaluated in parallel on all cores.
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
        // The noise gate's probes are appended after the p candidates: evaluated like them, never selected.
        let gate = configuration.stopAtNonPositiveScore ? configuration.noiseGate : nil
        var columns = candidates.values
        if let gate {
            columns += probeColumns(candidates, count: gate.probes, seed: configuration.seed)
        }
        let engine = LFOCIEngine(
            ranks: ranks,
            columns: PreparedColumns(
                columnMajor: columns, m: m, p: p + (gate?.probes ?? 0), tieBreaking: configuration.tieBreaking,
                seed: configuration.seed, parallel: configuration.parallel
            ),
            tieBreaking: configuration.tieBreaking, search: configuration.search, seed: configuration.seed,
            parallel: configuration.parallel, listLength: configuration.pruningListLength
        )

        var steps: [Step] = []
        var selected: [Int] = []
        var excluded = [Bool](repeating: false, count: p + (gate?.probes ?? 0))
        var spent = 0
        while true {
            if selected.count >= configuration.maxSelected {
                return Selection(steps: steps, stopReason: .maxSelected)
            }
            if selected.count == p {
                return Selection(steps: steps, stopReason: .candidatesExhausted)
            }
            let stepIndex = selected.count
            let best: (candidate: Int, score: Double)
            let probeScores: [Double]
            if selected.isEmpty {
                if ranks.unconditionalDenominator == 0 {
                    return Selection(steps: steps, stopReason: .responseDetermined)
                }
                let sums = engine.neighbourSums(conditioning: nil, excluded: excluded, step: stepIndex)
                let j = argmax(sums, count: p)
                best = (j, ranks.unconditionalScore(neighbourSum: sums[j]))
                probeScores = sums[p...].map { ranks.unconditionalScore(neighbourSum: $0) }
            } else {
                let x = engine.conditioningSet(selected, step: stepIndex)
                let sN = ranks.neighbourSum(x.nearest)
                if ranks.sumOfR - sN == 0 {
                    return Selection(steps: steps, stopReason: .responseDetermined)
                }
                let sums = engine.neighbourSums(conditioning: x, excluded: excluded, step: stepIndex)
                let j = argmax(sums, count: p)
                best = (j, ranks.conditionalScore(neighbourSum: sums[j], conditioningSum: sN))
                probeScores = sums[p...].map { ranks.conditionalScore(neighbourSum: $0, conditioningSum: sN) }
            }
            if !(best.score > 0) && configuration.stopAtNonPositiveScore {
                return Selection(steps: steps, stopReason: .nonPositiveScore(candidate: best.candidate, score: best.score))
            }
            if let gate {
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

    /// The first index in 0..<count of the largest value (the lowest index wins ties, for determinism).
    private static func argmax(_ sums: [Int], count: Int) -> Int {
        var best = 0
        for j in 1..<count where sums[j] > sums[best] { best = j }
        return best
    }

    /// The noise gate's probe variables, column-major: each a uniformly random row permutation of a uniformly
    /// random candidate, from the run's seed (stream family 2; the noise and tie draws use families 0 and 1).
    private static func probeColumns(_ candidates: CandidateMatrix, count: Int, seed: UInt64) -> [Double] {
        let m = candidates.sampleCount
        var rng = SeededGenerator(seed: seed, stream: 2 << 40)
        var probes = [Double]()
        probes.reserveCapacity(count * m)
        for _ in 0..<count {
            let source = Int(rng.next(upperBound: UInt64(candidates.variableCount)))
            var column = Array(candidates.column(source))
            column.shuffle(using: &rng)
            probes += column
        }
        return probes
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
