import Foundation
import Testing
import UnlearningCore

@Suite("Privacy accountant and removal policy")
struct PrivacyAccountantTests {
    /// Closed form for one Gaussian release (Mironov 2017): the optimum over alpha > 1 of
    /// alpha Delta^2/(2 sigma^2) + ln(1/delta)/(alpha - 1) is Delta^2/(2 sigma^2) + (Delta/sigma) sqrt(2 ln(1/delta)).
    /// The grid is 0.05 wide around alpha* ~ 5.8, so the grid minimum exceeds the optimum by at most
    /// (d^2/da^2 at alpha*) * 0.025^2 / 2 < 1e-3; the test allows 1e-3 relative.
    @Test("single Gaussian release matches the closed-form RDP optimum", arguments: [(1.0, 1.0, 1e-5), (0.3, 2.0, 1e-6), (2.0, 1.0, 1e-5)])
    func singleRelease(sensitivity: Double, sigma: Double, delta: Double) {
        var accountant = PrivacyAccountant()
        accountant.record(sensitivity: sensitivity, sigma: sigma)
        let c = sensitivity / sigma
        let exact = c * c / 2 + c * (2 * log(1 / delta)).squareRoot()
        let measured = accountant.epsilon(delta: delta)
        #expect(measured >= exact * (1 - 1e-12))
        #expect((measured - exact) / exact < 1e-3, "grid epsilon \(measured) vs closed form \(exact)")
    }

    @Test("k identical releases compose to k times the per-order RDP")
    func composition() {
        var accountant = PrivacyAccountant()
        let one = PrivacyAccountant.gaussianRDP(sensitivity: 0.7, sigma: 1.3)
        for _ in 0..<17 { accountant.record(sensitivity: 0.7, sigma: 1.3) }
        #expect(accountant.releases == 17)
        for (total, single) in zip(accountant.rdp, one) {
            #expect(abs(total - 17 * single) <= 1e-12 * total)
        }
        // And k releases at sigma equal one release at sigma / sqrt(k) (Gaussian composition).
        var merged = PrivacyAccountant()
        merged.record(sensitivity: 0.7, sigma: 1.3 / 17.0.squareRoot())
        #expect(abs(merged.epsilon(delta: 1e-5) - accountant.epsilon(delta: 1e-5)) < 1e-9)
    }

    @Test("forecast counts the releases that still fit in the budget")
    func forecast() {
        var accountant = PrivacyAccountant()
        #expect(accountant.forecastRemainingReleases(budget: 5, delta: 1e-5) == nil)
        accountant.record(sensitivity: 0.1, sigma: 1)
        let left = accountant.forecastRemainingReleases(budget: 5, delta: 1e-5)!
        var check = accountant
        for _ in 0..<left { check.record(sensitivity: 0.1, sigma: 1) }
        #expect(check.epsilon(delta: 1e-5) <= 5)
        check.record(sensitivity: 0.1, sigma: 1)
        #expect(check.epsilon(delta: 1e-5) > 5)
    }

    /// The policy raises `removal_limit` exactly when sigma = Delta sqrt(2 ln(1.25/delta)) / epsilon_step passes
    /// sigma_max: place sigma_max just above and just below the sigma the update needs.
    @Test("removal_limit is raised exactly when the required sigma passes sigma_max")
    func removalLimit() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        let rows = UnlearningFixtures.subjects(train, count: 1)[0].rows
        var options = UnlearningOptions()
        options.selection = .full
        options.noiseSeed = 7
        var policy = BudgetPolicy()
        policy.epsilonBudget = 1e9
        policy.maxAccuracyDrop = 1
        policy.sigmaMax = .infinity
        var probe = base
        let needed = try Unlearner.forget(rows: rows, in: &probe, options: options, policy: policy).sigma
        #expect(needed > 0)

        policy.sigmaMax = needed * (1 + 1e-9)
        var under = base
        let applied = try Unlearner.forget(rows: rows, in: &under, options: options, policy: policy)
        #expect(applied.outcome == .applied)
        #expect(applied.reasonsRaised.isEmpty)
        #expect(!under.budget.retrainRequired)
        #expect(under.model != base.model)

        policy.sigmaMax = needed * (1 - 1e-9)
        var over = base
        let refused = try Unlearner.forget(rows: rows, in: &over, options: options, policy: policy)
        #expect(refused.outcome == .recordedOnly)
        #expect(refused.reasonsRaised == [.removalLimit])
        #expect(over.budget.retrainReasons == [.removalLimit])
        #expect(over.model == base.model)
        #expect(over.residualCount == base.residualCount - rows.count)  // still tombstoned
        #expect(over.budget.accountant.releases == 0)

        // Once the limit is hit, later deletions are recorded only.
        let next = UnlearningFixtures.subjects(train, count: 2)[1].rows
        let later = try Unlearner.forget(rows: next, in: &over, options: options, policy: policy)
        #expect(later.outcome == .recordedOnly)
        #expect(over.model == base.model)
        #expect(over.residualCount == base.residualCount - rows.count - next.count)
    }

    @Test("privacy_budget is raised when the next release would exceed epsilon_budget")
    func privacyBudget() throws {
        let (base, train) = UnlearningFixtures.digitsLogReg
        let subjects = UnlearningFixtures.subjects(train, count: 6)
        var options = UnlearningOptions()
        options.selection = .full
        options.noiseSeed = 3
        var policy = BudgetPolicy()
        policy.sigmaMax = .infinity
        policy.maxAccuracyDrop = 1
        policy.epsilonStep = 1
        policy.epsilonBudget = 2.5  // one release costs about 1 + RDP slack; the third cannot fit
        var state = base
        var outcomes: [UpdateReport.Outcome] = []
        for subject in subjects {
            let report = try Unlearner.forget(rows: subject.rows, in: &state, options: options, policy: policy)
            outcomes.append(report.outcome)
            #expect(state.budget.epsilonSpent(delta: policy.delta) <= policy.epsilonBudget)
        }
        #expect(outcomes.first == .applied)
        #expect(outcomes.last == .recordedOnly)
        #expect(state.budget.retrainReasons.contains(.privacyBudget))
    }
}
