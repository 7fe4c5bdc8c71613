import TestSupport
import Testing

@testable import UnlearningCore

@Suite("CODEC coefficient", .computeBound)
struct CODECTests {
    // Hand-computed from the definition (Azadkia and Chatterjee 2021, Section 2). Z = [0, 1, 3, 6, 10] has
    // unique nearest neighbours M = [1, 0, 1, 2, 3]; with Y = [5, 4, 3, 2, 1], R = [5, 4, 3, 2, 1] and
    // L = [1, 2, 3, 4, 5], so sum_i (5 min(R_i, R_M(i)) - L_i^2) = 19 + 16 + 6 - 6 - 20 = 15 and
    // sum_i L_i (5 - L_i) = 20: T = 0.75.
    @Test("unconditional T on a hand-computed example")
    func handComputedUnconditional() throws {
        let t = try codec([5, 4, 3, 2, 1], [[0, 1, 3, 6, 10]])
        #expect(t == 0.75)
        // Y increasing with Z: the terms are -20, -11, 1, 11, 19, so T = 0.
        #expect(try codec([1, 2, 3, 4, 5], [[0, 1, 3, 6, 10]]) == 0)
    }

    // X = [0, 1, 3, 6, 10] gives N = [1, 0, 1, 2, 3]; Y = [1, 2, 3, 4, 5] so sum min(R_i, R_N(i)) = 11 and the
    // denominator is 15 - 11 = 4. Adding Z = [0, 100, 0, 100, 0] moves the neighbours to M = [2, 3, 0, 1, 2]:
    // sum min(R_i, R_M(i)) = 1 + 2 + 1 + 2 + 3 = 9, T = (9 - 11) / 4 = -0.5.
    @Test("conditional T on a hand-computed example")
    func handComputedConditional() throws {
        let t = try codec([1, 2, 3, 4, 5], [[0, 100, 0, 100, 0]], given: [[0, 1, 3, 6, 10]])
        #expect(t == -0.5)
    }

    // With Z = Y (distinct values) the neighbour is adjacent in rank, so min(R_i, R_M(i)) is R_i or R_i - 1.
    // Summing the definition gives T = 1 - n * b / (n (n + 1) (n - 1) / 6) where b <= n counts the neighbours
    // below: 1 - 6 / ((n + 1)(n - 1)) * n <= T <= 1. That is the tolerance, exact rather than statistical.
    @Test("T(Y, Y) is 1 up to the estimator's O(1/n) bias")
    func selfDependence() throws {
        var rng = SeededGenerator(seed: 11)
        let n = 1000
        let y = SelectionTestData.gaussian(n, &rng)
        let t = try codec(y, [y])
        let lower = 1 - 6 * Double(n) / Double((n + 1) * (n - 1))
        #expect(t >= lower && t <= 1, "T(Y, Y) = \(t), expected in [\(lower), 1]")
        // Exact tie handling finds the same (unique) neighbours on continuous data.
        #expect(try codec(y, [y], tieBreaking: .exact) == t)
    }

    // Under independence T_n is centred and n Var(T_n) -> 2/5 + 2q/5 + 4o/5, where q is the fraction of points
    // whose nearest neighbour (in Z) is mutual and o = E[d(d - 1)] for the in-degree d of a point in the nearest-
    // neighbour graph (the limit Shi, Drton and Han 2022 give for Azadkia and Chatterjee's coefficient). Derivation
    // check: the sum over edges of min(U_a, U_b) has per-point variance (1 + q)/18 + (o + 2(1 - q))/45 for i.i.d.
    // uniforms, minus the rank constraint's 4/45; times 36 from the normalisation. Chatterjee's xi_n, whose graph
    // is the sort-order path (q = 0, o = 0), gets the known 2/5. For one-dimensional Z, q = 2/3 (a point's nearest
    // neighbour is mutual unless the next gap beyond it is smaller) and o = 1/2 (in-degree 2 needs both outer gaps
    // larger, probability 1/4), so sigma_n = sqrt(16/(15n)) = 0.0327 at n = 1000. Tolerances: one draw within
    // 5 sigma_n; over 200 draws the mean within 4 standard errors of 0 and the sample sd within 15% of sigma_n (its
    // own standard error is sigma_n / sqrt(400) = 5%).
    @Test("T(Y, Z) of independent Y and Z is 0 within the estimator's null standard deviation sqrt(16/(15n))")
    func independence() throws {
        let n = 1000
        let sigma = (16 / (15 * Double(n))).squareRoot()
        var rng = SeededGenerator(seed: 12)
        var draws: [Double] = []
        for _ in 0..<200 {
            let y = SelectionTestData.gaussian(n, &rng)
            let z = SelectionTestData.gaussian(n, &rng)
            draws.append(try codec(y, [z]))
        }
        #expect(abs(draws[0]) < 5 * sigma, "T = \(draws[0]) exceeds 5 sigma_n = \(5 * sigma)")
        let mean = draws.reduce(0, +) / Double(draws.count)
        let sd = (draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count - 1)).squareRoot()
        #expect(abs(mean) < 4 * sigma / Double(draws.count).squareRoot(), "mean \(mean) is more than 4 standard errors from 0")
        #expect(abs(sd / sigma - 1) < 0.15, "sd \(sd) differs from sigma_n = \(sigma) by more than 15%")
    }

    @Test("conditioning on the variable that explains Y leaves nothing for an independent Z")
    func conditionalIndependence() throws {
        var rng = SeededGenerator(seed: 13)
        let n = 1000
        let x = SelectionTestData.gaussian(n, &rng)
        let z = SelectionTestData.gaussian(n, &rng)
        let y = (0..<n).map { x[$0] + 0.1 * rng.nextGaussian() }
        let sigma = (0.4 / Double(n)).squareRoot()
        #expect(try codec(y, [x]) > 0.8)
        // Adding an irrelevant coordinate can only spoil X's neighbours: T <= 0 up to noise.
        #expect(try codec(y, [z], given: [x]) < 5 * sigma)
        // ... while Z's own information given an irrelevant X is still found.
        #expect(try codec(y, [x], given: [z]) > 0.5)
    }

    // On continuous data there are no ties, so the noise and the exact draws give the same neighbours.
    @Test("L-CODEC noise leaves continuous data unchanged, and a seed fixes the result on tied data")
    func tieBreakingModes() throws {
        var rng = SeededGenerator(seed: 14)
        let n = 500
        let x = SelectionTestData.gaussian(n, &rng)
        let z = SelectionTestData.gaussian(n, &rng)
        let y = (0..<n).map { x[$0] * z[$0] + 0.1 * rng.nextGaussian() }
        #expect(try codec(y, [z], given: [x]) == codec(y, [z], given: [x], tieBreaking: .exact))

        let bx = SelectionTestData.binary(n, &rng)
        let bz = SelectionTestData.binary(n, &rng)
        let by = (0..<n).map { bx[$0] == 1 || bz[$0] == 1 ? 1.0 : 0.0 }
        for mode in [TieBreaking.default, .exact] {
            let a = try codec(by, [bz], given: [bx], tieBreaking: mode, seed: 5)
            let b = try codec(by, [bz], given: [bx], tieBreaking: mode, seed: 5)
            #expect(a == b)
            #expect(a > 0.3, "Z carries information about Y given X (T = \(a) with \(mode))")
        }
    }
}
