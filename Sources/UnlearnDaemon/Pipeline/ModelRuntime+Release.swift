import Checkpoints
import Foundation
import UnlearningCore

/// Releases (docs/ARCHITECTURE.md, section 3.3): updates change the secret noise-free state; a release publishes it
/// with noise at the daemon's cadence, writes `released/<model>/current.safetensors` and its SHA-256, and yields
/// the receipt the pipeline publishes.
extension ModelRuntime {
    /// What the updates since the last release did: the requests a release would make effective and the slices
    /// they changed (the scope of block noise).
    public struct Unreleased: Sendable, Equatable {
        public var requestIDs: [String] = []
        /// Every request id recorded since the last release, in order: the applied ones and those tombstoned without
        /// a step (after a limit). A retrained base makes all of them effective (`rebase`).
        public var recordedIDs: [String] = []
        public var slices: [Slice] = []
        public var updates = 0
        /// RFC 3339 time of the oldest waiting update (nil when none waits).
        public var since: String?

        init() {}

        /// What waits after `history`, the update records of an epoch in order.
        init(history: [SnapshotManifest.UpdateRecord]) {
            for record in history { add(record) }
        }

        /// Counts the next record of the history: a release makes everything waiting effective; an update applied
        /// to the noise-free state waits for the next release.
        mutating func add(_ record: SnapshotManifest.UpdateRecord) {
            if record.released {
                self = Unreleased()
                return
            }
            if record.outcome != .release { recordedIDs += record.requestIds }
            if record.outcome == .applied {
                if since == nil { since = record.time }
                requestIDs += record.requestIds
                slices += record.selectedSlices.map { Slice(layer: $0.layer, unit: $0.unit) }
                updates += 1
            }
        }
    }

    /// The newest release record of the epoch (nil before the first release).
    public var lastRelease: SnapshotManifest.ReleaseRecord? {
        manifest.updates.last { $0.released }?.release
    }

    /// When the daemon releases on its own: once `updates` updates wait, or once the oldest waiting update is
    /// `seconds` old (`release.every_updates`, `release.every_seconds`; 0 disables either rule).
    public struct ReleaseCadence: Sendable, Equatable {
        public var updates: Int
        public var seconds: Double

        public init(updates: Int, seconds: Double) {
            self.updates = updates
            self.seconds = seconds
        }
    }

    /// True when `cadence` asks for a release, counting `extra` updates about to land in the version being written
    /// (1 when an update may be released in its own snapshot, 0 for a release alone). Never while the model waits
    /// for a retrain.
    public func releaseDue(_ cadence: ReleaseCadence, counting extra: Int = 0, now: Date = Date()) -> Bool {
        guard !state.budget.retrainRequired else { return false }
        let waiting = unreleased.updates + extra
        guard waiting > 0 else { return false }
        if cadence.updates > 0 && waiting >= cadence.updates { return true }
        // The timer runs from the oldest update already waiting: one about to land has not waited yet.
        if cadence.seconds > 0, let since = unreleased.since.flatMap(RFC3339.parse), now.timeIntervalSince(since) >= cadence.seconds {
            return true
        }
        return false
    }

    /// The manifest of the next version of `state`: lineage, row accounting, budget and the daemon's extensions.
    func nextManifest(version: UInt64, state next: UnlearningState, policy: BudgetPolicy) -> SnapshotManifest {
        var newManifest = manifest
        newManifest.version = version
        newManifest.parentVersion = manifest.version
        newManifest.parentSHA256 = snapshotSHA256
        newManifest.createdAt = RFC3339.format(Date())
        newManifest.residualN = next.residualCount
        newManifest.tombstones = RowSet(next.removedIndices)
        newManifest.budget = (try? JSONValue(encoding: next.budget)) ?? manifest.budget
        newManifest.extensions = (newManifest.extensions ?? [:]).merging([
            "budget_policy": (try? JSONValue(encoding: policy)) ?? .null,
            // Which daemon wrote this version (host and pid): ownership is visible in the history.
            "writer": .string("\(ProcessInfo.processInfo.hostName):\(getpid())"),
        ]) { $1 }
        if replaying { newManifest.extensions?["replay"] = .bool(true) }
        return newManifest
    }

    /// Writes `newManifest` with the parameters of `next` as the next version and adopts it. A release made in this
    /// version gets the SHA-256 of its released file in its record first (the file is written after the snapshot
    /// is durable; `writeReleaseIfMade`).
    func commit(_ newManifest: SnapshotManifest, state next: UnlearningState) throws -> (version: UInt64, seconds: Double) {
        var newManifest = newManifest
        let start = DispatchTime.now().uptimeNanoseconds
        let parameters = try ModelParameters(next, standardization: standardization)
        try Self.recordReleasedFileSHA256(in: &newManifest, parameters: parameters)
        let committed: SnapshotStore.Committed
        do {
            committed = try store.commit(try Snapshot(manifest: newManifest, parameters: parameters))
        } catch let error as CheckpointError where error.code == .stale {
            try reload()
            throw Stale(description: "model \(id): another writer created a newer snapshot; reloaded version \(manifest.version)")
        }
        adopt(state: next, manifest: newManifest, sha256: committed.record.payloadSHA256)
        return (committed.version, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    // MARK: - The released file

    /// `<state>/released/<id>/current.safetensors`: the weights being served, as a plain safetensors file (the
    /// layout of `unlearnctl export`), replaced atomically on every release; its SHA-256 is beside it in
    /// `current.safetensors.sha256` (sha256sum format).
    public var releasedFilePath: String {
        ((stateDirectory as NSString).appendingPathComponent("released/\(id)") as NSString).appendingPathComponent("current.safetensors")
    }

    /// The version whose weights are being served: the last release of the epoch, or its base.
    public var releasedVersion: UInt64 { lastRelease?.version ?? manifest.baseVersion }

    /// When `manifest`'s version is a release, puts the SHA-256 of the released file it makes into the release's
    /// record (before the snapshot is committed; the file is written after it is durable).
    static func recordReleasedFileSHA256(in manifest: inout SnapshotManifest, parameters: ModelParameters) throws {
        guard let last = manifest.updates.indices.last, manifest.updates[last].release?.version == manifest.version,
            manifest.updates[last].released
        else { return }
        let bytes = try releasedFileBytes(manifest: manifest, parameters: parameters, releaseVersion: manifest.version)
        manifest.updates[last].release?.fileSHA256 = SHA256.hash(bytes).description
    }

    static func releasedFileBytes(manifest: SnapshotManifest, parameters: ModelParameters, releaseVersion: UInt64) throws -> [UInt8] {
        // The export names the model, the release's version and the architecture only; the lineage is not part of it.
        var header = manifest
        header.version = releaseVersion
        header.parentVersion = nil
        header.parentSHA256 = nil
        return try SnapshotCodec.exportSafetensors(try Snapshot(manifest: header, parameters: parameters))
    }

    /// Writes the released file and its checksum unless they already hold the served weights (after a crash between
    /// a release's snapshot and its file, at start, or after a rebase). Returns the file's SHA-256.
    @discardableResult
    public func writeReleasedFile() throws -> String {
        let parameters = try ModelParameters(state, standardization: standardization)
        let bytes = try Self.releasedFileBytes(manifest: manifest, parameters: parameters, releaseVersion: releasedVersion)
        let digest = SHA256.hash(bytes).description
        let path = releasedFilePath
        let checksumPath = path + ".sha256"
        let line = "\(digest)  current.safetensors\n"
        if (try? String(contentsOfFile: checksumPath, encoding: .utf8)) == line,
            let existing = FileManager.default.contents(atPath: path), SHA256.hash(Array(existing)).description == digest
        {
            return digest
        }
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        // Readable by the serving systems; the state directory's own files stay owner-only.
        try AtomicFile.write(bytes, to: path, mode: 0o644)
        try AtomicFile.write(Array(line.utf8), to: checksumPath, mode: 0o644)
        return digest
    }

    /// After a commit: when the new version is a release, writes its file and returns its receipt.
    func writeReleaseIfMade(policy: BudgetPolicy) throws -> ReleaseEvent? {
        guard let release = lastRelease, release.version == manifest.version else { return nil }
        try writeReleasedFile()
        return receipt(policy: policy)
    }

    /// The receipt of the epoch's newest release (nil before the first): what the pipeline publishes after a
    /// release and again at start, with the same event id.
    public func receipt(policy: BudgetPolicy) -> ReleaseEvent? {
        guard let record = manifest.updates.last(where: { $0.released }), let release = record.release else { return nil }
        return ReleaseEvent(
            eventID: ReleaseEvent.eventID(model: id, version: release.version), model: id, version: Int(release.version),
            budgetEpoch: manifest.budgetEpoch, sha256: release.fileSHA256 ?? "", file: releasedFilePath,
            requestIDs: release.requestIds, mode: release.mode, certified: release.certified, sigma: release.sigma,
            epsilonRelease: release.epsilonRelease, epsilonSpent: release.epsilonSpent, epsilonBudget: policy.epsilonBudget,
            delta: policy.delta, releasedAt: record.time
        )
    }
}

// MARK: - Releases on demand

extension ModelRuntime {
    /// `<state>/models/<id>/release.request`: created by `unlearnctl release`; the daemon releases the model at its
    /// next tick and removes the file (also when nothing was waiting).
    public var releaseRequestPath: String { (store.directory as NSString).appendingPathComponent("release.request") }

    public var releaseRequested: Bool { FileManager.default.fileExists(atPath: releaseRequestPath) }

    public func clearReleaseRequest() { try? FileManager.default.removeItem(atPath: releaseRequestPath) }
}
