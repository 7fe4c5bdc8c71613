import Checkpoints
import Foundation
import Logging
import TestSupport
import Testing
import UnlearningCore

@testable import UnlearnDaemon

@Suite("ModelRuntime and the per-update accuracy guard", .serialized, .computeBound)
struct ModelRuntimeGuardTests {
    /// A state directory with a small MLP imported (4-8-3 on three well separated classes, 24 subjects of 5 rows).
    static func world() throws -> ModelRuntimeWorld {
        var generator = SeededGenerator(seed: 11)
        let train = ModelRuntimeWorld.separatedClasses(120, prefix: "t", using: &generator)
        let validation = ModelRuntimeWorld.separatedClasses(30, prefix: "v", using: &generator)
        var model = try Network(architecture: Architecture(inputs: 4, hidden: [8], classes: 3), lambda: 1e-3, seed: 1)
        var adam = Trainer.AdamOptions()
        adam.epochs = 300
        adam.learningRate = 0.01
        adam.evaluateEveryEpoch = false
        _ = Trainer.adam(&model, x: train.features, labels: train.labels, options: adam)
        return try ModelRuntimeWorld(id: "mlp", bundle: ModelRuntimeWorld.bundle(model, train: train, validation: validation))
    }

    /// The MLP default (dampening with the paper's settings), noise off.
    static let ordinary: UnlearningOptions = {
        var options = UnlearningOptions()
        options.noise = false
        return options
    }()

    /// Dampening with alpha near 0 and lambda 0: zeroes every parameter the batch uses (a destructive step).
    static let wrecking: UnlearningOptions = {
        var options = ordinary
        options.method = .dampening
        options.dampeningAlpha = 1e-12
        options.dampeningLambda = 0
        return options
    }()

    static func apply(_ runtime: ModelRuntime, _ request: String, subject: String, offset: Int64, options: UnlearningOptions) throws
        -> ModelRuntime.Applied
    {
        let rows = try runtime.index.rows(for: .subject(subject)).get()
        let deletion = DeletionRequest(requestID: request, model: runtime.id, scope: .subject(subject), requestedAt: "2026-01-01T00:00:00Z")
        var batch = PendingBatch(model: runtime.id, key: .subject(ExactText(subject)))
        batch.requests = [PendingRequest(request: deletion, rows: rows, topic: "unlearn.deletions", partition: 0, offset: offset, receivedAt: 0)]
        batch.rowCount = rows.count
        return try runtime.apply(batch, options: options, policy: BudgetPolicy(), safeOffsets: [])
    }

    @Test("a destructive batch is tombstoned without a step and raises removal_limit; the runtime goes on with the next batch")
    func destructiveBatchRecordedOnly() throws {
        let world = try Self.world()
        let runtime = try world.open()
        let base = try #require(runtime.state.budget.baseValidationAccuracy)
        #expect(base > 0.9, "the toy MLP must have learnt its classes (validation accuracy \(base))")

        let first = try Self.apply(runtime, "r0", subject: "s0", offset: 0, options: Self.ordinary)
        #expect(first.report?.outcome == .applied, "an ordinary update must pass the guard: \(first.report?.failure ?? "")")
        let weights = runtime.state.model.theta
        let served = runtime.state.releasedModel.theta

        let refused = try Self.apply(runtime, "r1", subject: "s1", offset: 1, options: Self.wrecking)
        let report = try #require(refused.report)
        #expect(report.outcome == .recordedOnly)
        #expect(
            report.failure?.hasPrefix("destructive_update: the dampening update would lower validation accuracy") == true,
            "\(report.failure ?? "nil")")
        #expect(report.reasonsRaised == [.removalLimit])
        #expect(refused.retrainBecameRequired)
        // Nothing applied, nothing reverted: the weights are those after r0; the rows are tombstoned.
        #expect(runtime.state.model.theta == weights && runtime.state.releasedModel.theta == served)
        let s1 = try runtime.index.rows(for: .subject("s1")).get()
        #expect(s1.allSatisfy { runtime.state.removed[$0] })
        #expect(runtime.state.budget.retrainReasons == [.removalLimit])
        #expect(runtime.state.budget.appliedUpdates == 1)
        #expect(runtime.isApplied("r1"))
        let record = try #require(runtime.manifest.updates.last)
        #expect(record.outcome == .recordedOnly && record.reasons == ["removal_limit"])
        #expect(record.failure == report.failure)
        // The retrain excludes the refused rows.
        let exclusions = try String(contentsOfFile: runtime.exclusionListPath, encoding: .utf8)
        for row in s1 { #expect(exclusions.contains(runtime.bundle.train.sampleIDs[row] + "\n")) }

        // The next batch: recorded like every batch while a retrain is required, the daemon keeps running.
        let next = try Self.apply(runtime, "r2", subject: "s2", offset: 2, options: Self.ordinary)
        #expect(next.report?.outcome == .recordedOnly && next.report?.failure == nil)
        #expect(next.version == refused.version + 1)
        #expect(runtime.state.model.theta == weights)
        #expect(try runtime.index.rows(for: .subject("s2")).get().allSatisfy { runtime.state.removed[$0] })

        // All of it is durable: a reopened runtime has the same state.
        let reopened = try world.open()
        #expect(reopened.manifest.version == runtime.manifest.version)
        #expect(reopened.state.budget.retrainReasons == [.removalLimit] && reopened.state.removed == runtime.state.removed)
        #expect(reopened.state.model.theta == weights)
    }
}
