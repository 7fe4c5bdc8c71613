import ArgumentParser
import Checkpoints
import Foundation
import UnlearningCore

/// `unlearnctl inspect`: a human-readable account of a snapshot or of a model directory's versions.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a snapshot: version, parent, sizes, compression, budget, updates.",
        discussion: """
            PATH is a snapshot file (vNNNNNNNNNNNN.safetensors.zst) or a model directory. For a directory, every \
            version is listed with its verification result and the newest valid one is shown in detail. Read-only: \
            nothing is quarantined.
            """
    )

    @Argument(help: "Snapshot file or model directory.")
    var path: String

    @Option(help: "Update records shown (newest last).")
    var updates: Int = 10

    @Flag(help: "Print the snapshot's manifest (identity, lineage, budget, every update and release record) as JSON.")
    var json = false

    func run() throws {
        if json { return try printJSON() }
        switch try SnapshotPath.resolve(path) {
        case .file(let file):
            let (decoded, record) = try SnapshotPath.decodeFile(file)
            print("file         \(file)")
            print(
                "hash check   \(record == nil ? "no store record next to the file: SHA-256 not compared (zstd checksum verified)" : "payload SHA-256 matches the store record")"
            )
            describe(decoded)
        case .directory(let store):
            print("model directory  \(store.directory)")
            let versions = try store.versions()
            if versions.isEmpty { print("(no versions)") }
            for entry in versions.reversed() {
                let size = FileManager.default.fileSizeText(store.snapshotPath(entry.version))
                do {
                    let decoded = try store.load(version: entry.version)
                    let kind = decoded.snapshot.manifest.isBase ? "base" : "update"
                    print(
                        "  v\(entry.version)  ok      \(size)  \(kind)  epoch \(decoded.snapshot.manifest.budgetEpoch)  \(decoded.snapshot.manifest.createdAt)"
                    )
                } catch let error as CheckpointError {
                    print("  v\(entry.version)  BROKEN  \(size)  \(error.code): \(error.reason)")
                }
            }
            let loaded = try store.loadNewestValid(quarantine: false)
            print("")
            print("newest valid: version \(loaded.version) (start-up would load it)")
            describe(loaded.decoded)
        }
    }

    /// `--json`: `{"path", "version", "payload_sha256", "verified", "skipped", "manifest"}` of the snapshot (for a
    /// directory, its newest valid version), for scripts and monitoring.
    func printJSON() throws {
        struct Output: Encodable {
            var path: String
            var version: UInt64
            var payloadSHA256: String
            /// True when the payload's SHA-256 was compared with the store's record (always for a directory).
            var verified: Bool
            /// Newer versions that do not verify (directory only).
            var skipped: [UInt64]
            var manifest: SnapshotManifest

            enum CodingKeys: String, CodingKey {
                case path, version
                case payloadSHA256 = "payload_sha256"
                case verified, skipped, manifest
            }
        }
        let output: Output
        switch try SnapshotPath.resolve(path) {
        case .file(let file):
            let (decoded, record) = try SnapshotPath.decodeFile(file)
            output = Output(
                path: file, version: decoded.snapshot.manifest.version, payloadSHA256: decoded.payloadSHA256.hex,
                verified: record != nil, skipped: [], manifest: decoded.snapshot.manifest
            )
        case .directory(let store):
            let loaded = try store.loadNewestValid(quarantine: false)
            output = Output(
                path: store.snapshotPath(loaded.version), version: loaded.version, payloadSHA256: loaded.decoded.payloadSHA256.hex,
                verified: true, skipped: loaded.skipped.map(\.version), manifest: loaded.snapshot.manifest
            )
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(output), as: UTF8.self))
    }

    func describe(_ decoded: SnapshotCodec.Decoded) {
        let m = decoded.snapshot.manifest
        let ratio = Double(decoded.payloadBytes) / Double(max(decoded.fileBytes, 1))
        print("model        \(m.modelId)")
        print("version      \(m.version)\(m.isBase ? " (base of epoch \(m.budgetEpoch))" : "  epoch \(m.budgetEpoch), base v\(m.baseVersion)")")
        print("parent       \(m.parentVersion.map { "v\($0)" } ?? "none")\(m.parentSHA256.map { "  sha256 \($0)" } ?? "")")
        print("created      \(m.createdAt)")
        print("format       manifest v\(m.formatVersion)")
        print("architecture \(m.architecture.summary)  (\(m.architecture.parameterCount) parameters, F64)")
        print("standardised \(decoded.snapshot.parameters.inputMean != nil ? "yes (input.mean / input.std)" : "no")")
        print("lambda       \(m.lambda)")
        print("rows         n0 \(m.n0), residual \(m.residualN), tombstoned \(m.tombstones.count)")
        print("sizes        payload \(decoded.payloadBytes) B, file \(decoded.fileBytes) B, ratio \(String(format: "%.3f", ratio)) (payload/file)")
        print("sha256       \(decoded.payloadSHA256.hex) (payload)")
        let offsets = m.kafkaOffsets.map { "\($0.topic)[\($0.partition)]=\($0.nextOffset)" }.joined(separator: ", ")
        print("kafka        \(offsets.isEmpty ? "no offsets" : offsets)")
        print("requests     \(m.appliedRequestIds.count) applied since the base")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let budget = (try? encoder.encode(m.budget)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        print("budget       \(budget)")
        print("updates      \(m.updates.count)")
        for update in m.updates.suffix(updates) {
            var line = "  \(update.time)  \(update.outcome.rawValue)  rows \(update.rowsRemoved)  block \(update.blockSize)"
            line += "  bound \(update.residualBound)  eps \(update.epsilonSpent)"
            if let release = update.release {
                let accuracy = release.validationAccuracy.map { String(format: "%.4f", $0) } ?? "-"
                line +=
                    release.released
                    ? "  RELEASED v\(release.version) (\(release.mode)\(release.certified ? ", certified" : ""), sigma \(release.sigma), acc \(accuracy))"
                    : "  release refused (\(release.reasons.joined(separator: ", ")))"
            }
            print(line)
        }
    }
}

extension FileManager {
    func fileSizeText(_ path: String) -> String {
        guard let size = (try? attributesOfItem(atPath: path))?[.size] as? NSNumber else { return "missing" }
        return "\(size.intValue) B"
    }
}
