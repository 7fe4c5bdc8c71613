import Checkpoints
import Foundation
import Logging
import UnlearningCore

/// One registered model as the daemon holds it: the bundle's training rows, the store of snapshots, and the
/// unlearning state of the newest valid snapshot. Confined to the pipeline's engine queue (not thread-safe).
public final class ModelRuntime: @unchecked Sendable {
    public let id: String
    public let bundlePath: String
    public let store: SnapshotStore
    public let bundle: ModelBundle
    public let index: RowIndex
    /// The daemon's state directory (`released/<id>/` lives beside `models/<id>/`).
    public let stateDirectory: String
    public private(set) var state: UnlearningState
    public private(set) var manifest: SnapshotManifest
    public private(set) var snapshotSHA256: String
    /// Input standardisation of the current snapshot (a rebase may bring a new one).
    public private(set) var standardization: Standardization?
    /// Request ids applied since the epoch's base, compared by their exact UTF-8 bytes.
    private(set) var ledger: Set<ExactText>
    /// True when the loaded snapshot is older than one the model once had (a newer version was quarantined, or an
    /// operator re-imported the model with `unlearnctl recover`): requests applied in the lost versions are re-read
    /// from the model's own recorded offsets (see `UnlearningPipeline.offsetClaims`). Persisted in every snapshot as
    /// the manifest extension `replay` until the next budget epoch.
    public private(set) var replaying: Bool
    /// The updates applied to the noise-free state since the epoch's last release: derived from the history when a
    /// version is loaded, then kept up to date as versions are committed (it is read on every update and tick).
    public private(set) var unreleased: Unreleased
    private let logger: Logger

    /// The result of applying one batch.
    public struct Applied: Sendable {
        public var version: UInt64
        public var report: UpdateReport?
        /// The release made in the same snapshot, and its receipt when new weights were published.
        public var release: ReleaseReport?
        public var receipt: ReleaseEvent?
        /// Requests already in the ledger (applied before); recorded nowhere, counted as duplicates.
        public var duplicates: [PendingRequest]
        public var retrainBecameRequired: Bool
        public var snapshotSeconds: Double
    }

    /// Thrown when another writer created a newer version: the runtime has reloaded; redo the batch.
    public struct Stale: Error, CustomStringConvertible {
        public var description: String
    }

    /// Opens the model: imports the bundle as the base of budget epoch 1 on its very first start, then loads the
    /// newest snapshot that verifies (quarantining broken ones, which are logged loudly).
    ///
    /// A model that has had state (its `model.json`, or anything in quarantine) is never imported again: with no
    /// version that verifies, this throws ``DaemonExit/noValidState(model:reason:)``, since a new base would revert
    /// every deletion applied since while the committed Kafka offsets are past them. Unsafe directories (other
    /// owners, writable by others) stop the daemon with the path (exit status 78).
    public static func open(
        id: String, bundlePath: String, stateDirectory: String, retain: Int, compressionLevel: Int32, logger: Logger
    ) throws -> ModelRuntime {
        let bundle = try ModelBundle.read(from: bundlePath)
        let store = try SnapshotStore(
            directory: try SnapshotStore.modelDirectory(root: stateDirectory, modelId: id),
            retain: retain, compressionLevel: compressionLevel
        )
        do {
            try store.checkDirectories(upTo: stateDirectory)
        } catch let error as CheckpointError where error.code == .unsafeFile {
            throw DaemonExit(status: 78, reason: "model \(id): unsafe state directory: \(error.reason)")
        }
        if try store.versions().isEmpty {
            let quarantined = try store.quarantinedFiles()
            if store.hasIdentity || !Self.onlyAnInterruptedFirstImport(quarantined) {
                throw DaemonExit.noValidState(
                    model: id,
                    reason: "no version is left in \(store.directory); \(quarantined.count) files are in quarantine/"
                )
            }
            try importFirstBase(id: id, bundle: bundle, bundlePath: bundlePath, store: store, logger: logger)
        }
        do {
            let runtime = try ModelRuntime(
                id: id, bundlePath: bundlePath, bundle: bundle, store: store, stateDirectory: stateDirectory, logger: logger)
            // Written after the first base is durable (and for state from before model.json existed).
            if !store.hasIdentity { try store.writeIdentity(modelId: id, bundlePath: bundlePath) }
            return runtime
        } catch let error as CheckpointError where error.code == .noValidSnapshot {
            // A kill during the very first import leaves only the record of version 1: nothing was ever adopted.
            if !store.hasIdentity, try store.versions().isEmpty, Self.onlyAnInterruptedFirstImport(try store.quarantinedFiles()) {
                logger.notice("The first import was interrupted before its snapshot was written; importing again", metadata: [LogKey.model: "\(id)"])
                try importFirstBase(id: id, bundle: bundle, bundlePath: bundlePath, store: store, logger: logger)
                let runtime = try ModelRuntime(
                    id: id, bundlePath: bundlePath, bundle: bundle, store: store, stateDirectory: stateDirectory, logger: logger)
                try store.writeIdentity(modelId: id, bundlePath: bundlePath)
                return runtime
            }
            throw DaemonExit.noValidState(model: id, reason: error.reason)
        }
    }

    /// True when quarantine holds nothing but records of version 1 without a snapshot (a first import killed
    /// between its two links): no version was ever adopted.
    static func onlyAnInterruptedFirstImport(_ quarantined: [SnapshotStore.QuarantinedFile]) -> Bool {
        quarantined.allSatisfy { $0.version == 1 && !$0.isSnapshot }
    }

    private static func importFirstBase(id: String, bundle: ModelBundle, bundlePath: String, store: SnapshotStore, logger: Logger) throws {
        do {
            let version = (try store.quarantinedFiles().map(\.version).max() ?? 0) + 1
            try importBase(id: id, bundle: bundle, bundlePath: bundlePath, store: store, logger: logger, version: version)
        } catch let error as CheckpointError where error.code == .stale {
            // Another daemon sharing the state directory imported it first: load theirs.
            logger.info("Another daemon imported the model first", metadata: [LogKey.model: "\(id)"])
        }
    }

    private init(
        id: String, bundlePath: String, bundle: ModelBundle, store: SnapshotStore, stateDirectory: String, logger: Logger,
        quarantine: Bool = true
    ) throws {
        self.id = id
        self.stateDirectory = stateDirectory
        self.bundlePath = bundlePath
        self.bundle = bundle
        self.store = store
        self.logger = logger
        self.index = RowIndex(bundle.train, classes: bundle.descriptor.architecture.classes)
        let loaded = try Self.load(store: store, bundle: bundle, logger: logger, id: id, quarantine: quarantine)
        self.state = loaded.state
        self.manifest = loaded.manifest
        self.snapshotSHA256 = loaded.sha256
        self.standardization = loaded.standardization
        self.ledger = Set(loaded.manifest.appliedRequestIds.map(ExactText.init))
        self.replaying = loaded.replaying
        self.unreleased = Unreleased(history: loaded.manifest.updates)
    }

    /// Opens a model that the daemon already imported, finding its bundle through the path recorded at import
    /// (for `unlearnctl status` and `rebase`, which have the state directory but not the daemon's config).
    /// `readOnly` (status) moves nothing: a version that does not verify is skipped but left where it is, and dead
    /// writers' temporary files stay for the daemon to remove, so a monitoring user needs no write access.
    public static func openExisting(id: String, stateDirectory: String, logger: Logger, readOnly: Bool = false) throws -> ModelRuntime {
        let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: stateDirectory, modelId: id))
        guard try !store.versions().isEmpty else {
            throw CheckpointError(.noValidSnapshot, "model \(id) has no snapshots under \(stateDirectory); has the daemon imported it yet?")
        }
        let newest = try store.loadNewestValid(quarantine: false)
        guard case .string(let bundlePath)? = newest.snapshot.manifest.extensions?["bundle_path"] else {
            throw CheckpointError(.malformedManifest, "model \(id): the snapshot does not record its bundle path")
        }
        return try ModelRuntime(
            id: id, bundlePath: bundlePath, bundle: try ModelBundle.read(from: bundlePath), store: store,
            stateDirectory: stateDirectory, logger: logger, quarantine: !readOnly
        )
    }

    /// Installs a retrained model as the base of a new budget epoch (docs/ARCHITECTURE.md, section 3.4). The removed rows stay
    /// removed; the retrained model must have been fitted without them (`unlearnctl rebase` checks the bundle).
    @discardableResult
    public func rebase(to model: Network, standardization newStandardization: Standardization?) throws -> UInt64 {
        guard model.architecture == state.model.architecture else {
            throw CheckpointError(.shapeMismatch, "the retrained model's architecture differs from model \(id)'s; retrain with the same architecture")
        }
        var next = state
        next.rebase(model: model)
        if bundle.validation.count > 0 {
            // The reference of the accuracy guard, on the validation rows as the new base standardises them.
            let x = newStandardization.map { $0.apply(bundle.validation.features) } ?? bundle.validation.features
            next.budget.baseValidationAccuracy = model.accuracy(x, labels: bundle.validation.labels)
        }
        let version = manifest.version + 1
        var newManifest = manifest
        newManifest.version = version
        newManifest.parentVersion = manifest.version
        newManifest.parentSHA256 = snapshotSHA256
        newManifest.budgetEpoch = next.budget.epoch
        newManifest.baseVersion = version
        newManifest.createdAt = RFC3339.format(Date())
        newManifest.lambda = model.lambda
        newManifest.budget = try JSONValue(encoding: next.budget)
        // The base is served as the new epoch's first release. It was fitted without every tombstoned row, so it
        // makes effective the requests the old epoch recorded after its last release: applied to the noise-free
        // state but not yet released, or tombstoned after a limit. Its receipt lists them, so every request the
        // daemon records is in exactly one receipt.
        var record = SnapshotManifest.UpdateRecord(time: RFC3339.format(Date()), requestIds: [], rowsRemoved: 0, outcome: .release)
        record.method = "retrained"
        record.released = true
        record.release = SnapshotManifest.ReleaseRecord(
            version: version, released: true, mode: SnapshotManifest.ReleaseRecord.retrainedMode, certified: false, sigma: 0,
            residualBound: 0, sensitivity: 0, sensitivityLimit: nil, epsilonRelease: 0, epsilonSpent: 0,
            requestIds: unreleased.recordedIDs, validationAccuracy: next.budget.baseValidationAccuracy
        )
        newManifest.updates = [record]
        // A retrained base was fitted without every tombstoned row: nothing is left to replay.
        newManifest.extensions?["replay"] = nil
        let parameters = try ModelParameters(model, standardization: newStandardization)
        try Self.recordReleasedFileSHA256(in: &newManifest, parameters: parameters)
        let committed = try store.commit(try Snapshot(manifest: newManifest, parameters: parameters))
        replaying = false
        try reload()  // features are re-standardised with the new base's statistics
        try writeReleasedFile()  // the retrained base is what is served now
        return committed.version
    }

    /// Re-reads the newest valid snapshot (after another writer, or `unlearnctl rebase`, created one).
    public func reload() throws {
        let loaded = try Self.load(store: store, bundle: bundle, logger: logger, id: id)
        let previous = state
        let sameBase = loaded.manifest.baseVersion == manifest.baseVersion && loaded.manifest.budgetEpoch == manifest.budgetEpoch
        self.state = loaded.state
        // The same base (a reload on partition assignment, or after another writer's update): its preconditioner
        // still applies. A rebase brings a new base, whose preconditioner is built before its first update.
        if sameBase { self.state.keepNewtonPreconditioning(of: previous) }
        self.manifest = loaded.manifest
        self.snapshotSHA256 = loaded.sha256
        self.standardization = loaded.standardization
        self.ledger = Set(loaded.manifest.appliedRequestIds.map(ExactText.init))
        self.replaying = replaying || loaded.replaying
        self.unreleased = Unreleased(history: loaded.manifest.updates)
    }

    /// Builds `newton`'s preconditioner for the loaded base unless the state already has one or a record of why
    /// not (at load, and after a reload or rebase brought a new state), and logs the outcome: its memory when built,
    /// a warning when the memory bound or the build stopped it (newton then runs plain CG). Only where the update
    /// method is newton. Returns the record when it built or tried.
    @discardableResult
    public func prepareNewtonPreconditioner(options: UnlearningOptions) -> NewtonPreconditioning? {
        guard state.newtonPreconditioning == nil, options.resolvedMethod(for: state.model.architecture) == .newton else { return nil }
        let record = state.prepareNewtonPreconditioner(options: options)
        var metadata: Logger.Metadata = [
            LogKey.model: "\(id)", LogKey.preconditionerOutcome: "\(record.outcome.rawValue)",
            LogKey.preconditionerRank: "\(record.preconditioner?.rank ?? record.requestedRank)",
            LogKey.preconditionerBytes: "\(record.bytes)", LogKey.preconditionerRequiredBytes: "\(record.requiredBytes)",
        ]
        switch record.outcome {
        case .built:
            metadata[LogKey.preconditionerRows] = "\(record.rows)"
            metadata[LogKey.seconds] = "\(record.seconds)"
            logger.notice("Built newton's preconditioner", metadata: metadata)
        case .overMemoryLimit, .failed:
            metadata[LogKey.reason] = "\(record.reason ?? "")"
            logger.warning("newton's preconditioner was not built; newton runs plain CG", metadata: metadata)
        case .disabled, .notConvex:
            logger.info("newton runs plain CG", metadata: metadata)
        }
        return record
    }

    /// Adopts a version just committed.
    func adopt(state next: UnlearningState, manifest newManifest: SnapshotManifest, sha256: String) {
        state = next
        manifest = newManifest
        snapshotSHA256 = sha256
    }

    public func isApplied(_ requestID: String) -> Bool { ledger.contains(ExactText(requestID)) }

    /// The per-partition offsets recorded in the newest snapshot.
    public var recordedOffsets: [SnapshotManifest.KafkaOffset] { manifest.kafkaOffsets }

    /// Recovery after every version of a model was lost (`unlearnctl recover --reimport`): imports the bundle as a
    /// new base numbered above every quarantined version, with `replayFrom` as its recorded offsets of `topic` and the
    /// `replay` mark, so the daemon reads the deletions log again from there (from the beginning of any partition
    /// not listed) and re-applies every request. Refuses while any version verifies. Returns the new version.
    public static func reimportForRecovery(
        id: String, bundlePath: String, stateDirectory: String, topic: String, replayFrom: [Int32: Int64], logger: Logger
    ) throws -> UInt64 {
        let bundle = try ModelBundle.read(from: bundlePath)
        let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: stateDirectory, modelId: id))
        if try !store.versions().isEmpty {
            do {
                let valid = try store.loadNewestValid(quarantine: true)
                throw CheckpointError(.invalidArgument, "model \(id): version \(valid.version) verifies; nothing to re-import (the daemon loads it)")
            } catch let error as CheckpointError where error.code == .noValidSnapshot {
                // Every version failed and is quarantined now.
            }
        }
        let quarantined = try store.quarantinedFiles()
        let version = (quarantined.map(\.version).max() ?? 0) + 1
        if !store.hasIdentity { try store.writeIdentity(modelId: id, bundlePath: bundlePath) }
        let offsets = replayFrom.sorted { $0.key < $1.key }.map {
            SnapshotManifest.KafkaOffset(topic: topic, partition: $0.key, nextOffset: $0.value)
        }
        return try importBase(
            id: id, bundle: bundle, bundlePath: bundlePath, store: store, logger: logger, version: version, kafkaOffsets: offsets,
            extensions: [
                "replay": .bool(true),
                "recovered": .object([
                    "at": .string(RFC3339.format(Date())),
                    "quarantined_versions": .array(Set(quarantined.map(\.version)).sorted().map { .number(Double($0)) }),
                    "replay_from": .object(Dictionary(uniqueKeysWithValues: replayFrom.map { ("\($0.key)", JSONValue.number(Double($0.value))) })),
                ]),
            ]
        )
    }

    @discardableResult
    static func importBase(
        id: String, bundle: ModelBundle, bundlePath: String, store: SnapshotStore, logger: Logger, version: UInt64 = 1,
        kafkaOffsets: [SnapshotManifest.KafkaOffset] = [], extensions: [String: JSONValue] = [:]
    ) throws -> UInt64 {
        let state = UnlearningState(
            model: bundle.model, trainFeatures: bundle.trainFeatures, trainLabels: bundle.train.labels,
            validationFeatures: bundle.validationFeatures, validationLabels: bundle.validation.labels
        )
        var manifest = SnapshotManifest(
            modelId: id, version: version, parentVersion: nil, parentSHA256: nil, budgetEpoch: 1, baseVersion: version,
            createdAt: RFC3339.format(Date()), architecture: bundle.model.architecture,
            lambda: bundle.model.lambda, n0: bundle.train.count, residualN: bundle.train.count,
            budget: try JSONValue(encoding: state.budget),
            extensions: extensions.merging([
                "bundle_train_sample_ids_sha256": .string(Self.sampleIDDigest(bundle.train)),
                "bundle_path": .string(bundlePath),
            ]) { $1 }
        )
        manifest.kafkaOffsets = kafkaOffsets
        let parameters = try ModelParameters(bundle.model, standardization: bundle.descriptor.standardization)
        let committed = try store.commit(try Snapshot(manifest: manifest, parameters: parameters))
        logger.notice(
            "Imported model bundle as base snapshot",
            metadata: [
                LogKey.model: "\(id)", LogKey.snapshotVersion: "\(committed.version)",
                LogKey.residualRows: "\(bundle.train.count)",
            ]
        )
        return committed.version
    }

    /// A digest of the training set's sample ids, so a later start notices a bundle that changed underneath.
    static func sampleIDDigest(_ data: Dataset) -> String {
        var hasher = SHA256()
        for id in data.sampleIDs { hasher.update(Array(id.utf8) + [0x0A]) }
        return hasher.finalize().description
    }

    struct Loaded {
        var state: UnlearningState
        var manifest: SnapshotManifest
        var sha256: String
        var standardization: Standardization?
        var replaying: Bool
    }

    static func load(store: SnapshotStore, bundle: ModelBundle, logger: Logger, id: String, quarantine: Bool = true) throws -> Loaded {
        let loaded = try store.loadNewestValid(quarantine: quarantine)
        for skipped in loaded.skipped {
            logger.error(
                "Skipped a snapshot that does not verify",
                metadata: [
                    LogKey.model: "\(id)", LogKey.snapshotVersion: "\(skipped.version)", LogKey.reason: "\(skipped.error.code)",
                    LogKey.error: "\(skipped.error.reason)", LogKey.path: "\(skipped.quarantinedTo.joined(separator: ", "))",
                ]
            )
        }
        let snapshot = loaded.snapshot
        let manifest = snapshot.manifest
        guard manifest.n0 == bundle.train.count else {
            throw CheckpointError(
                .shapeMismatch,
                "model \(id): the state directory was built from a bundle with \(manifest.n0) training rows, \(bundle.train.count) are configured now; point the model at its original bundle"
            )
        }
        if case .string(let digest)? = manifest.extensions?["bundle_train_sample_ids_sha256"], digest != sampleIDDigest(bundle.train) {
            throw CheckpointError(
                .shapeMismatch,
                "model \(id): the configured bundle's training sample ids differ from the ones the state was built from; point the model at its original bundle"
            )
        }
        let model = try snapshot.parameters.engineModel(lambda: manifest.lambda)
        var removed = [Bool](repeating: false, count: manifest.n0)
        for r in manifest.tombstones.rows where r < removed.count { removed[r] = true }
        let budget = try manifest.budget.decode(BudgetState.self)
        let standardization = snapshot.parameters.standardization
        let state = UnlearningState(
            model: model,
            trainFeatures: standardization.map { $0.apply(bundle.train.features) } ?? bundle.train.features,
            trainLabels: bundle.train.labels,
            validationFeatures: standardization.map { $0.apply(bundle.validation.features) } ?? bundle.validation.features,
            validationLabels: bundle.validation.labels,
            removed: removed, budget: budget,
            releasedTheta: snapshot.parameters.privateTheta == nil ? nil : snapshot.parameters.theta
        )
        logger.notice(
            "Loaded snapshot",
            metadata: [
                LogKey.model: "\(id)", LogKey.snapshotVersion: "\(manifest.version)", LogKey.epoch: "\(manifest.budgetEpoch)",
                LogKey.residualRows: "\(manifest.residualN)", LogKey.skipped: "\(loaded.skipped.count)",
            ]
        )
        // A newer complete version than the loaded one existed, so it may have been adopted and its offsets committed:
        // its requests must be read again from this model's offsets. (A record without its snapshot is an interrupted
        // commit that was never adopted.)
        let lostNewer =
            try store.quarantinedFiles().contains { $0.version > manifest.version && $0.isSnapshot }
            || loaded.skipped.contains { $0.quarantinedTo.isEmpty }  // unreadable now, not moved: it may have been adopted
        let marked = manifest.extensions?["replay"] == .bool(true)
        if lostNewer && !marked {
            logger.warning(
                "Loaded an older snapshot than the newest the model had; its requests since are read again from the deletions log",
                metadata: [LogKey.model: "\(id)", LogKey.snapshotVersion: "\(manifest.version)"]
            )
        }
        return Loaded(
            state: state, manifest: manifest, sha256: loaded.decoded.payloadSHA256.description,
            standardization: standardization, replaying: lostNewer || marked
        )
    }

    /// Applies a batch: runs the engine on the noise-free state (unless nothing is left to remove), releases in the
    /// same snapshot when `release` is true, writes the snapshot that records the result, its source offsets and
    /// request ids, and only then adopts it and writes the released file. Throws `Stale` after reloading when
    /// another writer got there first; any other error leaves the runtime unchanged.
    public func apply(
        _ batch: PendingBatch, options: UnlearningOptions, policy: BudgetPolicy, safeOffsets: [SnapshotManifest.KafkaOffset],
        release: Bool = false
    ) throws -> Applied {
        var duplicates: [PendingRequest] = []
        var fresh: [PendingRequest] = []
        var seen = Set<ExactText>()
        for p in batch.requests {
            let id = ExactText(p.request.requestID)
            if ledger.contains(id) || !seen.insert(id).inserted { duplicates.append(p) } else { fresh.append(p) }
        }
        let version = manifest.version + 1
        var next = state
        var report: UpdateReport?
        let rows = Set(fresh.flatMap(\.rows)).filter { !next.removed[$0] }.sorted()
        var seeded = options
        seeded.seed = options.seed &+ version
        if !rows.isEmpty {
            // A rebase since the last update (or a reload that brought a new base) left the state without one.
            if prepareNewtonPreconditioner(options: options) != nil { next = state }
            var attempt = next
            let outcome = Result { () throws(UnlearningError) in try Unlearner.update(rows: rows, in: &attempt, options: seeded, policy: policy) }
            switch outcome {
            case .success(let r):
                report = r
                next = attempt
            case .failure(let error) where error.code == .notConverged:
                // The method could not reach its tolerance: the weights stay, the rows are tombstoned (never lost)
                // and the supported-removal limit is raised, so the retrain-required event asks for a retrain.
                logger.error(
                    "The update did not converge; rows recorded, retrain required",
                    metadata: [LogKey.model: "\(id)", LogKey.reason: "\(error.code.rawValue)"])
                report = try Unlearner.recordWithoutStep(
                    rows: rows, in: &next, options: seeded, policy: policy, raising: .removalLimit, failure: error.description
                )
            case .failure(let error) where error.code == .destructiveUpdate:
                // The per-update guard refused a heuristic step that would lose too much validation accuracy: handled
                // as above. Nothing was applied, so nothing is reverted; the failure text keeps the would-be accuracy.
                logger.error(
                    "The update would lower validation accuracy beyond the per-update guard; rows recorded, retrain required",
                    metadata: [LogKey.model: "\(id)", LogKey.reason: "\(error.code.rawValue)", LogKey.error: "\(error.reason)"])
                report = try Unlearner.recordWithoutStep(
                    rows: rows, in: &next, options: seeded, policy: policy, raising: .removalLimit, failure: error.description
                )
            case .failure(let error):
                throw error
            }
        }

        let requestIDs = fresh.map(\.request.requestID)
        var newManifest = nextManifest(version: version, state: next, policy: policy)
        newManifest.kafkaOffsets = Self.merge(manifest.kafkaOffsets, fresh: fresh, safe: safeOffsets)
        newManifest.appliedRequestIds += requestIDs
        let record = report.map { Self.record($0, requestIDs: requestIDs) }
        var pending: Unreleased?
        if release, let record, record.outcome == .applied {
            var waiting = unreleased
            waiting.add(record)  // the release covers this update too
            pending = waiting
        }
        var applied = try commitVersion(
            .update(newManifest, record: record, requestIDs: requestIDs), state: next, releasing: pending, options: seeded,
            policy: policy
        )
        applied.report = report
        applied.duplicates = duplicates
        return applied
    }

    /// A release alone (the cadence's timer, or `unlearnctl release`): publishes every update since the last release
    /// in a new snapshot without consuming anything. Returns nil when no update is waiting or the model waits for a
    /// retrain. Throws `Stale` after reloading when another writer was faster.
    public func releaseNow(options: UnlearningOptions, policy: BudgetPolicy) throws -> Applied? {
        guard unreleased.updates > 0, !state.budget.retrainRequired else { return nil }
        var seeded = options
        seeded.seed = options.seed &+ (manifest.version + 1)
        return try commitVersion(.releaseAlone, state: state, releasing: unreleased, options: seeded, policy: policy)
    }

    /// What `apply` and `releaseNow` hand to `commitVersion`.
    private enum Draft {
        /// An update: the manifest of its version, its record (nil when nothing was left to remove) and the request
        /// ids it adds to the ledger.
        case update(SnapshotManifest, record: SnapshotManifest.UpdateRecord?, requestIDs: [String])
        /// A release alone: its manifest and record are made once the release has run.
        case releaseAlone
    }

    /// The end of `apply` and `releaseNow`: releases `next` first when `pending` is given (the updates the release
    /// makes effective) and records the release in the version's record, commits and adopts the version, and writes
    /// the released file when new weights were released. The returned `Applied` has no update report or duplicates.
    private func commitVersion(
        _ draft: Draft, state next: UnlearningState, releasing pending: Unreleased?, options: UnlearningOptions, policy: BudgetPolicy
    ) throws -> Applied {
        let version = manifest.version + 1
        let wasRequired = state.budget.retrainRequired
        var next = next
        let made = pending.map { Unlearner.release(in: &next, options: options, policy: policy, noiseSlices: $0.slices) }
        var newManifest: SnapshotManifest
        var record: SnapshotManifest.UpdateRecord?
        var requestIDs: [String] = []
        switch draft {
        case .update(let prepared, let update, let ids):
            newManifest = prepared
            record = update
            requestIDs = ids
        case .releaseAlone:
            newManifest = nextManifest(version: version, state: next, policy: policy)
            record = SnapshotManifest.UpdateRecord(time: RFC3339.format(Date()), requestIds: [], rowsRemoved: 0, outcome: .release)
            record?.seconds = ["release": made?.seconds ?? 0]  // a release alone has no update phases to time
        }
        if let made, let pending {
            record?.release = Self.releaseRecord(made, version: version, requestIDs: pending.requestIDs)
            record?.released = made.released
            record?.reasons += made.reasonsRaised.map(\.rawValue)
            record?.epsilonSpent = made.epsilonSpent
            newManifest.budget = try JSONValue(encoding: next.budget)
        }
        if let record { newManifest.updates.append(record) }
        let committed = try commit(newManifest, state: next)
        ledger.formUnion(requestIDs.map(ExactText.init))
        if let record { unreleased.add(record) }
        if state.budget.retrainRequired { try writeExclusionList() }
        return Applied(
            version: committed.version, report: nil, release: made, receipt: try writeReleaseIfMade(policy: policy),
            duplicates: [], retrainBecameRequired: !wasRequired && state.budget.retrainRequired,
            snapshotSeconds: committed.seconds
        )
    }

    static func merge(
        _ old: [SnapshotManifest.KafkaOffset], fresh: [PendingRequest], safe: [SnapshotManifest.KafkaOffset]
    ) -> [SnapshotManifest.KafkaOffset] {
        var byPartition: [String: SnapshotManifest.KafkaOffset] = [:]
        func put(_ o: SnapshotManifest.KafkaOffset) {
            let key = "\(o.topic)#\(o.partition)"
            if let existing = byPartition[key], existing.nextOffset >= o.nextOffset { return }
            byPartition[key] = o
        }
        old.forEach(put)
        safe.forEach(put)
        return byPartition.values.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    static func record(_ r: UpdateReport, requestIDs: [String]) -> SnapshotManifest.UpdateRecord {
        var record = SnapshotManifest.UpdateRecord(
            time: RFC3339.format(Date()), requestIds: requestIDs, rowsRemoved: r.rows,
            outcome: r.outcome == .applied ? .applied : .recordedOnly,
            selectedSlices: r.slices.map { SnapshotManifest.SliceRef(layer: $0.layer, unit: $0.unit) },
            blockSize: r.blockSize, residualBound: r.residualBound.isFinite ? r.residualBound : -1, epsilonSpent: r.epsilonSpent
        )
        record.method = r.method.rawValue
        record.selection = r.selection.rawValue
        record.gradientResidual = r.gradientResidual
        record.damping = r.damping
        record.newtonIterations = r.newtonIterations
        record.cgIterations = r.cgIterations
        record.hessianVectorProducts = r.hessianVectorProducts
        record.dampenedParameters = r.dampenedParameters
        record.optimizerSteps = r.optimizerSteps
        record.salientParameters = r.salientParameters
        record.validationAccuracyBefore = r.validationAccuracyBefore
        record.validationAccuracyAfter = r.validationAccuracyAfter
        record.validationLossBefore = r.validationLossBefore
        record.validationLossAfter = r.validationLossAfter
        record.membershipAUCBefore = r.membershipAUCBefore
        record.membershipAUCAfter = r.membershipAUCAfter
        record.residualAccuracyAfter = r.residualAccuracyAfter
        record.forgottenLossBefore = r.forgottenLossBefore
        record.forgottenLossAfter = r.forgottenLossAfter
        record.forgottenAccuracyBefore = r.forgottenAccuracyBefore
        record.forgottenAccuracyAfter = r.forgottenAccuracyAfter
        record.failure = r.failure
        record.reasons = r.reasonsRaised.map(\.rawValue)
        record.seconds = r.seconds
        return record
    }

    static func releaseRecord(_ r: ReleaseReport, version: UInt64, requestIDs: [String]) -> SnapshotManifest.ReleaseRecord {
        SnapshotManifest.ReleaseRecord(
            version: version, released: r.released, mode: r.mode.rawValue, certified: r.certified, sigma: r.sigma,
            residualBound: r.residualBound.isFinite ? r.residualBound : -1, sensitivity: r.sensitivity,
            sensitivityLimit: r.sensitivityLimit, epsilonRelease: r.epsilonRelease, epsilonSpent: r.epsilonSpent,
            requestIds: r.released ? requestIDs : [], validationAccuracy: r.validationAccuracy, validationLoss: r.validationLoss,
            membershipAUC: r.membershipAUC, reasons: r.reasonsRaised.map(\.rawValue), failure: r.failure
        )
    }

    /// `<state>/models/<id>/exclusions-epoch-<N>.txt`: the sample ids of every removed row, one per line, for the
    /// retrain job. Rewritten atomically (owner-only) whenever the model is in the retrain-required state.
    public var exclusionListPath: String {
        (store.directory as NSString).appendingPathComponent("exclusions-epoch-\(manifest.budgetEpoch).txt")
    }

    public func writeExclusionList() throws {
        let lines = state.removedIndices.map { bundle.train.sampleIDs[$0] }.joined(separator: "\n")
        try AtomicFile.write(Array((lines + (lines.isEmpty ? "" : "\n")).utf8), to: exclusionListPath)
    }
}
