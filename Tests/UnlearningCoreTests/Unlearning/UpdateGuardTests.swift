import Foundation
import TestSupport
import Testing

@testable import UnlearningCore

@Suite("The per-update accuracy guard", .serialized, .computeBound)
struct UpdateGuardTests {
    /// A 64-16-10 MLP on the digits set (Adam, 30 epochs): a small non-convex model, so every method is heuristic.
    static let mlp: (state: UnlearningState, train: Dataset) = {
        let (train, validation, _) = BundledData.split(BundledData.digits)
        var model = try! Network(architecture: Architecture(inputs: 64, hidden: [16], classes: 10), lambda: 1e-3, seed: 1)
        var options = Trainer.AdamOptions()
        options.evaluateEveryEpoch = false
        _ = Trainer.adam(&model, x: train.features, labels: train.labels, options: options)
        let state = UnlearningState(
            model: model, trainFeatures: train.features, trainLabels: train.labels,
            validationFeatures: validation.features, validationLabels: validation.labels
        )
        return (state, train)
    }()

    /// Dampening with alpha near 0 and lambda 0: every parameter the forgotten rows use at all is set to 0, which
    /// leaves the network guessing (the guard's test case; nobody would run these options).
    static var wrecking: UnlearningOptions {
        var options = UnlearningOptions()
        options.method = .dampening
        options.dampeningAlpha = 1e-12
        options.dampeningLambda = 0
        options.noise = false
        return options
    }

    static func expectUntouched(_ state: UnlearningState, _ base: UnlearningState, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(state.model.theta.map(\.bitPattern) == base.model.theta.map(\.bitPattern), sourceLocation: sourceLocation)
        #expect(state.removed == base.removed && state.budget == base.budget, sourceLocation: sourceLocation)
        #expect(state.releasedTheta == base.releasedTheta, sourceLocation: sourceLocation)
    }

    // Exact up to rounding of the square root (1e-15 relative); the values are the formula worked by hand.
    @Test("the default allows two binomial standard errors of the base's accuracy, and at least one row")
    func defaultAllowance() throws {
        // 2 sqrt(0.93 x 0.07 / 1005) = 2 sqrt(6.4776e-5) = 0.016097: about 1.6 points on the MNIST extract's validation rows.
        let mnist = try #require(BudgetPolicy.defaultUpdateAccuracyDrop(baseAccuracy: 0.93, validationRows: 1005))
        #expect(abs(mnist - 2 * (0.93 * 0.07 / 1005).squareRoot()) < 1e-15)
        #expect(abs(mnist - 0.016097) < 1e-6)
        // p = 0.5, n = 100: 2 x 0.05 = 0.1.
        #expect(abs(try #require(BudgetPolicy.defaultUpdateAccuracyDrop(baseAccuracy: 0.5, validationRows: 100)) - 0.1) < 1e-15)
        // p = 1 gives 0 by the formula; one row (1/15) is the floor.
        #expect(BudgetPolicy.defaultUpdateAccuracyDrop(baseAccuracy: 1, validationRows: 15) == 1.0 / 15)
        #expect(BudgetPolicy.defaultUpdateAccuracyDrop(baseAccuracy: 0.9, validationRows: 0) == nil)

        var policy = BudgetPolicy()
        #expect(policy.allowedUpdateAccuracyDrop(baseAccuracy: 0.93, validationRows: 1005) == mnist)
        policy.maxUpdateAccuracyDrop = 0.002
        #expect(policy.allowedUpdateAccuracyDrop(baseAccuracy: 0.93, validationRows: 1005) == 0.002)
        policy.maxUpdateAccuracyDrop = 0
        #expect(policy.allowedUpdateAccuracyDrop(baseAccuracy: 0.93, validationRows: 1005) == 0)

        // The guard uses the epoch base's accuracy and the validation rows it measures on.
        let (base, train) = Self.mlp
        let rows = UnlearningFixtures.subjects(train, count: 1)[0].rows
        let removing = Set(rows)
        let residualLabels = base.residualIndices.filter { !removing.contains($0) }.map { base.trainLabels[$0] }
        let check = try #require(
            Unlearner.updateAccuracyCheck(base.model, method: .dampening, state: base, residualLabels: residualLabels, policy: BudgetPolicy()))
        let p = try #require(base.budget.baseValidationAccuracy)
        let n = base.validationLabels.count
        #expect(check.rows == n)
        #expect(check.allowed == max(2 * (p * (1 - p) / Double(n)).squareRoot(), 1 / Double(n)))
        #expect(check.drop == 0 && check.passes)
    }

    @Test("a heuristic update that wrecks the network is refused with destructive_update, the state untouched")
    func refusesDestructive() throws {
        let (base, train) = Self.mlp
        let rows = UnlearningFixtures.subjects(train, count: 1)[0].rows
        var state = base
        do {
            _ = try Unlearner.update(rows: rows, in: &state, options: Self.wrecking)
            Issue.record("the wrecking update was applied")
        } catch {
            #expect(error.code == .destructiveUpdate, "\(error)")
            #expect(error.reason.contains("would lower validation accuracy from"), "\(error)")
            #expect(error.reason.contains("budget.max_update_accuracy_drop") && error.reason.contains("retrain"), "\(error)")
            print("refused: \(error)")
        }
        Self.expectUntouched(state, base)
        // forget goes through update: refused the same way, nothing released either.
        do {
            _ = try Unlearner.forget(rows: rows, in: &state, options: Self.wrecking)
            Issue.record("forget applied the wrecking update")
        } catch {
            #expect(error.code == .destructiveUpdate, "\(error)")
        }
        Self.expectUntouched(state, base)
    }

    // The boundary, measured on the wrecking update itself: allowed exactly its drop it applies, a hair less it is
    // refused. So the default's refusal above comes from the comparison, not from the options.
    @Test("an update within the allowance is applied; the same update with a smaller allowance is refused")
    func boundary() throws {
        let (base, train) = Self.mlp
        let rows = UnlearningFixtures.subjects(train, count: 1)[0].rows
        var unguarded = BudgetPolicy()
        unguarded.maxUpdateAccuracyDrop = 1
        var probe = base
        let report = try Unlearner.update(rows: rows, in: &probe, options: Self.wrecking, policy: unguarded)
        #expect(report.outcome == .applied)
        let removing = Set(rows)
        let residualLabels = base.residualIndices.filter { !removing.contains($0) }.map { base.trainLabels[$0] }
        let measured = try #require(
            Unlearner.updateAccuracyCheck(probe.model, method: .dampening, state: base, residualLabels: residualLabels, policy: unguarded))
        print("wrecking dampening: validation \(measured.before) -> \(measured.after) on \(measured.rows) rows")
        #expect(measured.drop > 0.3, "the wrecking options must wreck the model")

        var exact = BudgetPolicy()
        exact.maxUpdateAccuracyDrop = measured.drop
        var state = base
        let applied = try Unlearner.update(rows: rows, in: &state, options: Self.wrecking, policy: exact)
        #expect(applied.outcome == .applied && state.budget.appliedUpdates == 1 && state.removed[rows[0]])
        #expect(state.model.theta == probe.model.theta)

        var tighter = BudgetPolicy()
        tighter.maxUpdateAccuracyDrop = measured.drop.nextDown
        state = base
        #expect(throws: UnlearningError.self) { try Unlearner.update(rows: rows, in: &state, options: Self.wrecking, policy: tighter) }
        Self.expectUntouched(state, base)

        // The default options, the default policy: dampening of one subject stays within two standard errors.
        state = base
        var defaults = UnlearningOptions()
        defaults.noise = false
        let ordinary = try Unlearner.update(rows: rows, in: &state, options: defaults)
        #expect(ordinary.method == .dampening && ordinary.outcome == .applied)
    }

    // A class deletion: the model that forgets class k stops predicting it, so it misses k's validation rows (as a
    // retrained model would). Built by hand here, a logit bias of -1000 for k, so the loss is exactly that class's
    // rows; measured on every validation row it would trip the default guard.
    @Test("forgetting a whole class is measured on the classes that keep training rows, so it does not trip the guard")
    func classDeletion() throws {
        let (base, _) = Self.mlp
        let forgotten = 3
        let rows = base.trainLabels.indices.filter { base.trainLabels[$0] == forgotten }
        let residualLabels = base.trainLabels.filter { $0 != forgotten }
        var withoutClass = base.model
        let outputLayer = try #require(base.model.architecture.allSlices.last).layer
        let range = base.model.architecture.parameterRange(of: Slice(layer: outputLayer, unit: forgotten))
        withoutClass.theta[range.upperBound - 1] = -1000  // the unit's bias (weights first, then the bias)
        let predictions = withoutClass.accuracy(base.validationFeatures, labels: base.validationLabels)
        let kept = base.validationLabels.filter { $0 == forgotten }.count
        print("class \(forgotten): \(rows.count) training rows, \(kept) validation rows; validation accuracy with k unpredictable \(predictions)")

        let check = try #require(
            Unlearner.updateAccuracyCheck(withoutClass, method: .dampening, state: base, residualLabels: residualLabels, policy: BudgetPolicy()))
        #expect(check.rows == base.validationLabels.count - kept)
        #expect(check.passes, "drop \(check.drop), allowed \(check.allowed)")
        // The same model judged on every validation row (as if the class kept training rows) is refused.
        let all = try #require(
            Unlearner.updateAccuracyCheck(withoutClass, method: .dampening, state: base, residualLabels: base.trainLabels, policy: BudgetPolicy()))
        #expect(!all.passes, "drop \(all.drop), allowed \(all.allowed)")
    }

    @Test("certified newton on logistic regression is not guarded; the same weights from a heuristic method would be")
    func certifiedNewtonExempt() throws {
        #expect(!Unlearner.isGuarded(.newton, on: Architecture(inputs: 64, hidden: [], classes: 10)))
        #expect(Unlearner.isGuarded(.lfoci, on: Architecture(inputs: 64, hidden: [], classes: 10)))
        #expect(Unlearner.isGuarded(.dampening, on: Architecture(inputs: 64, hidden: [], classes: 10)))
        #expect(Unlearner.isGuarded(.newton, on: Architecture(inputs: 64, hidden: [16], classes: 10)))

        // Removing every second training row of classes 0 to 4 costs the retrained logistic regression accuracy;
        // with an allowance of 0 any loss would be refused.
        let (base, _) = UnlearningFixtures.digitsLogReg
        let rows = base.trainLabels.indices.filter { base.trainLabels[$0] < 5 && $0 % 2 == 0 }
        var strict = BudgetPolicy()
        strict.maxUpdateAccuracyDrop = 0
        var options = UnlearningOptions()
        options.method = .newton
        options.noise = false
        var state = base
        let report = try Unlearner.update(rows: rows, in: &state, options: options, policy: strict)
        #expect(report.outcome == .applied)
        let removing = Set(rows)
        let residualLabels = base.residualIndices.filter { !removing.contains($0) }.map { base.trainLabels[$0] }
        #expect(Unlearner.updateAccuracyCheck(state.model, method: .newton, state: base, residualLabels: residualLabels, policy: strict) == nil)
        let asHeuristic = try #require(
            Unlearner.updateAccuracyCheck(state.model, method: .lfoci, state: base, residualLabels: residualLabels, policy: strict))
        print("newton on logistic regression, \(rows.count) rows: validation \(asHeuristic.before) -> \(asHeuristic.after)")
        #expect(!asHeuristic.passes, "the removal must cost accuracy for this test to show the exemption")
    }
}
