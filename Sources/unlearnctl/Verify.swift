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
            // The epoch base comes from the newest valid snapshot.
            let newest = try? store.loadNewestValid(quarantine: false)
            let leftovers = Set(newest.flatMap { try? store.interruptedPruneLeftovers(base: $0.snapshot.manifest.baseVersion) } ?? [])
            for entry in versions.reversed() {
                if leftovers.contains(entry.version) {
                    print("note    v\(entry.version): record without snapshot, older than a complete version: the leftover of an interrupted retention prune; the next commit removes it")
                    continue
                }
                do {
                    let decoded = try store.load(version: entry.version)
                    print("ok      v\(entry.version)  sha256 \(decoded.payloadSHA256.hex)")
                } catch let error as CheckpointError {
                    print("DEFECT  v\(entry.version): \(error.code): \(error.reason)")
                    defects += 1
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
