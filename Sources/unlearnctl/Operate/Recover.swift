import ArgumentParser
import Checkpoints
import Foundation
import Logging
import UnlearnDaemon

/// `unlearnctl recover`: what to do when a model has state but no snapshot that verifies (the daemon exits with
/// status 65 and will not re-import the bundle by itself).
struct Recover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect a model's versions and quarantine, and recover a model whose snapshots no longer verify.",
        discussion: """
            Without an action: lists every version (whether it verifies) and every quarantined file with its reason. \
            --restore VERSION moves a quarantined version back (mode 600) if it verifies, e.g. after repairing its \
            file from a backup or after fixing a permission it was quarantined for. --reimport --force installs the \
            model's bundle as a new base and marks the model for replay: on its next start the daemon reads the \
            deletions topic again from --replay-from (default: the beginning of every partition) and re-applies \
            every deletion still in the log (request ids already applied are recognised). Stop the daemon first.
            """
    )

    @Option(name: .customLong("state-dir"), help: "The daemon's state directory.")
    var stateDirectory: String = "/var/lib/unlearnd"

    @Option(help: "Model id.")
    var model: String

    @Option(help: "Move this quarantined version back if it verifies.")
    var restore: UInt64?

    @Flag(help: "Install the bundle as a new base and replay the deletions log (needs --force).")
    var reimport = false

    @Flag(help: "Confirm --reimport: the budget accounting of the lost versions starts over.")
    var force = false

    @Option(help: "The bundle to re-import (default: the one the model was imported from, in model.json).")
    var bundle: String?

    @Option(name: .customLong("replay-from"), help: "'earliest', or PARTITION:OFFSET,... (unlisted partitions from the beginning).")
    var replayFrom: String = "earliest"

    @Option(help: "The deletions topic.")
    var topic: String = "unlearn.deletions"

    func validate() throws {
        guard !(restore != nil && reimport) else { throw ValidationError("give --restore VERSION or --reimport, not both") }
        guard !reimport || force else {
            throw ValidationError("--reimport replaces the lost state with the bundle and replays the log; confirm with --force")
        }
        _ = try parsedReplayFrom()
    }

    func parsedReplayFrom() throws -> [Int32: Int64] {
        guard replayFrom != "earliest" else { return [:] }
        var offsets: [Int32: Int64] = [:]
        for item in replayFrom.split(separator: ",") {
            let parts = item.split(separator: ":")
            guard parts.count == 2, let p = Int32(parts[0]), let o = Int64(parts[1]), p >= 0, o >= 0 else {
                throw ValidationError("--replay-from takes 'earliest' or PARTITION:OFFSET pairs separated by commas, e.g. 0:120,1:95")
            }
            offsets[p] = o
        }
        return offsets
    }

    func run() async throws {
        var logger = Logger(label: "unlearnctl")
        logger.logLevel = .error
        let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: stateDirectory, modelId: model))
        if let restore {
            let decoded = try store.restoreQuarantined(version: restore)
            print(
                "restored version \(restore) (sha256 \(decoded.payloadSHA256.description.prefix(16))..., \(decoded.snapshot.manifest.appliedRequestIds.count) request ids since its base)"
            )
            print("start the daemon: it loads the newest version that verifies")
            return
        }
        if reimport {
            let bundlePath = try bundle ?? Self.importedBundlePath(store)
            let version = try ModelRuntime.reimportForRecovery(
                id: model, bundlePath: bundlePath, stateDirectory: stateDirectory, topic: topic,
                replayFrom: try parsedReplayFrom(), logger: logger
            )
            print("re-imported \(bundlePath) as version \(version), marked for replay from \(replayFrom)")
            print("start the daemon: it re-reads \(topic) and re-applies every deletion still in the log")
            return
        }
        try report(store)
    }

    static func importedBundlePath(_ store: SnapshotStore) throws -> String {
        guard let data = FileManager.default.contents(atPath: store.identityPath),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], let path = object["bundle_path"] as? String
        else { throw ValidationError("\(store.identityPath) does not name the bundle; give --bundle DIR") }
        return path
    }

    func report(_ store: SnapshotStore) throws {
        print("model \(model): \(store.directory)")
        let versions = try store.versions()
        var newestValid: UInt64?
        if versions.isEmpty { print("  versions        none") }
        for entry in versions {
            do {
                _ = try store.load(version: entry.version)
                newestValid = entry.version
                print("  v\(entry.version)  verifies")
            } catch let error as CheckpointError {
                print("  v\(entry.version)  does not verify: \(error.code): \(error.reason)")
            }
        }
        let quarantined = try store.quarantinedFiles()
        if quarantined.isEmpty { print("  quarantine      empty") }
        for file in quarantined {
            let moved = Date(timeIntervalSince1970: TimeInterval(file.movedAt))
            print(
                "  quarantined v\(file.version) \(file.isSnapshot ? "snapshot" : "record  ") \(file.reason) at \(RFC3339.format(moved)): \(file.path)"
            )
        }
        if let newestValid {
            print("next: version \(newestValid) verifies; the daemon starts from it (nothing to recover)")
        } else {
            print(
                """
                next: no version verifies. Either repair a quarantined version (from a backup) and run
                        unlearnctl recover --state-dir \(stateDirectory) --model \(model) --restore VERSION
                      or re-import the bundle and replay the deletions log:
                        unlearnctl recover --state-dir \(stateDirectory) --model \(model) --reimport --force [--replay-from earliest]
                """)
        }
    }
}
