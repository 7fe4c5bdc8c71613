import Foundation
import Testing

@testable import UnlearningCore

/// Certified releases (`BudgetPolicy`): the noise is the epoch's fixed sigma, Delta decides release or limit, every
/// release is accounted with Delta* = sigma epsilon_step / sqrt(2 ln(1.25/delta)); updates alone release nothing.
@Suite("Certified releases with fixed noise, separate from updates")
struct CertifiedReleaseTests {
    static func policy() -> BudgetPolicy {
        var policy = BudgetPolicy()
        policy.maxAccuracyDrop = 1
        return policy
    }

    @Test("defaults: certified for logistic regression, epsilon 1 per epoch, 0.1 per release, delta 1e-5")
    func defaults() {
        let policy = BudgetPolicy()
        let (base, _) = UnlearningFixtures.digitsLogReg
        #expect(policy.resolvedMode(for: base.model.architecture) == .certified)
        #expect(policy.epsilonBudget == 1 && policy.epsilonStep == 0.1 && policy.delta == 1e-5)
        let mlp = Architecture(inputs: 4, layers: [.init(units: 3, activation: .relu), .init(units: 2, activation: .identity)])
        #expect(policy.resolvedMode(for: mlp) == .adaptive)
        // Delta* from its definition, computed independently of the type's helper.
        let c = (2 * Foundation.log(1.25 / 1e-5)).squareRoot()
        #expect(abs(policy.certifiedSensitivity - 0.01 * 0.1 / c) < 1e-18)
    }

    @Test("an update alone changes the noise-free state only: the served weights stay, no budget is spent")
    func updateReleasesNothing() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        let subjects = UnlearningFixtures.subjects(train, count: 3)
        var options = UnlearningOptions()
        options.noiseSeed = 5
        let policy = Self.policy()
        var state = base
        for subject in subjects {
            let report = try Unlearner.update(rows: subject.rows, in: &state, options: options, policy: policy)
            #expect(report.outcome == .applied)
            #expect(report.release == nil)
        }
        #expect(state.releasedModel.theta == base.model.theta)
        #expect(state.model.theta != base.model.theta)
        #expect(state.budget.accountant.releases == 0)
        #expect(state.budget.epsilonSpent(delta: policy.delta) == 0)

        // One release covers all three updates and spends one release's epsilon.
        let release = Unlearner.release(in: &state, options: options, policy: policy)
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
        let (base, train) = UnlearningFixtures.digitsLogReg
        let subjects = UnlearningFixtures.subjects(train, count: 2)
        var options = UnlearningOptions()
        options.noiseSeed = 9
        let policy = Self.policy()
        var a = base
        let first = try Unlearner.forget(rows: subjects[0].rows, in: &a, options: options, policy: policy)
        var b = base
        let second = try Unlearner.forget(rows: subjects[1].rows, in: &b, options: options, policy: policy)
        let ra = try #require(first.release)
        let rb = try #require(second.release)
        #expect(ra.residualBound != rb.residualBound)
        #expect(ra.epsilonRelease == rb.epsilonRelease)
        #expect(ra.sigma == rb.sigma && ra.sensitivity == rb.sensitivity)
    }

    @Test("a release is refused with removal_limit exactly when Delta + gamma sqrt(d) passes Delta*")
    func limitAtTheBound() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        let rows = UnlearningFixtures.subjects(train, count: 1)[0].rows
        var options = UnlearningOptions()
        options.noiseSeed = 3
        var policy = Self.policy()
        var probe = base
        _ = try Unlearner.update(rows: rows, in: &probe, options: options, policy: policy)
        let measured = Unlearner.release(in: &probe, options: options, policy: policy)
        #expect(measured.released)
        let delta = measured.residualBound
        #expect(delta > 0 && delta < policy.certifiedSensitivity)

        // sigma so that Delta* sits just above, then just below, the bound (gamma = sigma 2^-24 moves it too).
        func sigma(forLimit limit: Double) -> Double { limit * policy.gaussianCalibration / policy.epsilonStep }
        let d = Double(base.model.theta.count)
        let withLattice = delta * (1 + 1e-6) / (1 - sigma(forLimit: 1) * 0x1p-24 * d.squareRoot())
        policy.sigma = sigma(forLimit: withLattice * 1.001)
        var under = base
        _ = try Unlearner.update(rows: rows, in: &under, options: options, policy: policy)
        #expect(Unlearner.release(in: &under, options: options, policy: policy).released)

        policy.sigma = sigma(forLimit: delta * 0.999)
        var over = base
        _ = try Unlearner.update(rows: rows, in: &over, options: options, policy: policy)
        let refused = Unlearner.release(in: &over, options: options, policy: policy)
        #expect(!refused.released && !refused.certified)
        #expect(refused.reasonsRaised == [.removalLimit])
        #expect(over.releasedModel.theta == base.model.theta)
        #expect(over.budget.accountant.releases == 0)
        #expect(over.budget.retrainReasons == [.removalLimit])
    }

    @Test("privacy_budget: releases stop before the epoch's epsilon would pass the budget")
    func budgetLasts() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        let rows = UnlearningFixtures.subjects(train, count: 1)[0].rows
        var options = UnlearningOptions()
        options.noiseSeed = 1
        let policy = Self.policy()
        var state = base
        _ = try Unlearner.update(rows: rows, in: &state, options: options, policy: policy)
        var released = 0
        while released < 1000 {
            let report = Unlearner.release(in: &state, options: options, policy: policy)
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
