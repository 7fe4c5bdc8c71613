import Foundation
import UnlearningCore

/// Binary features with Y = (X_a AND X_b) OR X_c for three random distinct features.
struct BooleanFeatures {
    let y: [Double]
    let candidates: CandidateMatrix
    let truth: Set<Int>

    init(samples m: Int, features p: Int, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let columns = (0..<(m * p)).map { _ in Double(rng.next() & 1) }
        var picks = Array(0..<p)
        picks.shuffle(using: &rng)
        let (a, b, c) = (picks[0], picks[1], picks[2])
        y = (0..<m).map { i in (columns[a * m + i] == 1 && columns[b * m + i] == 1) || columns[c * m + i] == 1 ? 1 : 0 }
        candidates = try! CandidateMatrix(sampleCount: m, variableCount: p, columnMajor: columns)
        truth = [a, b, c]
    }
}
