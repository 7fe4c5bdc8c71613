import ArgumentParser
import Checkpoints
import Foundation

/// `unlearnctl verify`: checks snapshot files fully; exits non-zero naming every defect.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a snapshot file or every version in a model directory; exit 1 on any defect.",
        discussion: """
            Checks: one zstd frame with content size and checksum spanning the file, the payload's SHA-256 against \
            the store record, strict safetensors layout, a valid manifest, parameters matching the architecture. \
            Read-only: broken versions are reported, not quarantined (the daemon quarantines them at start-up).
            """
    )

    @Argument(help: "Snapshot file or model directory.")
    var path: String

    func run() throws {
        var defects = 0
        switch try SnapshotPath.resolve(path) {
        case .file(let file):
            do {
                let (decoded, record) = try SnapshotPath.decodeFile(file)
                let note = record == nil ? " (no store record next to it: SHA-256 not compared)" : ""
                print("ok  \(file)  version \(decoded.snapshot.manifest.version)  sha256 \(decoded.payloadSHA256.hex)\(note)")
            } catch let error as CheckpointError {
                print("DEFECT  \(file): \(error.code): \(error.reason)")
                defects += 1
            }
        case .directory(let store):
            let versions = try store.versions()
            if versions.isEmpty {
                print("DEFECT  \(store.directory): no snapshots")
                defects += 1
            }
            // Every version is read and verified once, newest first; the first that verifies is the newest valid
            // one, whose epoch base tells an interrupted prune's leftover from a defect.
            // Only the digest and the epoch base of each are kept, not the decoded snapshots.
            let outcomes = versions.reversed().map { entry in
                (
                    version: entry.version,
                    outcome: Result { () throws -> (sha256: String, base: UInt64) in
                        let decoded = try store.load(version: entry.version)
                        return (decoded.payloadSHA256.hex, decoded.snapshot.manifest.baseVersion)
                    }
                )
            }
            let newest = outcomes.first { (try? $0.outcome.get()) != nil }
            let leftover = newest.flatMap { newest in
                (try? newest.outcome.get()).flatMap { try? store.interruptedPruneLeftover(base: $0.base) }
            }
            for (version, outcome) in outcomes {
                if version == leftover {
                    print(
                        "note    v\(version): record without snapshot, older than a complete version: the leftover of an interrupted retention prune; the next commit removes it"
                    )
                    continue
                }
                switch outcome {
                case .success(let verified):
                    print("ok      v\(version)  sha256 \(verified.sha256)")
                case .failure(let error as CheckpointError):
                    print("DEFECT  v\(version): \(error.code): \(error.reason)")
                    defects += 1
                case .failure(let error):
                    throw error
                }
            }
            let temps = (try? FileManager.default.contentsOfDirectory(atPath: store.directory))?.filter { $0.hasPrefix(".tmp-") } ?? []
            for temp in temps { print("note    \(temp): temporary file of an interrupted or running write") }
            if let newest {
                print("newest valid: v\(newest.version)")
            }
        }
        if defects > 0 {
            printError("verify: \(defects) defect(s) found")
            throw ExitCode(1)
        }
    }
}
