import TestSupport
import Testing

@testable import UnlearningCore

@Suite("Conditioning-set neighbour lists", .computeBound)
struct ConditioningSetTests {
    @Test("each sample's list holds its nearest samples by (squared distance, index), and N(i) is the first")
    func listsAreSortedPrefixes() {
        var rng = SeededGenerator(seed: 31)
        let m = 300
        // Rounded values: many exactly tied distances, to check the index order of ties too.
        let raw = (0..<(3 * m)).map { _ in (rng.nextGaussian() * 4).rounded() }
        let columns = PreparedColumns(columnMajor: raw, m: m, p: 3, tieBreaking: .exact, seed: 0, parallel: false)
        for listLength in [1, 7, 32, 299, 500] {
            let set = ConditioningSet(
                columns: columns, selected: [0, 2], listLength: listLength, tieRNGSeed: nil, parallel: true
            )
            let length = min(listLength, m - 1)
            #expect(set.listLength == length)
            for i in 0..<m {
                func d2(_ k: Int) -> Double {
                    var s = 0.0
                    for j in [0, 2] {
                        let t = raw[j * m + i] - raw[j * m + k]
                        s += t * t
                    }
                    return s
                }
                let expected = (0..<m).filter { $0 != i }.sorted { (d2($0), $0) < (d2($1), $1) }.prefix(length)
                let got = (0..<length).map { Int(set.listIndex[i * length + $0]) }
                #expect(got == Array(expected), "sample \(i), list length \(listLength)")
                #expect((0..<length).allSatisfy { set.listDistance[i * length + $0] == d2(got[$0]) })
                #expect(Int(set.nearest[i]) == expected.first)
            }
        }
    }
}
