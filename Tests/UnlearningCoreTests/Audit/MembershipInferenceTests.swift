import TestSupport
import Testing
import UnlearningCore

@Suite("Membership inference audit", .computeBound)
struct MembershipInferenceTests {
    /// The definition, pair by pair: O(m n), independent of the rank computation.
    static func bruteForce(_ members: [Double], _ nonMembers: [Double]) -> Double {
        var wins = 0.0
        for a in members {
            for b in nonMembers { wins += a < b ? 1 : (a == b ? 0.5 : 0) }
        }
        return wins / Double(members.count * nonMembers.count)
    }

    @Test("equals the pairwise definition on random losses with ties (exact: both are sums of halves)")
    func pairwise() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double((state >> 33) % 50) / 10  // 50 distinct values: many ties
        }
        for (m, n) in [(1, 1), (3, 7), (40, 25), (200, 300)] {
            let members = (0..<m).map { _ in next() }
            let nonMembers = (0..<n).map { _ in next() }
            let auc = try #require(MembershipInference.lossAUC(members: members, nonMembers: nonMembers))
            #expect(abs(auc - Self.bruteForce(members, nonMembers)) < 1e-12, "m \(m), n \(n)")
        }
    }

    @Test("1 when every member's loss is below every non-member's, 0 the other way round, 0.5 for identical sets; nil when empty")
    func extremes() {
        #expect(MembershipInference.lossAUC(members: [0.1, 0.2], nonMembers: [0.5, 0.9, 3]) == 1)
        #expect(MembershipInference.lossAUC(members: [5, 6], nonMembers: [0.5, 0.9]) == 0)
        #expect(MembershipInference.lossAUC(members: [1, 2, 3], nonMembers: [1, 2, 3]) == 0.5)
        #expect(MembershipInference.lossAUC(members: [], nonMembers: [1]) == nil)
    }
}
