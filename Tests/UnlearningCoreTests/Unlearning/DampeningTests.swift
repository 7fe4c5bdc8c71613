import TestSupport
import Testing

@testable import UnlearningCore

@Suite("Selective Synaptic Dampening", .computeBound)
struct DampeningRuleTests {
    // Exact values: the rule is a comparison and one division of small integers' ratios.
    @Test("SSD's factor: 1 unless forget > alpha data, then min(lambda data / forget, 1)")
    func factor() {
        // (forget, data, alpha, lambda, expected factor)
        let cases: [(Double, Double, Double, Double, Double)] = [
            (5, 1, 10, 1, 1),  // below the threshold
            (10, 1, 10, 1, 1),  // at it: the rule is strict
            (20, 1, 10, 1, 0.05),  // 1 * 1 / 20
            (20, 2, 5, 2, 0.2),  // 2 * 2 / 20
            (20, 1, 10, 30, 1),  // lambda data / forget = 1.5, capped at 1
            (1, 0, 10, 1, 0),  // only the forget rows use it: zeroed
            (0, 0, 10, 1, 1),  // nobody uses it: kept
        ]
        for (forget, data, alpha, lambda, expected) in cases {
            let beta: Double = SelectiveDampening.factor(forget: forget, data: data, alpha: alpha, lambda: lambda)
            #expect(beta == expected, "forget \(forget), data \(data), alpha \(alpha), lambda \(lambda)")
        }
    }

    @Test("dampen scales exactly the selected parameters and reports their slices")
    func handMade() throws {
        // 2 inputs, 2 classes, no hidden layer: slices L0.u0 = theta[0...2], L0.u1 = theta[3...5].
        let model = try Network(architecture: Architecture(inputs: 2, hidden: [], classes: 2), theta: [1, -2, 3, 4, 5, -6], lambda: 0)
        let forget: [Double] = [50, 1, 0, 0, 30, 8]
        let data: [Double] = [2, 1, 0, 1, 1, 1]
        let result = SelectiveDampening.dampen(model, forgetImportance: forget, dataImportance: data, alpha: 10, lambda: 1)
        // theta[0]: 50 > 20, beta 2/50; theta[4]: 30 > 10, beta 1/30; theta[5]: 8 < 10, kept.
        let expected: [Double] = [2.0 / 50, -2, 3, 4, 5 * (1.0 / 30), -6]
        #expect(result.model.theta == expected)
        #expect(result.dampened == 2)
        #expect(result.slices == [Slice(layer: 0, unit: 0), Slice(layer: 0, unit: 1)])
        let scoped = SelectiveDampening.dampen(
            model, forgetImportance: forget, dataImportance: data, alpha: 10, lambda: 1, scope: [Slice(layer: 0, unit: 1)]
        )
        let expectedScoped: [Double] = [1, -2, 3, 4, 5 * (1.0 / 30), -6]
        #expect(scoped.model.theta == expectedScoped)
        #expect(scoped.dampened == 1 && scoped.slices == [Slice(layer: 0, unit: 1)])
    }
}

@Suite("dampening on an MLP (MNIST extract)", .serialized, .computeBound)
struct DampeningMLPTests {
    /// The 784-128-10 MLP of `MLPUnlearningTests` (the bench's mlp128: Adam, 20 epochs on the MNIST extract), which
    /// fits its training rows, the regime unlearning is about. Measured while writing this test, and the reason it
    /// does not use a smaller model: on the 64-pixel digits set SSD with the paper's defaults barely acts (0-11
    /// parameters dampened for the first 3 subjects with 64-16-10 and 64-32-10 models) and does not raise the
    /// forgotten rows' loss; on a 784-32-10 model it dampened 325, 1,349 (rolled back by the accuracy guard) and 0
    /// parameters for those subjects. The method is a heuristic whose effect depends on the model.
    static var trained: (state: UnlearningState, train: Dataset) { MLPUnlearningTests.trained }

    static func state() -> (UnlearningState, Dataset) { trained }

    static func options(_ scope: UnlearningOptions.DampeningScope = .all) -> UnlearningOptions {
        var options = UnlearningOptions()
        options.method = .dampening
        options.dampeningScope = scope
        options.noise = false
        return options
    }

    @Test("forgetting a subject raises its rows' loss, scales down only parameters, and is never certified")
    func forgetsSubjects() throws {
        let (base, train) = Self.state()
        let validationLoss = mean(base.model.perRowLoss(base.validationFeatures, labels: base.validationLabels))
        let trainLoss = mean(base.model.perRowLoss(base.trainFeatures, labels: base.trainLabels))
        print(
            "MNIST 784-32-10 fixture: train loss \(trainLoss), validation loss \(validationLoss), validation accuracy "
                + "\(base.budget.baseValidationAccuracy!)")
        #expect(trainLoss < validationLoss / 4, "the fixture must fit its training rows")
        var raised = 0
        for subject in UnlearningFixtures.subjects(train, count: 3) {
            var state = base
            let report = try Unlearner.forget(rows: subject.rows, in: &state, options: Self.options())
            print(
                "MNIST MLP dampening, subject \(subject.name) (\(subject.rows.count) rows): \(report.dampenedParameters ?? 0) "
                    + "parameters in \(report.slices.count) slices, forgotten loss \(report.forgottenLossBefore) -> "
                    + "\(report.forgottenLossAfter), validation \(report.validationAccuracyBefore!) -> \(report.validationAccuracyAfter!)")
            #expect(report.method == .dampening && report.outcome == .applied)
            #expect(!report.certified)
            let changed = zip(base.model.theta, state.model.theta).filter { $0.bitPattern != $1.bitPattern }
            #expect(changed.count == report.dampenedParameters)
            // A factor in [0, 1): magnitudes only shrink, signs never flip.
            let shrunk = changed.allSatisfy { (before: Double, after: Double) -> Bool in
                abs(after) < abs(before) && (after == 0 || (before > 0) == (after > 0))
            }
            #expect(shrunk)
            #expect(report.blockSize == state.model.blockSize(report.slices))
            if changed.isEmpty {
                // No parameter passed alpha: the update is the identity (measured for mn-s0003, 5 rows).
                #expect(report.forgottenLossAfter == report.forgottenLossBefore && report.slices.isEmpty)
            } else {
                #expect(report.forgottenLossAfter > 2 * report.forgottenLossBefore, "subject \(subject.name)")
                raised += 1
            }
        }
        #expect(raised >= 2, "dampening acted on \(raised) of 3 subjects")
    }

    @Test("the L-FOCI scope dampens a subset of what the whole-model rule dampens")
    func lfociScope() throws {
        let (base, train) = Self.state()
        let rows = UnlearningFixtures.subjects(train, count: 1)[0].rows
        var all = base
        let allReport = try Unlearner.forget(rows: rows, in: &all, options: Self.options(.all))
        var scoped = base
        let scopedReport = try Unlearner.forget(rows: rows, in: &scoped, options: Self.options(.lfoci))
        #expect(Set(scopedReport.slices).isSubset(of: Set(allReport.slices)))
        #expect((scopedReport.dampenedParameters ?? 0) <= (allReport.dampenedParameters ?? 0))
        for i in base.model.theta.indices where scoped.model.theta[i] != base.model.theta[i] {
            #expect(scoped.model.theta[i] == all.model.theta[i])
        }
    }

    @Test("invalid hyperparameters throw invalid_options and leave the state bit-identical")
    func invalidOptions() throws {
        let (base, train) = Self.state()
        let rows = UnlearningFixtures.subjects(train, count: 1)[0].rows
        for (alpha, lambda) in [(0.0, 1.0), (.nan, 1.0), (10.0, -1.0), (10.0, .infinity)] {
            var state = base
            var options = Self.options()
            options.dampeningAlpha = alpha
            options.dampeningLambda = lambda
            do {
                _ = try Unlearner.forget(rows: rows, in: &state, options: options)
                Issue.record("alpha \(alpha), lambda \(lambda) must be refused")
            } catch {
                #expect(error.code == .invalidOptions, "\(error)")
            }
            #expect(state.model.theta.map(\.bitPattern) == base.model.theta.map(\.bitPattern))
            #expect(state.removed == base.removed && state.budget == base.budget && state.releasedTheta == nil)
        }
    }
}
