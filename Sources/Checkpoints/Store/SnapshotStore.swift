import Dispatch
import Foundation

/// The versions of one model's snapshots in one directory, written crash-safely.
///
/// Layout of a model directory (mode 0700; files 0600):
/// ```
/// v000000000001.safetensors.zst   snapshot of version 1 (one zstd frame; see SnapshotCodec)
/// v000000000001.json              its VersionRecord: payload SHA-256 and sizes
/// v000000000007.safetensors.zst   ... the epoch's base and the newest `retain` versions
/// v000000000007.json
/// quarantine/                     files that failed verification, renamed here (never deleted)
/// .tmp-<pid>-<random>.*           a write in progress (removed at start-up once its writer is dead)
/// ```
/// Writing version N: write the snapshot and its record to temporary files and fsync them; link(2) the record to
/// `vN.json` (fails if it exists: the version is claimed exclusively); link the snapshot to
/// `vN.safetensors.zst`; remove the temporary names; fsync the directory; prune old versions. A crash at any point
/// leaves either the previous newest version intact and newest, or a version N that is incomplete (record without
/// snapshot) and is skipped and quarantined at start-up. fsync failures are fatal (``CheckpointError/Code/fsyncFailed``).
///
/// Methods block on file I/O: call them from a dedicated thread, not the cooperative pool.
public final class SnapshotStore: Sendable {
    public let directory: String
    /// Newest versions kept besides the epoch's base (at least 1).
    public let retain: Int
    public let compressionLevel: Int32
    public let limits: SnapshotCodec.Limits

    static let snapshotSuffix = ".safetensors.zst"
    static let recordSuffix = ".json"
    static let quarantineDirectory = "quarantine"
    static let tempPrefix = ".tmp-"

    /// Opens (creating with mode 0700 if missing) the store in `directory`.
    public init(
        directory: String, retain: Int = 5, compressionLevel: Int32 = Zstd.defaultLevel,
        limits: SnapshotCodec.Limits = .default
    ) throws {
        guard retain >= 1 else {
            throw CheckpointError(.invalidArgument, "retain must be at least 1, got \(retain)")
        }
        try PosixIO.makeDirectory(directory)
        self.directory = directory
        self.retain = retain
        self.compressionLevel = compressionLevel
        self.limits = limits
    }

    /// The directory of model `modelId` under the state root: `<root>/models/<modelId>`.
    public static func modelDirectory(root: String, modelId: String) throws -> String {
        guard SnapshotManifest.isValidModelId(modelId) else {
            throw CheckpointError(.invalidArgument, "model id \"\(modelId.prefix(80))\" does not match [a-z0-9][a-z0-9._-]{0,63}")
        }
        return (root as NSString).appendingPathComponent("models/\(modelId)")
    }

    public static func fileName(version: UInt64) -> String { String(format: "v%012llu", version) + snapshotSuffix }
    public static func recordName(version: UInt64) -> String { String(format: "v%012llu", version) + recordSuffix }

    public func snapshotPath(_ version: UInt64) -> String { path(Self.fileName(version: version)) }
    public func recordPath(_ version: UInt64) -> String { path(Self.recordName(version: version)) }
    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// The version number in a snapshot or record file name, or nil if it is neither.
    public static func version(ofFileName name: String) -> UInt64? {
        guard name.hasPrefix("v") else { return nil }
        let stem: Substring
        if name.hasSuffix(snapshotSuffix) {
            stem = name.dropFirst().dropLast(snapshotSuffix.count)
        } else if name.hasSuffix(recordSuffix) {
            stem = name.dropFirst().dropLast(recordSuffix.count)
        } else {
            return nil
        }
        guard stem.count >= 12, stem.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return UInt64(stem)
    }

    // MARK: Listing

    /// What the directory holds for one version number.
    public struct VersionFiles: Sendable, Equatable {
        public var version: UInt64
        public var hasSnapshot: Bool
        public var hasRecord: Bool
    }

    /// Every version with a snapshot or a record (quarantined files excluded), oldest first.
    public func versions() throws -> [VersionFiles] {
        var byVersion = [UInt64: VersionFiles]()
        for name in try PosixIO.listDirectory(directory) {
            guard let version = Self.version(ofFileName: name) else { continue }
            var entry = byVersion[version] ?? VersionFiles(version: version, hasSnapshot: false, hasRecord: false)
            if name.hasSuffix(Self.snapshotSuffix) { entry.hasSnapshot = true } else { entry.hasRecord = true }
            byVersion[version] = entry
        }
        return byVersion.values.sorted { $0.version < $1.version }
    }

    /// The version that a kill between prune's two unlinks left behind, if any: prune walks the versions it
    /// removes oldest first, unlinking the snapshot and then the record, so an interrupted prune leaves exactly one
    /// record without its snapshot, and it is the oldest version apart from the epoch's `base`, with newer complete
    /// versions. Nothing reads it (loading takes the newest version that verifies) and the next commit's prune
    /// removes it; `verify` reports it as such instead of as a defect. A missing snapshot anywhere else (a newer
    /// retained version, the base, or the newest: an interrupted commit) stays a defect. (A lost snapshot of the
    /// oldest retained version looks the same; the record alone cannot tell the two apart.)
    public func interruptedPruneLeftover(base: UInt64) throws -> UInt64? {
        let all = try versions().filter { $0.version != base }
        guard let oldest = all.first, oldest.hasRecord, !oldest.hasSnapshot,
            all.dropFirst().contains(where: { $0.hasRecord && $0.hasSnapshot })
        else { return nil }
        return oldest.version
    }

    // MARK: Safety and identity

    /// Checks that the model directory, its parents up to `root` and its quarantine directory are directories of
    /// the daemon's user that nobody else can write to. Throws ``CheckpointError/Code/unsafeFile`` naming the path.
    public func checkDirectories(upTo root: String) throws {
        var paths = [path(Self.quarantineDirectory), directory]
        var current = directory
        let stop = (root as NSString).standardizingPath
        while (current as NSString).standardizingPath != stop, current != "/", !current.isEmpty {
            current = (current as NSString).deletingLastPathComponent
            paths.append(current)
        }
        for p in paths {
            if let problem = PosixIO.unsafeDirectoryProblem(p) { throw CheckpointError(.unsafeFile, problem) }
        }
    }

    /// `model.json`: written once, when the model's first base is imported. A model directory that has it has had
    /// state, so an empty or fully quarantined store is a loss to recover from, never a first start.
    public var identityPath: String { path(Self.identityName) }
    static let identityName = "model.json"

    public var hasIdentity: Bool { PosixIO.fileExists(identityPath) }

    public func writeIdentity(modelId: String, bundlePath: String) throws {
        let object: [String: String] = ["model": modelId, "bundle_path": bundlePath, "imported_at": ISO8601DateFormatter().string(from: Date())]
        let bytes = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
        try AtomicFile.write(Array(bytes), to: identityPath)
    }

    /// A file in `quarantine/`, with the version, name and reason its name records (`<name>.<unix time>.<code>[.n]`).
    public struct QuarantinedFile: Sendable, Equatable {
        public var path: String
        public var originalName: String
        public var version: UInt64
        public var isSnapshot: Bool
        public var movedAt: Int
        public var reason: String
    }

    /// Every quarantined file, oldest move first.
    public func quarantinedFiles() throws -> [QuarantinedFile] {
        let dir = path(Self.quarantineDirectory)
        guard PosixIO.fileExists(dir) else { return [] }
        var files: [QuarantinedFile] = []
        for name in try PosixIO.listDirectory(dir) {
            for suffix in [Self.snapshotSuffix, Self.recordSuffix] {
                guard let range = name.range(of: suffix + ".") else { continue }
                let original = String(name[..<range.lowerBound]) + suffix
                guard let version = Self.version(ofFileName: original) else { continue }
                let rest = name[range.upperBound...].split(separator: ".")
                files.append(
                    QuarantinedFile(
                        path: (dir as NSString).appendingPathComponent(name), originalName: original, version: version,
                        isSnapshot: suffix == Self.snapshotSuffix, movedAt: rest.first.flatMap { Int($0) } ?? 0,
                        reason: rest.count > 1 ? String(rest[1]) : "unknown"
                    ))
                break
            }
        }
        return files.sorted { ($0.movedAt, $0.version, $0.originalName) < ($1.movedAt, $1.version, $1.originalName) }
    }

    /// Moves the most recently quarantined snapshot and record of `version` back, makes them mode 0600, and verifies
    /// them; if they do not verify they go back to quarantine and the error is thrown. Refuses when the store holds
    /// a file of that version number already.
    public func restoreQuarantined(version: UInt64) throws -> SnapshotCodec.Decoded {
        guard !(try versions().contains { $0.version == version }) else {
            throw CheckpointError(
                .invalidArgument, "version \(version) exists in \(directory) already; only a version number the store does not hold can be restored")
        }
        let candidates = try quarantinedFiles().filter { $0.version == version }
        guard let snapshot = candidates.last(where: \.isSnapshot), let record = candidates.last(where: { !$0.isSnapshot }) else {
            throw CheckpointError(.invalidArgument, "quarantine/ holds no snapshot and record pair of version \(version)")
        }
        var moved: [(from: String, to: String)] = []
        do {
            for file in [snapshot, record] {
                let destination = path(file.originalName)
                try PosixIO.rename(file.path, destination)
                moved.append((file.path, destination))
                guard chmod(destination, 0o600) == 0 else {
                    throw CheckpointError(.ioFailure, "cannot chmod 600 \(destination): \(PosixIO.errorText())")
                }
            }
            let decoded = try load(version: version)
            try PosixIO.fsyncDirectory(directory)
            return decoded
        } catch {
            for m in moved.reversed() { try? PosixIO.rename(m.to, m.from) }
            throw error
        }
    }

    // MARK: Reading

    /// Reads and fully verifies one version: record present and valid, file size as recorded, one zstd frame
    /// spanning the file, payload SHA-256 as recorded, strict safetensors, valid manifest whose version matches.
    public func load(version: UInt64) throws -> SnapshotCodec.Decoded {
        let recordPath = recordPath(version)
        let snapshotPath = snapshotPath(version)
        let hasRecord = PosixIO.fileExists(recordPath)
        let hasSnapshot = PosixIO.fileExists(snapshotPath)
        guard hasSnapshot else {
            throw CheckpointError(
                hasRecord ? .truncated : .ioFailure,
                hasRecord
                    ? "version \(version) is incomplete: its record exists but its snapshot file does not (a write was interrupted)"
                    : "version \(version) does not exist in \(directory)")
        }
        guard hasRecord else {
            throw CheckpointError(
                .hashMismatch, "version \(version) has no record \(Self.recordName(version: version)): its SHA-256 cannot be verified")
        }
        // Only regular files of the daemon's user, mode <= 0600: anything else was not written by the store.
        for path in [snapshotPath, recordPath] {
            if let problem = PosixIO.unsafeFileProblem(path) { throw CheckpointError(.unsafeFile, problem) }
        }
        let record = try VersionRecord.decode(try PosixIO.readFile(recordPath, maxBytes: 1 << 16), path: recordPath)
        guard record.version == version else {
            throw CheckpointError(.malformedManifest, "record \(recordPath) is for version \(record.version), not \(version)")
        }
        let file = try PosixIO.readFile(snapshotPath, maxBytes: limits.maxFileBytes)
        if file.count < record.fileBytes {
            throw CheckpointError(
                .truncated, "snapshot file is \(file.count) bytes but was written with \(record.fileBytes): the file was cut short")
        }
        if file.count > record.fileBytes {
            throw CheckpointError(
                .trailingData, "snapshot file is \(file.count) bytes but was written with \(record.fileBytes): bytes were appended")
        }
        let decoded = try SnapshotCodec.decode(file, expectedSHA256: record.digest, limits: limits)
        guard decoded.snapshot.manifest.version == version else {
            throw CheckpointError(
                .malformedManifest, "snapshot file of version \(version) holds manifest version \(decoded.snapshot.manifest.version)")
        }
        return decoded
    }

    /// A version that failed verification at start-up.
    public struct Skipped: Sendable, CustomStringConvertible {
        public var version: UInt64
        public var error: CheckpointError
        /// Where its files were moved (empty when quarantine was off or the rename failed).
        public var quarantinedTo: [String]

        public var description: String {
            let moved = quarantinedTo.isEmpty ? "" : "; moved to \(quarantinedTo.joined(separator: ", "))"
            return "version \(version) skipped: \(error.code): \(error.reason)\(moved)"
        }
    }

    /// The newest version that verifies, with every newer version that did not.
    public struct Loaded: Sendable {
        public var decoded: SnapshotCodec.Decoded
        public var version: UInt64
        public var skipped: [Skipped]
        /// Temporary files of dead writers that were removed.
        public var removedTempFiles: [String]

        public var snapshot: Snapshot { decoded.snapshot }
    }

    /// Loads the newest version that verifies, newest first. Each newer version that fails is reported in
    /// `skipped` and, when `quarantine` is true (the store's owner at start-up), its files are renamed into
    /// `quarantine/` so the version number can be written again. Read-only tools pass `quarantine: false`.
    /// Throws ``CheckpointError/Code/noValidSnapshot`` (listing every failure) when nothing verifies.
    public func loadNewestValid(quarantine: Bool = true) throws -> Loaded {
        var removed = [String]()
        if quarantine { removed = try removeDeadWritersTempFiles() }
        var skipped = [Skipped]()
        for entry in try versions().reversed() {
            do {
                let decoded = try load(version: entry.version)
                if quarantine, !skipped.isEmpty { try PosixIO.fsyncDirectory(directory) }
                return Loaded(decoded: decoded, version: entry.version, skipped: skipped, removedTempFiles: removed)
            } catch let error as CheckpointError {
                if error.code == .fsyncFailed { throw error }
                var moved = [String]()
                // A read that failed for a transient reason (EIO, permissions) is skipped but not quarantined.
                if quarantine, error.code != .ioFailure || !entry.hasSnapshot {
                    moved = quarantineFiles(of: entry, because: error)
                }
                skipped.append(Skipped(version: entry.version, error: error, quarantinedTo: moved))
            }
        }
        if quarantine, !skipped.isEmpty { try PosixIO.fsyncDirectory(directory) }
        let details = skipped.isEmpty ? "the directory holds no snapshots" : skipped.map(\.description).joined(separator: "; ")
        throw CheckpointError(.noValidSnapshot, "no snapshot in \(directory) verifies: \(details)")
    }

    /// Renames a broken version's files into `quarantine/` (snapshot first, then record, so a snapshot is never
    /// left without its claim). Returns the new paths; failures to move are tolerated (the version stays skipped).
    private func quarantineFiles(of entry: VersionFiles, because error: CheckpointError) -> [String] {
        let quarantine = path(Self.quarantineDirectory)
        guard (try? PosixIO.makeDirectory(quarantine)) != nil else { return [] }
        let stamp = Int(Date().timeIntervalSince1970)
        var moved = [String]()
        var names = [String]()
        if entry.hasSnapshot { names.append(Self.fileName(version: entry.version)) }
        if entry.hasRecord { names.append(Self.recordName(version: entry.version)) }
        for name in names {
            var destination = (quarantine as NSString).appendingPathComponent("\(name).\(stamp).\(error.code)")
            var attempt = 1
            while PosixIO.fileExists(destination) {
                attempt += 1
                destination = (quarantine as NSString).appendingPathComponent("\(name).\(stamp).\(error.code).\(attempt)")
            }
            if (try? PosixIO.rename(path(name), destination)) != nil { moved.append(destination) }
        }
        return moved
    }

    /// Removes `.tmp-<pid>-*` files whose writer process no longer exists.
    private func removeDeadWritersTempFiles() throws -> [String] {
        var removed = [String]()
        for name in try PosixIO.listDirectory(directory) where name.hasPrefix(Self.tempPrefix) {
            let pidText = name.dropFirst(Self.tempPrefix.count).prefix { $0 != "-" }
            guard let pid = Int32(pidText) else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                try PosixIO.removeFile(path(name))
                removed.append(name)
            }
        }
        return removed
    }

    // MARK: Writing

    /// What a commit wrote.
    public struct Committed: Sendable {
        public var version: UInt64
        public var path: String
        public var record: VersionRecord
        /// Versions removed by retention.
        public var pruned: [UInt64]
    }

    /// Writes `snapshot` as version `snapshot.manifest.version`, durably.
    ///
    /// `snapshot.manifest.parentVersion` must be the newest version the writer loaded (nil for the first base);
    /// if the store holds a newer version than that, or the new version number is taken meanwhile, this throws
    /// ``CheckpointError/Code/stale``: reload and redo the update. ``CheckpointError/Code/fsyncFailed`` is fatal.
    @discardableResult
    public func commit(_ snapshot: Snapshot) throws -> Committed {
        let manifest = snapshot.manifest
        let version = manifest.version
        if let newest = try versions().last?.version {
            guard let parent = manifest.parentVersion, newest <= parent, version > newest else {
                throw CheckpointError(
                    .stale,
                    "the store holds version \(newest), newer than the loaded version \(manifest.parentVersion.map(String.init) ?? "none") this snapshot (version \(version)) derives from: reload and retry"
                )
            }
        }
        let encoded = try SnapshotCodec.encode(snapshot, level: compressionLevel)
        let record = VersionRecord(
            version: version, payloadSHA256: encoded.payloadSHA256, payloadBytes: encoded.payloadBytes,
            fileBytes: encoded.file.count)

        let token = "\(Self.tempPrefix)\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let tempSnapshot = path(token + Self.snapshotSuffix)
        let tempRecord = path(token + Self.recordSuffix)
        defer {
            try? PosixIO.removeFile(tempSnapshot)
            try? PosixIO.removeFile(tempRecord)
        }
        // Both files are written and fsynced on two threads: the two fsyncs overlap (often one journal commit).
        let recordBytes = try record.encoded()
        nonisolated(unsafe) var failures: [(any Error)?] = [nil, nil]
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            do {
                if index == 0 {
                    try PosixIO.writeNewFile(tempSnapshot, encoded.file)
                } else {
                    try PosixIO.writeNewFile(tempRecord, recordBytes)
                }
            } catch {
                failures[index] = error
            }
        }
        // An fsync failure wins over any other error: it is the fatal one.
        if let fatal = failures.compactMap({ $0 as? CheckpointError }).first(where: { $0.code == .fsyncFailed }) { throw fatal }
        if let failure = failures.compactMap({ $0 }).first { throw failure }
        // The record's name is the claim on the version number: link(2) never replaces an existing name.
        guard try PosixIO.linkNoReplace(tempRecord, recordPath(version)) else {
            throw CheckpointError(.stale, "version \(version) was written by another writer meanwhile: reload and retry")
        }
        guard try PosixIO.linkNoReplace(tempSnapshot, snapshotPath(version)) else {
            throw CheckpointError(
                .stale, "a snapshot file for version \(version) exists without having been claimed: reload (start-up quarantines it)")
        }
        try PosixIO.removeFile(tempSnapshot)
        try PosixIO.removeFile(tempRecord)
        try PosixIO.fsyncDirectory(directory)
        let pruned = try prune(keepingBase: manifest.baseVersion)
        return Committed(version: version, path: snapshotPath(version), record: record, pruned: pruned)
    }

    /// Removes versions older than the newest `retain`, except `base`. Snapshot first, then record, so that a kill in
    /// between leaves a record without a snapshot (see `interruptedPruneLeftover`), never an unverifiable snapshot;
    /// the next prune finishes the job (removing a file that is already gone succeeds).
    private func prune(keepingBase base: UInt64) throws -> [UInt64] {
        let all = try versions()
        guard all.count > retain else { return [] }
        var pruned = [UInt64]()
        for entry in all.dropLast(retain) where entry.version != base {
            try PosixIO.removeFile(snapshotPath(entry.version))
            try PosixIO.removeFile(recordPath(entry.version))
            pruned.append(entry.version)
        }
        if !pruned.isEmpty { try PosixIO.fsyncDirectory(directory) }
        return pruned
    }
}
