/// The ranks of the response Y as CODEC defines them: counts, so that tied values share a rank.
///
/// `R_i = #{j : Y_j <= Y_i}` and `L_i = #{j : Y_j >= Y_i}` (Azadkia and Chatterjee 2021, Section 2). Not sort
/// positions: with ties those would order equal values arbitrarily and bias T (docs/ARCHITECTURE.md, section 3.1).
struct ResponseRanks: Sendable {
    let n: Int
    /// R_i.
    let lessOrEqual: [Int]
    /// L_i.
    let greaterOrEqual: [Int]

    init(_ y: [Double]) {
        let n = y.count
        let order = y.indices.sorted { y[$0] < y[$1] }
        var r = [Int](repeating: 0, count: n)
        var l = [Int](repeating: 0, count: n)
        var start = 0
        while start < n {
            var end = start + 1
            while end < n && y[order[end]] == y[order[start]] { end += 1 }
            // Samples order[start..<end] share one value: `end` values are <= it, `n - start` are >= it.
            for t in start..<end {
                r[order[t]] = end
                l[order[t]] = n - start
            }
            start = end
        }
        self.n = n
        self.lessOrEqual = r
        self.greaterOrEqual = l
    }

    /// Denominator of the unconditional T_n: sum of L_i (n - L_i). Zero iff Y is constant.
    var unconditionalDenominator: Int {
        greaterOrEqual.reduce(0) { $0 + $1 * (n - $1) }
    }

    /// Sum of L_i^2, the subtracted term of the unconditional numerator.
    var sumOfSquaredL: Int {
        greaterOrEqual.reduce(0) { $0 + $1 * $1 }
    }

    /// Sum of R_i.
    var sumOfR: Int {
        lessOrEqual.reduce(0, +)
    }

    /// Unconditional T_n(Y, Z) from `S = sum_i min(R_i, R_M(i))`, M(i) the nearest neighbour of i in Z:
    /// `T = sum_i (n min(R_i, R_M(i)) - L_i^2) / sum_i L_i (n - L_i)` (Azadkia and Chatterjee 2021, Section 2,
    /// the case without conditioning variables); 0 when the denominator is 0 (Y constant).
    func unconditionalScore(neighbourSum s: Int) -> Double {
        let denominator = unconditionalDenominator
        if denominator == 0 { return 0 }
        return Double(n * s - sumOfSquaredL) / Double(denominator)
    }

    /// Conditional T_n(Y, Z | X) from `S_M = sum_i min(R_i, R_M(i))` (M: nearest neighbour in (X, Z)) and
    /// `S_N = sum_i min(R_i, R_N(i))` (N: nearest neighbour in X):
    /// `T = sum_i (min(R_i, R_M(i)) - min(R_i, R_N(i))) / sum_i (R_i - min(R_i, R_N(i)))`
    /// (Azadkia and Chatterjee 2021, Section 2); 0 when the denominator is 0 (Y a function of X on the sample).
    func conditionalScore(neighbourSum sM: Int, conditioningSum sN: Int) -> Double {
        let denominator = sumOfR - sN
        if denominator == 0 { return 0 }
        return Double(sM - sN) / Double(denominator)
    }

    /// `sum_i min(R_i, R_nb(i))` for a neighbour map.
    func neighbourSum(_ neighbour: [Int32]) -> Int {
        var s = 0
        for i in 0..<n {
            s += min(lessOrEqual[i], lessOrEqual[Int(neighbour[i])])
        }
        return s
    }
}
