import Foundation
import TestSupport
import Testing

@testable import UnlearningCore

/// The numbers an update records about the models before and after it (accuracy, loss, membership AUC), which the
/// update computes from one pass per model over each set of rows, against each computed on its own.
@Suite("the update's audit numbers", .computeBound)
struct UpdateAuditTests {
    @Test(
        "before (the released, noisy model) and after (the noise-free result) match separately computed values",
        arguments: [UnlearningOptions.Method.dampening, .newton])
    func matchesSeparateComputation(method: UnlearningOptions.Method) throws {
        let (train, validation, _) = BundledData.split(BundledData.digits)
        var model = try Network(architecture: Architecture(inputs: 64, hidden: method == .newton ? [] : [16], classes: 10), lambda: 1e-3, seed: 1)
        var adam = Trainer.AdamOptions()
        adam.epochs = 30
        adam.evaluateEveryEpoch = false
        if method == .newton {
            _ = Trainer.lbfgs(&model, x: train.features, labels: train.labels)
        } else {
            _ = Trainer.adam(&model, x: train.features, labels: train.labels, options: adam)
        }
        var state = UnlearningState(
            model: model, trainFeatures: train.features, trainLabels: train.labels,
            validationFeatures: validation.features, validationLabels: validation.labels
        )
        var options = UnlearningOptions()
        options.method = method
        options.noise = false
        var policy = BudgetPolicy()
        policy.maxUpdateAccuracyDrop = 1
        // A first update, and released weights that differ from the noise-free ones the second update starts from
        // (as after a noisy release).
        _ = try Unlearner.update(rows: [0, 1, 2], in: &state, options: options, policy: policy)
        var generator = SeededGenerator(seed: 3)
        state.releasedTheta = state.model.theta.map { $0 + 0.05 * Double.random(in: -1...1, using: &generator) }
        let released = state.releasedModel
        let rows = [10, 11, 12, 13]
        let removedBefore = state.removedIndices
        if Unlearner.isGuarded(method, on: state.model.architecture) {
            // The per-update guard compares the noise-free model before the update with its result, whatever was
            // released: with an allowance no update can meet, the refusal names the noise-free model's accuracy.
            var strict = policy
            strict.maxUpdateAccuracyDrop = -1
            var probe = state
            let noiseFree = state.model.accuracy(validation.features, labels: validation.labels)
            do {
                _ = try Unlearner.update(rows: rows, in: &probe, options: options, policy: strict)
                Issue.record("an allowance of -1 must refuse every guarded update")
            } catch {
                #expect(error.code == .destructiveUpdate)
                #expect(error.reason.contains("from \(String(format: "%.2f", 100 * noiseFree))% to"), "\(error.reason)")
            }
        }
        let report = try Unlearner.update(rows: rows, in: &state, options: options, policy: policy)
        #expect(report.outcome == .applied)

        let batchX = state.trainFeatures.selectingRows(rows)
        let batchY = rows.map { state.trainLabels[$0] }
        let residual = state.residualIndices
        func forgottenLosses(_ m: Network, _ forgotten: [Int]) -> [Double] {
            m.perRowLoss(state.trainFeatures.selectingRows(forgotten), labels: forgotten.map { state.trainLabels[$0] })
        }
        let validationBefore = released.perRowLoss(validation.features, labels: validation.labels)
        #expect(report.validationAccuracyBefore == released.accuracy(validation.features, labels: validation.labels))
        #expect(report.validationLossBefore == mean(validationBefore))
        #expect(report.forgottenLossBefore == mean(released.perRowLoss(batchX, labels: batchY)))
        #expect(report.forgottenAccuracyBefore == released.accuracy(batchX, labels: batchY))
        #expect(
            report.membershipAUCBefore
                == MembershipInference.lossAUC(members: forgottenLosses(released, (removedBefore + rows).sorted()), nonMembers: validationBefore))

        let after = state.model
        let validationAfter = after.perRowLoss(validation.features, labels: validation.labels)
        #expect(report.validationAccuracyAfter == after.accuracy(validation.features, labels: validation.labels))
        #expect(report.validationLossAfter == mean(validationAfter))
        #expect(
            report.residualAccuracyAfter
                == after.accuracy(state.trainFeatures.selectingRows(residual), labels: residual.map { state.trainLabels[$0] }))
        let gradient = after.objectiveGradient(state.trainFeatures.selectingRows(residual), labels: residual.map { state.trainLabels[$0] })
        #expect(abs(report.gradientResidual - Vector.norm(gradient)) <= 1e-12 * max(1, Vector.norm(gradient)))
        #expect(
            report.membershipAUCAfter
                == MembershipInference.lossAUC(members: forgottenLosses(after, state.removedIndices), nonMembers: validationAfter))
    }
}
