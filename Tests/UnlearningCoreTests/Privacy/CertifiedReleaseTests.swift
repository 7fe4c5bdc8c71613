import Foundation
import TestSupport
import Testing

@testable import UnlearningCore

/// Certified releases (`BudgetPolicy`): the noise is the epoch's fixed sigma, Delta decides release or limit, every
/// release is accounted with Delta* = sigma epsilon_step / sqrt(2 ln(1.25/delta)); updates alone release nothing.
@Suite("Certified releases with fixed noise, separate from updates", .computeBound)
struct CertifiedReleaseTests {
    /// What every release test starts from: the digits logistic regression, the rows of its first subjects, noise
    /// drawn from a fixed seed, and a policy whose accuracy guard never refuses (these tests are about Delta and
    /// epsilon, not accuracy).
    struct Scenario {
        let base: UnlearningState
        let subjects: [[Int]]
        let options: UnlearningOptions
        var policy = BudgetPolicy()

        init(subjects count: Int, noiseSeed: UInt64) {
            let (base, train) = UnlearningFixtures.digitsLogReg
            self.base = base
            subjects = UnlearningFixtures.subjects(train, count: count).map(\.rows)
            var options = UnlearningOptions()
            options.noiseSeed = noiseSeed
            self.options = options
            policy.maxAccuracyDrop = 1
        }

        func update(_ rows: [Int], in state: inout UnlearningState) throws -> UpdateReport {
            try Unlearner.update(rows: rows, in: &state, options: options, policy: policy)
        }

        func release(in state: inout UnlearningState) -> ReleaseReport {
            Unlearner.release(in: &state, options: options, policy: policy)
        }

        /// The base state after one update that forgets `rows`, and the release that follows it.
        func updateThenRelease(_ rows: [Int]) throws -> (state: UnlearningState, release: ReleaseReport) {
            var state = base
            _ = try update(rows, in: &state)
            let report = release(in: &state)
            return (state, report)
        }
    }

    @Test("defaults: certified for logistic regression, epsilon 1 per epoch, 0.1 per release, delta 1e-5")
    func defaults() {
        let policy = BudgetPolicy()
        let (base, _) = UnlearningFixtures.digitsLogReg
        #expect(policy.resolvedMode(for: base.model.architecture) == .certified)
        #expect(policy.epsilonBudget == 1 && policy.epsilonStep == 0.1 && policy.delta == 1e-5)
        let mlp = Architecture(inputs: 4, hidden: [3], classes: 2)
        #expect(policy.resolvedMode(for: mlp) == .adaptive)
        // Delta* from its definition, computed independently of the type's helper.
        let c = (2 * Foundation.log(1.25 / 1e-5)).squareRoot()
        #expect(abs(policy.certifiedSensitivity - 0.01 * 0.1 / c) < 1e-18)
    }

    @Test("an update alone changes the noise-free state only: the served weights stay, no budget is spent")
    func updateReleasesNothing() throws {
        let scenario = Scenario(subjects: 3, noiseSeed: 5)
        let (base, policy) = (scenario.base, scenario.policy)
        var state = base
        for rows in scenario.subjects {
            let report = try scenario.update(rows, in: &state)
            #expect(report.outcome == .applied)
            #expect(report.release == nil)
        }
        #expect(state.releasedModel.theta == base.model.theta)
        #expect(state.model.theta != base.model.theta)
        #expect(state.budget.accountant.releases == 0)
        #expect(state.budget.epsilonSpent(delta: policy.delta) == 0)

        // One release covers all three updates and spends one release's epsilon.
        let release = scenario.release(in: &state)
        #expect(release.released && release.certified)
        #expect(release.sigma == policy.sigma)
        #expect(state.budget.accountant.releases == 1)
        #expect(state.budget.accountant.rdp == PrivacyAccountant.gaussianRDP(sensitivity: policy.certifiedSensitivity, sigma: policy.sigma))
        #expect(release.epsilonRelease <= policy.epsilonStep)
        #expect(state.releasedModel.theta != state.model.theta)
        // The noise is sigma per coordinate: the empirical sd over the 650 parameters is within 15% of it.
        let diffs = zip(state.releasedModel.theta, state.model.theta).map { $0 - $1 }
        let sd = (diffs.map { $0 * $0 }.reduce(0, +) / Double(diffs.count)).squareRoot()
        #expect(abs(sd / policy.sigma - 1) < 0.15)
    }

    @Test("every certified release costs the same epsilon, whatever its Delta")
    func dataIndependentEpsilon() throws {
        let scenario = Scenario(subjects: 2, noiseSeed: 9)
        // Each subject forgotten from its own copy of the model, released at once (`forget`).
        let reports = try scenario.subjects.map { rows in
            var state = scenario.base
            return try Unlearner.forget(rows: rows, in: &state, options: scenario.options, policy: scenario.policy)
        }
        let ra = try #require(reports[0].release)
        let rb = try #require(reports[1].release)
        #expect(ra.residualBound != rb.residualBound)
        #expect(ra.epsilonRelease == rb.epsilonRelease)
        #expect(ra.sigma == rb.sigma && ra.sensitivity == rb.sensitivity)
    }

    @Test("a release is refused with removal_limit exactly when Delta + gamma sqrt(d) passes Delta*")
    func limitAtTheBound() throws {
        var scenario = Scenario(subjects: 1, noiseSeed: 3)
        let (base, rows) = (scenario.base, scenario.subjects[0])
        let measured = try scenario.updateThenRelease(rows).release
        #expect(measured.released)
        let delta = measured.residualBound
        #expect(delta > 0 && delta < scenario.policy.certifiedSensitivity)

        // sigma so that Delta* sits just above, then just below, the bound (gamma = sigma 2^-24 moves it too).
        let policy = scenario.policy
        func sigma(forLimit limit: Double) -> Double { limit * policy.gaussianCalibration / policy.epsilonStep }
        let d = Double(base.model.theta.count)
        let withLattice = delta * (1 + 1e-6) / (1 - sigma(forLimit: 1) * 0x1p-24 * d.squareRoot())
        scenario.policy.sigma = sigma(forLimit: withLattice * 1.001)
        let under = try scenario.updateThenRelease(rows).release
        #expect(under.released)

        scenario.policy.sigma = sigma(forLimit: delta * 0.999)
        let (over, refused) = try scenario.updateThenRelease(rows)
        #expect(!refused.released && !refused.certified)
        #expect(refused.reasonsRaised == [.removalLimit])
        #expect(over.releasedModel.theta == base.model.theta)
        #expect(over.budget.accountant.releases == 0)
        #expect(over.budget.retrainReasons == [.removalLimit])
    }

    @Test("privacy_budget: releases stop before the epoch's epsilon would pass the budget")
    func budgetLasts() throws {
        let scenario = Scenario(subjects: 1, noiseSeed: 1)
        let policy = scenario.policy
        var state = scenario.base
        _ = try scenario.update(scenario.subjects[0], in: &state)
        var released = 0
        while released < 1000 {
            let report = scenario.release(in: &state)
            guard report.released else {
                #expect(report.reasonsRaised == [.privacyBudget])
                break
            }
            released += 1
            #expect(report.epsilonSpent <= policy.epsilonBudget)
        }
        // Independently: k releases of one Gaussian with ratio Delta*/sigma compose to k times its RDP curve.
        let curve = PrivacyAccountant.gaussianRDP(sensitivity: policy.certifiedSensitivity, sigma: policy.sigma)
        func epsilon(_ k: Int) -> Double { PrivacyAccountant.epsilon(rdp: curve.map { $0 * Double(k) }, delta: policy.delta) }
        #expect(epsilon(released) <= policy.epsilonBudget && epsilon(released + 1) > policy.epsilonBudget)
        #expect(released > 50)
    }
}
