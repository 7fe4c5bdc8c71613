import Foundation
import TestSupport
import Testing
import UnlearningCore

@Suite("Lattice discrete Gaussian noise from the kernel CSPRNG", .computeBound)
struct SecureGaussianTests {
    /// 200,000 seeded draws at sigma 0.37. Tolerances are 5 standard errors of each statistic for N(0, sigma^2)
    /// (the discrete Gaussian at 2^24 lattice points per sigma has the same moments to ~1e-14 relative):
    /// mean sigma/sqrt(n); variance sigma^2 sqrt(2/n); P(|Z| > 2 sigma) = 0.0455 with sd sqrt(p(1-p)/n).
    @Test("mean, variance and two-sigma tail match N(0, sigma^2) within 5 standard errors")
    func moments() {
        let sigma = 0.37
        let gaussian = SecureGaussian(sigma: sigma)
        var generator = SeededGenerator(seed: 2012)
        let n = 200_000
        var sum = 0.0
        var sumSquares = 0.0
        var tail = 0
        for _ in 0..<n {
            let z = gaussian.noised(0, using: &generator)
            sum += z
            sumSquares += z * z
            if abs(z) > 2 * sigma { tail += 1 }
        }
        let mean = sum / Double(n)
        let variance = sumSquares / Double(n) - mean * mean
        let tailFraction = Double(tail) / Double(n)
        let p = 0.04550026389635842  // 2 (1 - Phi(2))
        print(
            "SecureGaussian sigma \(sigma): mean \(mean), variance \(variance) (expected \(sigma * sigma)), P(|Z| > 2 sigma) \(tailFraction) (expected \(p))"
        )
        #expect(abs(mean) < 5 * sigma / Double(n).squareRoot())
        #expect(abs(variance - sigma * sigma) < 5 * sigma * sigma * (2 / Double(n)).squareRoot())
        #expect(abs(tailFraction - p) < 5 * (p * (1 - p) / Double(n)).squareRoot())
    }

    @Test("the lattice spacing is a power of two with 2^24 to 2^25 points per sigma", arguments: [1e-9, 0.37, 1.0, 4.84, 123.0])
    func lattice(sigma: Double) {
        let gaussian = SecureGaussian(sigma: sigma)
        #expect(gaussian.spacing.significandBitPattern == 0)
        #expect(sigma / gaussian.spacing >= 0x1p24 && sigma / gaussian.spacing < 0x1p25)
        #expect(gaussian.effectiveSigma >= sigma && gaussian.effectiveSigma <= sigma * (1 + 0x1p-24))
    }

    /// Releases of values that round to the same lattice point are bit-identical under the same random bits, and
    /// every release is an integer multiple of the spacing: the low bits of the input never reach the output.
    @Test("outputs lie on the lattice and do not depend on the input's bits below the lattice")
    func lowBitsDoNotLeak() {
        let gaussian = SecureGaussian(sigma: 0.01)
        var inputs = SeededGenerator(seed: 5)
        for trial in 0..<2_000 {
            let x = 20 * inputs.nextUniform() - 10
            let point = gaussian.snap(x)
            // Another value of the same cell [point - gamma/2, point + gamma/2), differing in its low bits.
            let other = point + (inputs.nextUniform() - 0.5) * 0.999 * gaussian.spacing
            #expect(gaussian.snap(other) == point)
            var a = SeededGenerator(seed: UInt64(trial))
            var b = SeededGenerator(seed: UInt64(trial))
            let y = gaussian.noised(x, using: &a)
            let y2 = gaussian.noised(other, using: &b)
            #expect(y.bitPattern == y2.bitPattern, "x \(x) and \(other) released differently: \(y) vs \(y2)")
            let k = y / gaussian.spacing
            #expect(k == k.rounded(), "release \(y) is not on the lattice of spacing \(gaussian.spacing)")
        }
    }

    @Test("two draws from the kernel CSPRNG differ")
    func unseededDrawsDiffer() {
        let gaussian = SecureGaussian(sigma: 1)
        var first = KernelRandom()
        var second = KernelRandom()
        let a = (0..<8).map { _ in gaussian.noised(0, using: &first) }
        let b = (0..<8).map { _ in gaussian.noised(0, using: &second) }
        let c = (0..<8).map { _ in gaussian.noised(0, using: &first) }
        // Equal vectors of 8 draws at 2^24 lattice points per sigma: probability below 2^-150.
        #expect(a != b)
        #expect(a != c)
    }

    /// An update's release: on the lattice of its sigma, and accounted with the rounding-inflated sensitivity.
    @Test("an applied update releases lattice points and accounts Delta + gamma sqrt(d)")
    func unlearnerRelease() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        let rows = UnlearningFixtures.subjects(train, count: 1)[0].rows
        var options = UnlearningOptions()
        options.selection = .full
        options.noiseSeed = 11
        var policy = BudgetPolicy()
        policy.mode = .adaptive
        policy.epsilonBudget = 1e9
        policy.maxAccuracyDrop = 1
        policy.sigmaMax = .infinity
        var state = base
        let report = try Unlearner.forget(rows: rows, in: &state, options: options, policy: policy)
        try #require(report.outcome == .applied && report.sigma > 0)
        let gaussian = SecureGaussian(sigma: report.sigma)
        let released = try #require(state.releasedTheta)
        for value in released {
            let k = value / gaussian.spacing
            #expect(k == k.rounded())
        }
        let release = try #require(report.release)
        let bound = gaussian.sensitivityBound(release.residualBound, dimension: released.count)
        #expect(bound > release.residualBound)
        #expect(state.budget.accountant.rdp == PrivacyAccountant.gaussianRDP(sensitivity: bound, sigma: report.sigma))
        // Deterministic through the seed: the same update again releases the same bits.
        var again = base
        _ = try Unlearner.forget(rows: rows, in: &again, options: options, policy: policy)
        #expect(again.releasedTheta == released)
    }
}
