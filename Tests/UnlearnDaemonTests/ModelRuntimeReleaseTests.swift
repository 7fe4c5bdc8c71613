import Checkpoints
import Foundation
import Logging
import TestSupport
import Testing
import UnlearningCore

@testable import UnlearnDaemon

@Suite("ModelRuntime releases and their cadence", .serialized, .computeBound)
struct ModelRuntimeReleaseTests {
    /// A state directory with a toy bundle imported: logistic regression on three well separated classes in four
    /// dimensions, 12 subjects of 5 training rows.
    static func world() throws -> ModelRuntimeWorld {
        var generator = SeededGenerator(seed: 7)
        let train = ModelRuntimeWorld.separatedClasses(60, prefix: "t", using: &generator)
        let validation = ModelRuntimeWorld.separatedClasses(15, prefix: "v", using: &generator)
        var model = try Network(architecture: Architecture(inputs: 4, hidden: [], classes: 3), lambda: 0.01, seed: 1)
        _ = Trainer.lbfgs(&model, x: train.features, labels: train.labels)
        return try ModelRuntimeWorld(id: "toy", bundle: ModelRuntimeWorld.bundle(model, train: train, validation: validation))
    }

    /// Noise off: every release is allowed, so the tests follow the bookkeeping rather than the release rule.
    static let options: UnlearningOptions = {
        var options = UnlearningOptions()
        options.noise = false
        return options
    }()

    static let policy: BudgetPolicy = {
        var policy = BudgetPolicy()
        policy.maxAccuracyDrop = 1
        return policy
    }()

    static func batch(_ runtime: ModelRuntime, request: String, subject: String, offset: Int64) throws -> PendingBatch {
        let rows = try runtime.index.rows(for: .subject(subject)).get()
        let deletion = DeletionRequest(requestID: request, model: runtime.id, scope: .subject(subject), requestedAt: "2026-01-01T00:00:00Z")
        var batch = PendingBatch(model: runtime.id, key: .subject(ExactText(subject)))
        batch.requests = [PendingRequest(request: deletion, rows: rows, topic: "unlearn.deletions", partition: 0, offset: offset, receivedAt: 0)]
        batch.rowCount = rows.count
        return batch
    }

    @discardableResult
    static func apply(
        _ runtime: ModelRuntime, _ request: String, subject: String, offset: Int64, release: Bool = false, policy: BudgetPolicy = policy
    ) throws -> ModelRuntime.Applied {
        try runtime.apply(
            try batch(runtime, request: request, subject: subject, offset: offset), options: options, policy: policy,
            safeOffsets: [], release: release
        )
    }

    /// The kept value against the one the epoch's history gives.
    static func expectKept(_ runtime: ModelRuntime, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(runtime.unreleased == ModelRuntime.Unreleased(history: runtime.manifest.updates), sourceLocation: sourceLocation)
    }

    @Test("the unreleased updates kept by the runtime match its history through updates, releases, a reopen and a rebase")
    func unreleasedKept() throws {
        let world = try Self.world()
        let runtime = try world.open()
        #expect(runtime.unreleased.updates == 0)
        Self.expectKept(runtime)

        try Self.apply(runtime, "r0", subject: "s0", offset: 0)
        try Self.apply(runtime, "r1", subject: "s1", offset: 1)
        #expect(runtime.unreleased.updates == 2)
        #expect(runtime.unreleased.requestIDs == ["r0", "r1"])
        #expect(runtime.unreleased.since == runtime.manifest.updates.first?.time)
        Self.expectKept(runtime)

        // Released in the update's own snapshot: the release covers the updates waiting and this one.
        let inOwnSnapshot = try Self.apply(runtime, "r2", subject: "s2", offset: 2, release: true)
        #expect(inOwnSnapshot.release?.released == true)
        #expect(inOwnSnapshot.receipt?.requestIDs == ["r0", "r1", "r2"])
        #expect(runtime.unreleased == ModelRuntime.Unreleased())
        Self.expectKept(runtime)

        try Self.apply(runtime, "r3", subject: "s3", offset: 3)
        // A batch of duplicates only adds no history record.
        let duplicate = try Self.apply(runtime, "r3", subject: "s3", offset: 4)
        #expect(duplicate.duplicates.count == 1)
        #expect(runtime.unreleased.requestIDs == ["r3"])
        Self.expectKept(runtime)

        let alone = try #require(try runtime.releaseNow(options: Self.options, policy: Self.policy))
        #expect(alone.release?.released == true)
        #expect(alone.receipt?.requestIDs == ["r3"])
        #expect(runtime.manifest.updates.last?.outcome == .release)
        #expect(runtime.unreleased == ModelRuntime.Unreleased())
        #expect(try runtime.releaseNow(options: Self.options, policy: Self.policy) == nil)
        Self.expectKept(runtime)

        try Self.apply(runtime, "r4", subject: "s4", offset: 5)
        try Self.apply(runtime, "r5", subject: "s5", offset: 6)
        #expect(runtime.unreleased.requestIDs == ["r4", "r5"])
        Self.expectKept(runtime)

        let reopened = try world.open()
        #expect(reopened.manifest.version == runtime.manifest.version)
        #expect(reopened.unreleased == runtime.unreleased)
        Self.expectKept(reopened)
        // A release by the other runtime reaches this one through a reload.
        _ = try reopened.releaseNow(options: Self.options, policy: Self.policy)
        try runtime.reload()
        #expect(runtime.unreleased == ModelRuntime.Unreleased())
        Self.expectKept(runtime)

        // A rebase starts a new epoch with an empty history: nothing waits.
        try Self.apply(runtime, "r6", subject: "s6", offset: 7)
        #expect(runtime.unreleased.updates == 1)
        try runtime.rebase(to: runtime.state.model, standardization: nil)
        #expect(runtime.manifest.budgetEpoch == 2)
        #expect(runtime.unreleased == ModelRuntime.Unreleased())
        Self.expectKept(runtime)
    }

    @Test("the cadence counts the waiting updates plus the ones about to land, and times the oldest waiting one")
    func cadence() throws {
        let world = try Self.world()
        let runtime = try world.open()
        let everyUpdate = ModelRuntime.ReleaseCadence(updates: 1, seconds: 0)
        #expect(runtime.releaseDue(everyUpdate, counting: 1))
        #expect(!runtime.releaseDue(everyUpdate), "nothing waits for a release alone")

        let everyThird = ModelRuntime.ReleaseCadence(updates: 3, seconds: 0)
        try Self.apply(runtime, "r0", subject: "s0", offset: 0)
        #expect(!runtime.releaseDue(everyThird, counting: 1))
        try Self.apply(runtime, "r1", subject: "s1", offset: 1)
        #expect(runtime.releaseDue(everyThird, counting: 1))
        #expect(!runtime.releaseDue(everyThird))
        try Self.apply(runtime, "r2", subject: "s2", offset: 2)
        #expect(runtime.releaseDue(everyThird))

        let since = try #require(runtime.unreleased.since.flatMap(RFC3339.parse))
        let timer = ModelRuntime.ReleaseCadence(updates: 0, seconds: 30)
        #expect(!runtime.releaseDue(timer, now: since.addingTimeInterval(29)))
        #expect(runtime.releaseDue(timer, now: since.addingTimeInterval(30)))
        #expect(runtime.releaseDue(timer, counting: 1, now: since.addingTimeInterval(30)))
        let off = ModelRuntime.ReleaseCadence(updates: 0, seconds: 0)
        #expect(!runtime.releaseDue(off, counting: 1, now: since.addingTimeInterval(86_400)))

        _ = try runtime.releaseNow(options: Self.options, policy: Self.policy)
        #expect(!runtime.releaseDue(timer, now: since.addingTimeInterval(86_400)), "the timer starts again with the next update")
    }

    @Test("no release is due while the model waits for a retrain")
    func waitingForRetrain() throws {
        let world = try Self.world()
        let runtime = try world.open()
        var capped = Self.policy
        capped.maxRemovals = 5
        try Self.apply(runtime, "r0", subject: "s0", offset: 0, policy: capped)
        #expect(runtime.state.budget.retrainRequired)
        #expect(runtime.unreleased.updates == 1)
        #expect(!runtime.releaseDue(ModelRuntime.ReleaseCadence(updates: 1, seconds: 0), counting: 1))
        #expect(!runtime.releaseDue(ModelRuntime.ReleaseCadence(updates: 0, seconds: 1), now: Date().addingTimeInterval(3600)))
        #expect(try runtime.releaseNow(options: Self.options, policy: capped) == nil)
        Self.expectKept(runtime)
    }

    // `unlearnctl status` opens the state read-only: a corrupt newest version is skipped for the one before it,
    // but stays where it is (the daemon quarantines it when it loads); a writer's open moves it.
    @Test("a read-only open skips a version that does not verify without moving it; a writer's open quarantines it")
    func readOnlyOpenMovesNothing() throws {
        let world = try Self.world()
        let runtime = try world.open()
        try Self.apply(runtime, "r0", subject: "s0", offset: 0)
        let newest = runtime.manifest.version
        let path = runtime.store.snapshotPath(newest)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

        let status = try ModelRuntime.openExisting(id: "toy", stateDirectory: world.stateDirectory, logger: logger, readOnly: true)
        #expect(status.manifest.version == newest - 1)
        #expect(FileManager.default.fileExists(atPath: path), "a read-only open moved the corrupt snapshot")
        #expect(try runtime.store.quarantinedFiles().isEmpty)

        let writer = try ModelRuntime.openExisting(id: "toy", stateDirectory: world.stateDirectory, logger: logger)
        #expect(writer.manifest.version == newest - 1)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try runtime.store.quarantinedFiles().map(\.version).contains(newest))
    }

    // A kill between the two links of the very first import leaves the record of version 1 without its snapshot and
    // no model.json: nothing was adopted, so the next start imports again. A model that has its model.json has had
    // state, and the same files then stop the daemon instead of reverting deletions.
    @Test("a first import killed between its two links is imported again; a model with an identity is never re-imported")
    func interruptedFirstImportImportsAgain() throws {
        let world = try Self.world()
        let first = try world.open()
        #expect(first.manifest.version == 1)
        try FileManager.default.removeItem(atPath: first.store.snapshotPath(1))
        try FileManager.default.removeItem(atPath: first.store.identityPath)

        let again = try world.open()
        #expect(again.manifest.version == 2, "the interrupted version 1 keeps its number in quarantine")
        #expect(again.manifest.baseVersion == 2)
        #expect(try again.store.quarantinedFiles().map(\.version) == [1])
        #expect(again.store.hasIdentity)

        try FileManager.default.removeItem(atPath: again.store.snapshotPath(2))
        let refusal = #expect(throws: DaemonExit.self) { try world.open() }
        #expect(refusal?.status == DaemonExit.noValidStateStatus)
    }

    // A retrained base is the new epoch's first release: its receipt lists what the old epoch recorded after its
    // last release (applied but unreleased, and tombstoned after the limit), so no request misses a receipt.
    @Test("rebase serves the retrained base as a release whose receipt lists the requests no earlier receipt listed")
    func rebaseReceiptCoversTheUnreleased() throws {
        let world = try Self.world()
        let runtime = try world.open()
        var policy = Self.policy
        policy.maxRemovals = 10  // two subjects of 5 rows: the second reaches the cap, the third is only recorded
        let first = try Self.apply(runtime, "r0", subject: "s0", offset: 0, release: true, policy: policy)
        #expect(first.receipt?.requestIDs == ["r0"])
        try Self.apply(runtime, "r1", subject: "s1", offset: 1, policy: policy)
        try Self.apply(runtime, "r2", subject: "s2", offset: 2, policy: policy)
        #expect(runtime.state.budget.retrainRequired)
        #expect(runtime.manifest.updates.map(\.outcome) == [.applied, .applied, .recordedOnly])
        #expect(runtime.unreleased.requestIDs == ["r1"])

        let keep = runtime.state.residualIndices
        var retrained = runtime.state.model
        _ = Trainer.lbfgs(&retrained, x: runtime.state.trainFeatures.selectingRows(keep), labels: keep.map { runtime.state.trainLabels[$0] })
        let version = try runtime.rebase(to: retrained, standardization: nil)

        let receipt = try #require(runtime.receipt(policy: policy))
        #expect(receipt.eventID == "toy:\(version)")
        #expect(receipt.budgetEpoch == 2)
        #expect(receipt.requestIDs == ["r1", "r2"])
        #expect(receipt.mode == "retrained" && !receipt.certified)
        #expect(receipt.sigma == 0 && receipt.epsilonRelease == 0 && receipt.epsilonSpent == 0)
        let served = try Data(contentsOf: URL(fileURLWithPath: runtime.releasedFilePath))
        #expect(receipt.sha256 == SHA256.hash(Array(served)).description, "the receipt names another file than the one served")
        #expect(runtime.releasedVersion == version)
        #expect(runtime.unreleased == ModelRuntime.Unreleased())
        Self.expectKept(runtime)

        // Epoch 2 goes on from there: the next release lists only its own requests.
        let next = try Self.apply(runtime, "r3", subject: "s3", offset: 3, release: true)
        #expect(next.receipt?.requestIDs == ["r3"])
        #expect(next.receipt?.mode == "certified" || next.receipt?.mode == "adaptive")
    }
}
