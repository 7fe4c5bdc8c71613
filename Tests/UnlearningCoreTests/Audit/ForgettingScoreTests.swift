import Foundation
import TestSupport
import Testing
import UnlearningCore

@Suite("Forgetting score (NeurIPS 2023 unlearning challenge)", .computeBound)
struct ForgettingScoreTests {
    /// K models x `rows` rows of N(centre_row + shift, spread^2) confidences from one seeded generator.
    static func sample(models: Int, rows: Int, shift: Double = 0, spread: Double = 1, seed: UInt64) -> [[Double]] {
        var generator = SeededGenerator(seed: seed)
        let centres = (0..<rows).map { Double($0 % 7) - 3 }
        return (0..<models).map { _ in centres.map { $0 + shift + spread * generator.nextGaussian() } }
    }

    @Test("two samples of one distribution score well above two disjoint ones, which score 0")
    func sameVersusDisjoint() {
        let retrained = Self.sample(models: 32, rows: 60, seed: 1)
        let same = ForgettingScore.score(unlearned: Self.sample(models: 32, rows: 60, seed: 2), retrained: retrained)
        let disjoint = ForgettingScore.score(unlearned: Self.sample(models: 32, rows: 60, shift: 20, seed: 2), retrained: retrained)
        #expect(disjoint.score == 0)
        #expect(disjoint.epsilons.allSatisfy { $0 == ForgettingScore.epsilonCap })
        #expect(same.score > 0.12, "same distribution scored \(same.score)")
        // A shift of one standard deviation lies in between.
        let shifted = ForgettingScore.score(unlearned: Self.sample(models: 32, rows: 60, shift: 1, seed: 2), retrained: retrained)
        #expect(shifted.score < same.score && shifted.score > disjoint.score, "shifted \(shifted.score), same \(same.score)")
    }

    /// The challenge's estimator does not converge to 1 for identical distributions: a row's epsilon is driven by
    /// count ratios in the samples' tails, which stay small whatever K is, so two samples of one distribution score
    /// about 0.18 at every K (measured here: 0.17-0.19 from K = 8 to 512). What K buys is resolution: a real
    /// difference scores lower as K grows, while identical samples do not.
    @Test("identical distributions score about the same at every K; a real difference scores lower as K grows")
    func resolutionGrowsWithModels() {
        let ks = [8, 32, 128]
        let identical = ks.map { k in
            ForgettingScore.score(
                unlearned: Self.sample(models: k, rows: 200, seed: 10), retrained: Self.sample(models: k, rows: 200, seed: 11)
            ).score
        }
        let shifted = ks.map { k in
            ForgettingScore.score(
                unlearned: Self.sample(models: k, rows: 200, shift: 0.75, seed: 10), retrained: Self.sample(models: k, rows: 200, seed: 11)
            ).score
        }
        #expect(identical.allSatisfy { $0 > 0.12 && $0 < 0.26 }, "identical, K 8/32/128: \(identical)")
        #expect(zip(shifted, shifted.dropFirst()).allSatisfy { $0 > $1 }, "shifted by 0.75 sd, K 8/32/128: \(shifted)")
        #expect(zip(identical, shifted).allSatisfy { $0 > $1 })
    }

    @Test("a sample far narrower than the other is distinguishable outright; a narrower one is caught by the interval rule")
    func peakyAndNarrow() {
        let wide = (0..<16).map { Double($0) / 4 }
        let peaky = (0..<16).map { 2 + Double($0) * 1e-4 }
        #expect(ForgettingScore.epsilon(peaky, wide) == ForgettingScore.epsilonCap)
        // Same median, a quarter of the spread: one threshold cannot separate them, an interval can.
        let narrow = wide.map { 1.875 + ($0 - 1.875) / 4 }
        #expect(ForgettingScore.epsilon(narrow, wide) > 0.5)
    }

    @Test("points: 2^-bucket in half units, 0 from ceil(ln(K - 1))")
    func points() {
        // K = 32: ceil(ln 31) = 4, so eight buckets.
        #expect(ForgettingScore.points(epsilon: 0, models: 32) == 1)
        #expect(ForgettingScore.points(epsilon: 0.49, models: 32) == 1)
        #expect(ForgettingScore.points(epsilon: 0.5, models: 32) == 0.5)
        #expect(ForgettingScore.points(epsilon: 3.99, models: 32) == 1.0 / 128)
        #expect(ForgettingScore.points(epsilon: 4, models: 32) == 0)
        // K = 8: ceil(ln 7) = 2, four buckets.
        #expect(ForgettingScore.points(epsilon: 1.7, models: 8) == 1.0 / 8)
        #expect(ForgettingScore.points(epsilon: 2, models: 8) == 0)
    }

    @Test("logit-scaled confidence is log p_y - log(1 - p_y), stable for large logits")
    func confidence() {
        let logits = [1.0, 2.0, 0.5]
        let z = logits.map(exp).reduce(0, +)
        let p = exp(2.0) / z
        #expect(abs(ForgettingScore.logitScaledConfidence(logits: logits, label: 1) - (log(p) - log(1 - p))) < 1e-12)
        let large = [800.0, 0, -5]
        #expect(abs(ForgettingScore.logitScaledConfidence(logits: large, label: 0) - (800 - log(1 + exp(-5.0)))) < 1e-9)
    }

    @Test("matches the challenge's metric.py on a fixed case (Tests/Fixtures/forgetting-score)")
    func matchesChallengeMetric() throws {
        struct Case: Decodable {
            var models: Int
            var unlearned: [[Double]]
            var retrained: [[Double]]
            var epsilons: [Double]
            var score: Double
        }
        let path = BundledData.repositoryRoot + "/Tests/Fixtures/forgetting-score/metric-case.json"
        let fixture = try JSONDecoder().decode(Case.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        let result = ForgettingScore.score(unlearned: fixture.unlearned, retrained: fixture.retrained)
        #expect(fixture.unlearned.count == fixture.models)
        for (row, (ours, theirs)) in zip(result.epsilons, fixture.epsilons).enumerated() {
            #expect(abs(ours - theirs) <= 1e-6 * max(1, theirs), "row \(row): epsilon \(ours), metric.py \(theirs)")
        }
        #expect(abs(result.score - fixture.score) < 1e-12, "F \(result.score), metric.py \(fixture.score)")
    }

    @Test("bootstrap interval brackets the estimate and narrows with more rows")
    func bootstrap() {
        var generator = SeededGenerator(seed: 3)
        let small = (0..<20).map { _ in generator.nextUniform() }
        let large = (0..<2000).map { _ in generator.nextUniform() }
        let a = ForgettingScore.bootstrapInterval([small])
        let b = ForgettingScore.bootstrapInterval([large])
        let mean = small.reduce(0, +) / 20
        #expect(a.lower < mean && mean < a.upper)
        #expect(b.upper - b.lower < (a.upper - a.lower) / 4)
        #expect(ForgettingScore.bootstrapInterval([small], seed: 9) == ForgettingScore.bootstrapInterval([small], seed: 9))
    }
}
