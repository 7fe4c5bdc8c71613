import Foundation

/// The forgetting score of the NeurIPS 2023 Machine Unlearning Challenge: Triantafillou et al., "Are we making
/// progress in unlearning? Findings from the first NeurIPS unlearning competition", arXiv:2406.09073, section 3;
/// its definition is the evaluation code google-deepmind/unlearning_evaluation, `metric.py` (docs/FORGETTING.md).
///
/// For one forgotten row, K models unlearned with the method (from originals trained with K seeds) and K models
/// retrained from scratch without the forget set give two samples of K logit-scaled confidences
/// c = log p_y - log(1 - p_y). An attacker who sees one confidence and tries to tell the two distributions apart
/// by thresholds implies an (epsilon, delta) pair at every threshold: epsilon = max(log(1 - delta - FPR) -
/// log(FNR), log(1 - delta - FNR) - log(FPR)) (Kairouz, Oh, Viswanath, "The composition theorem for differential
/// privacy", ICML 2015, Theorem 2.1, used in both directions). The row's epsilon is the largest over two threshold
/// families (one threshold; and an interval around the peakier distribution), and the row scores 2^-b where b is
/// its epsilon's half-unit bucket; epsilons of ceil(ln(K - 1)) or more score 0. The forget set's score F is the
/// mean over its rows: 1 would be indistinguishable at every row, 0 plainly distinguishable.
///
/// Small K limits how large an epsilon can be told apart from noise, so two samples of one distribution score well
/// below 1 and their score rises with K: F is only meaningful next to what a second set of retrained models scores
/// against the first (the reference) and what the originals score (doing nothing).
public enum ForgettingScore {
    /// delta of the attack's (epsilon, delta) pairs, as in the challenge.
    public static let delta = 1e-5
    /// Largest epsilon a row can have; perfect separation and a degenerate (peaky) sample get it.
    public static let epsilonCap = 50.0
    /// Threshold grid density: thresholds per unit of confidence.
    static let thresholdsPerUnit = 100.0
    /// The interval rule's margin around the peaky sample, in confidence units.
    static let intervalMargin = 2.0

    /// log p_y - log(1 - p_y) for softmax probabilities of `logits`, computed stably as z_y - logsumexp_{j != y} z_j.
    public static func logitScaledConfidence<C: Collection>(logits: C, label: Int) -> Double where C.Index == Int, C.Element == Double {
        let start = logits.startIndex
        var largest = -Double.infinity
        for j in logits.indices where j - start != label { largest = max(largest, logits[j]) }
        guard largest > -.infinity else { return .infinity }
        var sum = 0.0
        for j in logits.indices where j - start != label { sum += exp(logits[j] - largest) }
        return logits[start + label] - (largest + log(sum))
    }

    /// The logit-scaled confidence of every row of `x` under `model`.
    public static func confidences(of model: Network, x: Matrix, labels: [Int]) -> [Double] {
        let logits = model.logits(x)
        return (0..<x.rows).map { i in
            logitScaledConfidence(logits: logits.storage[(i * logits.cols)..<((i + 1) * logits.cols)], label: labels[i])
        }
    }

    /// The row's epsilon from its two samples (any order; at least two values each): the attack's best (epsilon,
    /// delta) over both threshold families, capped at `epsilonCap`.
    public static func epsilon(_ first: [Double], _ second: [Double], delta: Double = delta) -> Double {
        precondition(first.count >= 2 && second.count >= 2, "each sample needs at least two models")
        // The positive sample is the one with the larger median (metric.py's convention).
        let (positive, negative) = median(first) > median(second) ? (first, second) : (second, first)
        let positiveRange = positive.max()! - positive.min()!
        let negativeRange = negative.max()! - negative.min()!
        let largest = max(positiveRange, negativeRange)
        let smallest = min(positiveRange, negativeRange)
        // A sample far peakier than the other is treated as distinguishable outright (the threshold grid could
        // miss it).
        if smallest / largest < 0.01 { return epsilonCap }
        var best = -Double.infinity
        var kept = false
        func consider(fpr: Double, fnr: Double) {
            if fpr + fnr == 0 {
                best = .infinity
                kept = true
                return
            }
            // One error rate exactly 0 says too little about a sample of K; the threshold is discarded.
            if fpr * fnr == 0 { return }
            let a = log(1 - delta - fpr) - log(fnr)
            let b = log(1 - delta - fnr) - log(fpr)
            let value: Double
            switch (a.isNaN, b.isNaN) {
            case (true, true): return
            case (true, false): value = b
            case (false, true): value = a
            case (false, false): value = max(a, b)
            }
            best = max(best, max(value, 0))
            kept = true
        }
        let sortedPositive = positive.sorted()
        let sortedNegative = negative.sorted()
        singleThresholdRates(sortedPositive, sortedNegative, consider)
        intervalRates(sortedPositive, sortedNegative, positiveRange: positiveRange, negativeRange: negativeRange, consider)
        guard kept else { return 0 }
        return min(max(best, 0), epsilonCap)
    }

    /// One threshold t over the pooled range: "positive" when c >= t.
    static func singleThresholdRates(_ positive: [Double], _ negative: [Double], _ rates: (_ fpr: Double, _ fnr: Double) -> Void) {
        let low = min(positive[0], negative[0])
        let high = max(positive.last!, negative.last!)
        let p = Double(positive.count)
        let n = Double(negative.count)
        for t in linspace(low, high, Int((thresholdsPerUnit * (high - low)).rounded(.up))) {
            let tpr = Double(positive.count - lowerBound(positive, t)) / p
            let fpr = Double(negative.count - lowerBound(negative, t)) / n
            rates(fpr, 1 - tpr)
        }
    }

    /// Two thresholds l <= c <= r: "positive" (the peakier sample) when c falls in between. The right edge sweeps
    /// past the peaky sample by `intervalMargin` on each side, the left edge sits one width of the peaky sample
    /// (give or take `intervalMargin`) below it.
    static func intervalRates(
        _ first: [Double], _ second: [Double], positiveRange: Double, negativeRange: Double,
        _ rates: (_ fpr: Double, _ fnr: Double) -> Void
    ) {
        let (peaky, other) = positiveRange >= negativeRange ? (second, first) : (first, second)
        let width = min(positiveRange, negativeRange)
        let low = peaky[0] + width - intervalMargin
        let high = peaky.last! + intervalMargin
        let p = Double(peaky.count)
        let n = Double(other.count)
        let lefts = Int((2 * intervalMargin * thresholdsPerUnit).rounded(.up))
        for right in linspace(low, high, Int(((high - low) * thresholdsPerUnit).rounded(.up))) {
            let peakyBelowRight = upperBound(peaky, right)
            let otherBelowRight = upperBound(other, right)
            for left in linspace(right - width - intervalMargin, right - width + intervalMargin, lefts) {
                let tpr = Double(max(0, peakyBelowRight - lowerBound(peaky, left))) / p
                let fpr = Double(max(0, otherBelowRight - lowerBound(other, left))) / n
                rates(fpr, 1 - tpr)
            }
        }
    }

    /// Points of one row: 2^-b for epsilon in the half-unit bucket [b/2, (b+1)/2), 0 from ceil(ln(K - 1)) on.
    public static func points(epsilon: Double, models: Int) -> Double {
        let ceiling = log(Double(models - 1)).rounded(.up)
        var start = 0.0
        var points = 1.0
        while start + 0.5 <= ceiling {
            if epsilon < start + 0.5 { return points }
            start += 0.5
            points /= 2
        }
        return 0
    }

    /// The score of one forget set.
    public struct Result: Sendable, Codable {
        /// Each forgotten row's epsilon.
        public var epsilons: [Double]
        /// Each forgotten row's points.
        public var points: [Double]
        /// F: the mean of the points.
        public var score: Double
    }

    /// F of the forget set from `unlearned[model][row]` and `retrained[model][row]` confidences; K is the number of
    /// unlearned models.
    public static func score(unlearned: [[Double]], retrained: [[Double]]) -> Result {
        precondition(!unlearned.isEmpty && !retrained.isEmpty, "no models")
        let rows = unlearned[0].count
        precondition(unlearned.allSatisfy { $0.count == rows } && retrained.allSatisfy { $0.count == rows }, "ragged samples")
        let epsilons = (0..<rows).map { row in epsilon(unlearned.map { $0[row] }, retrained.map { $0[row] }) }
        let points = epsilons.map { Self.points(epsilon: $0, models: unlearned.count) }
        return Result(epsilons: epsilons, points: points, score: points.isEmpty ? 0 : points.reduce(0, +) / Double(points.count))
    }

    /// Percentile bootstrap over rows: `statistic` of row-resampled means of each of `points` (one array per
    /// quantity, all over the same rows, resampled together), `replicates` times with a seeded generator. Returns
    /// the (lower, upper) quantiles at `level` (0.95: 2.5% and 97.5%).
    public static func bootstrapInterval(
        _ points: [[Double]], replicates: Int = 2000, level: Double = 0.95, seed: UInt64 = 1,
        statistic: ([Double]) -> Double = { $0[0] }
    ) -> (lower: Double, upper: Double) {
        let rows = points[0].count
        precondition(rows > 0 && points.allSatisfy { $0.count == rows })
        var generator = SeededGenerator(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(replicates)
        var means = [Double](repeating: 0, count: points.count)
        for _ in 0..<replicates {
            for q in means.indices { means[q] = 0 }
            for _ in 0..<rows {
                let row = Int(generator.next() % UInt64(rows))
                for q in points.indices { means[q] += points[q][row] }
            }
            for q in means.indices { means[q] /= Double(rows) }
            let value = statistic(means)
            if value.isFinite { values.append(value) }
        }
        guard !values.isEmpty else { return (.nan, .nan) }
        values.sort()
        let tail = (1 - level) / 2
        func quantile(_ q: Double) -> Double { values[min(values.count - 1, max(0, Int((q * Double(values.count - 1)).rounded())))] }
        return (quantile(tail), quantile(1 - tail))
    }

    // MARK: - Helpers

    /// numpy's linspace: `count` evenly spaced values from `low` to `high`, both included (the last one exact).
    static func linspace(_ low: Double, _ high: Double, _ count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [low] : [] }
        let step = (high - low) / Double(count - 1)
        var values = (0..<count).map { low + Double($0) * step }
        values[count - 1] = high
        return values
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// Index of the first element >= `value` in ascending `sorted`.
    static func lowerBound(_ sorted: [Double], _ value: Double) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Index of the first element > `value` in ascending `sorted`.
    static func upperBound(_ sorted: [Double], _ value: Double) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] <= value { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
