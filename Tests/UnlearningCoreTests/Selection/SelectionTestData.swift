@testable import UnlearningCore

/// Synthetic data sets of the selection tests, all reproducible from a seed.
enum SelectionTestData {
    /// m standard normal values.
    static func gaussian(_ m: Int, _ rng: inout SeededGenerator) -> [Double] {
        (0..<m).map { _ in rng.nextGaussian() }
    }

    /// m fair coin flips as 0/1.
    static func binary(_ m: Int, _ rng: inout SeededGenerator) -> [Double] {
        (0..<m).map { _ in Double(rng.next() & 1) }
    }

    /// Y = X1 + X2^2 + 0.1 noise with `distractors` further independent N(0, 1) candidates. The two true
    /// variables sit at random positions; returns them with the data.
    static func additive(
        m: Int, distractors: Int, seed: UInt64
    ) -> (y: [Double], candidates: CandidateMatrix, x1: Int, x2: Int) {
        var rng = SeededGenerator(seed: seed)
        let p = distractors + 2
        var columns = (0..<p).map { _ in gaussian(m, &rng) }
        let x1 = Int(rng.next(upperBound: UInt64(p)))
        var x2 = Int(rng.next(upperBound: UInt64(p - 1)))
        if x2 >= x1 { x2 += 1 }
        columns.swapAt(0, x1)
        columns.swapAt(x1 == 1 ? 0 : 1, x2)
        let a = columns[x1]
        let b = columns[x2]
        let y = (0..<m).map { a[$0] + b[$0] * b[$0] + 0.1 * rng.nextGaussian() }
        return (y, try! CandidateMatrix(columns: columns), x1, x2)
    }

    /// 30 binary features (or `p`), Y = (X_a AND X_b) OR X_c for three random distinct a, b, c.
    static func boolean(m: Int, p: Int = 30, seed: UInt64) -> (y: [Double], candidates: CandidateMatrix, truth: Set<Int>) {
        var rng = SeededGenerator(seed: seed)
        let columns = (0..<p).map { _ in binary(m, &rng) }
        var picks = Array(0..<p)
        picks.shuffle(using: &rng)
        let (a, b, c) = (picks[0], picks[1], picks[2])
        let y = (0..<m).map { i in
            (columns[a][i] == 1 && columns[b][i] == 1) || columns[c][i] == 1 ? 1.0 : 0.0
        }
        return (y, try! CandidateMatrix(columns: columns), [a, b, c])
    }
}
