/// Azadkia and Chatterjee's conditional dependence coefficient T_n(Y, Z | X) ("A simple measure of conditional
/// dependence", Ann. Statist. 49(6), 2021, Section 2), or the unconditional T_n(Y, Z) when `x` is empty.
///
/// T is near 0 when Y is conditionally independent of Z given X and near 1 when Y is a function of Z given X
/// (it can be slightly negative on a finite sample). With ranks `R_i = #{j : Y_j <= Y_i}`,
/// `L_i = #{j : Y_j >= Y_i}`, N(i) the nearest neighbour of sample i in X and M(i) its nearest neighbour in
/// (X, Z), both Euclidean:
///
///     T_n(Y, Z | X) = sum_i (min(R_i, R_M(i)) - min(R_i, R_N(i))) / sum_i (R_i - min(R_i, R_N(i)))
///     T_n(Y, Z)     = sum_i (n min(R_i, R_M(i)) - L_i^2) / sum_i L_i (n - L_i)
///
/// and T = 0 when the denominator is 0 (Y constant, or a function of X on the sample).
///
/// - Parameters:
///   - y: the response, one value per sample (ranked exactly; never noised).
///   - z: the variables whose contribution is measured, each an array with one value per sample; at least one.
///   - x: the conditioning variables, same shape; may be empty.
///   - tieBreaking: L-CODEC noise on the variables of `x` and `z` (default) or exact uniform tie draws.
///   - seed: seed of the noise and of the tie draws.
/// - Complexity: O(n^2 (dim x + dim z)) (every pair of samples); L-FOCI uses faster searches for its
///   one-variable-at-a-time candidates.
public func codec(
    _ y: [Double], _ z: [[Double]], given x: [[Double]] = [], tieBreaking: TieBreaking = .default, seed: UInt64 = 0
) throws(SelectionError) -> Double {
    if z.isEmpty {
        throw SelectionError(.noCandidates, "codec needs at least one variable in z; pass [variable] for one variable")
    }
    let n = y.count
    try SelectionError.checkRowCount(n)
    try tieBreaking.validate()
    let variables = x + z
    for (index, variable) in variables.enumerated() where variable.count != n {
        let name = index < x.count ? "x[\(index)]" : "z[\(index - x.count)]"
        throw SelectionError(
            .lengthMismatch,
            "\(name) has \(variable.count) values but y has \(n); every variable needs one value per sample"
        )
    }
    try y.withUnsafeBufferPointer { (v) throws(SelectionError) in
        try SelectionError.checkFinite(v, what: "y")
    }
    for (index, variable) in variables.enumerated() {
        let name = index < x.count ? "x[\(index)]" : "z[\(index - x.count)]"
        try variable.withUnsafeBufferPointer { (v) throws(SelectionError) in
            try SelectionError.checkFinite(v, what: name)
        }
    }

    let ranks = ResponseRanks(y)
    let columns = PreparedColumns(
        columnMajor: variables.flatMap { $0 }, m: n, p: variables.count, tieBreaking: tieBreaking, seed: seed,
        parallel: false
    )
    let exact = tieBreaking == .exact
    func nearest(_ selected: [Int], stream: UInt64) -> [Int32] {
        var rng = SeededGenerator(seed: seed, stream: 1 << 41 | stream)
        return ConditioningSet(
            columns: columns, selected: selected, listLength: 0, tieRNGSeed: exact ? rng.next() : nil,
            parallel: false
        ).nearest
    }
    let all = Array(variables.indices)
    let sM = ranks.neighbourSum(nearest(all, stream: 1))
    if x.isEmpty {
        return ranks.unconditionalScore(neighbourSum: sM)
    }
    let sN = ranks.neighbourSum(nearest(Array(x.indices), stream: 0))
    return ranks.conditionalScore(neighbourSum: sM, conditioningSum: sN)
}
