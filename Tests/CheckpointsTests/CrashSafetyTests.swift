import Foundation
import TestSupport
import Testing

@testable import Checkpoints

/// A writer process SIGKILLed at random moments never leaves the store without a loadable newest-valid
/// snapshot, and a partial snapshot is never loaded.
@Suite("Crash safety", .serialized, .blockingWaits)
struct CrashSafetyTests {
    /// The `unlearnctl` binary: `$UNLEARNCTL` if set, else next to this test bundle (SwiftPM puts products and the
    /// test bundle in the same `.build/<triple>/<config>/` directory).
    static func unlearnctl() -> String? {
        if let path = ProcessInfo.processInfo.environment["UNLEARNCTL"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        var candidates = [String]()
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((executable as NSString).deletingLastPathComponent)
        }
        candidates.append(Bundle.main.bundleURL.path)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append((bundle.bundlePath as NSString).deletingLastPathComponent)
        }
        var directory = (CommandLine.arguments.first ?? "") as NSString
        for _ in 0..<4 {
            directory = directory.deletingLastPathComponent as NSString
            candidates.append(directory as String)
        }
        for candidate in candidates {
            let path = (candidate as NSString).appendingPathComponent("unlearnctl")
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Same formula as `unlearnctl _snapshot-writer` (SnapshotWriterTool.theta).
    static func theta(version: UInt64, count: Int) -> [Double] {
        (0..<count).map { i in Double(Int64((version &* 1_000_003 &+ UInt64(i) &* 7919) % 2001) - 1000) / 1000 }
    }

    @Test("SIGKILL at 50 random moments: newest valid snapshot always loadable, never partial", .timeLimit(.minutes(2)))
    func killWriterFiftyTimes() throws {
        guard let tool = Self.unlearnctl() else {
            Issue.record("unlearnctl binary not found next to the test bundle; build it (`swift build --product unlearnctl`) or set UNLEARNCTL")
            return
        }
        let root = try TestSupport.makeTemporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("models/crash-test").path
        let outputPath = root.appendingPathComponent("writer.out").path
        var generator = SystemRandomNumberGenerator()
        var acknowledged: UInt64 = 0
        var midWrite = 0
        var quarantined = 0
        var pruneLeftovers = 0
        var previous: UInt64 = 0

        for round in 0..<50 {
            _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
            let child = Process()
            child.executableURL = URL(fileURLWithPath: tool)
            child.arguments = ["_snapshot-writer", "--dir", directory, "--retain", "3"]
            child.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
            child.standardError = FileHandle.nullDevice
            try child.run()
            // Random moment: most rounds wait until the writer is in its commit loop (its first "committed" line),
            // then kill within the next few commits (each ~5-15 ms); every fifth round kills at a random moment of
            // start-up or loading instead.
            if round % 5 != 4 {
                let deadline = Date().addingTimeInterval(5)
                while Date() < deadline, child.isRunning,
                    !(String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: outputPath))) ?? Data(), as: UTF8.self).contains("committed"))
                {
                    usleep(1_000)
                }
                usleep(UInt32.random(in: 0...25_000, using: &generator))
            } else {
                usleep(UInt32.random(in: 0...100_000, using: &generator))
            }
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal, "round \(round): the writer exited by itself: \(child.terminationStatus)")

            let lines = String(decoding: try Data(contentsOf: URL(fileURLWithPath: outputPath)), as: UTF8.self)
                .split(separator: "\n")
            if let last = lines.last(where: { $0.hasPrefix("committed ") }), let version = UInt64(last.dropFirst(10)) {
                acknowledged = max(acknowledged, version)
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            if names.contains(where: { $0.hasPrefix(".tmp-") }) { midWrite += 1 }

            guard acknowledged > 0 || names.contains(where: { $0.hasSuffix(".safetensors.zst") }) else {
                continue  // killed before the very first snapshot existed: nothing to load yet
            }
            let store = try SnapshotStore(directory: directory, retain: 3)
            let loaded: SnapshotStore.Loaded
            do {
                loaded = try store.loadNewestValid()
            } catch {
                Issue.record("round \(round): no loadable snapshot after SIGKILL: \(error)")
                return
            }
            quarantined += loaded.skipped.count
            // Durable: everything the writer reported committed is there. At most one more than the writer started
            // from (the version loaded after the previous round) or reported: the one killed after commit() returned
            // and before its report.
            #expect(loaded.version >= acknowledged, "round \(round): loaded v\(loaded.version) but v\(acknowledged) was committed")
            #expect(loaded.version <= max(acknowledged, previous) + 1, "round \(round): v\(loaded.version) after v\(max(acknowledged, previous))")
            #expect(loaded.version >= previous, "round \(round): went back from v\(previous) to v\(loaded.version)")
            previous = loaded.version
            // Never partial: every parameter is exactly that version's.
            let expected = Self.theta(version: loaded.version, count: loaded.snapshot.parameters.theta.count)
            #expect(loaded.snapshot.parameters.theta == expected, "round \(round): v\(loaded.version) holds foreign parameters")
            #expect(loaded.snapshot.manifest.appliedRequestIds == ["req-\(loaded.version)"])
            for skipped in loaded.skipped {
                #expect(skipped.version > loaded.version)
            }
            // What `unlearnctl verify` checks: every remaining version loads, except the leftovers of a prune
            // the kill interrupted (record without snapshot, older than a complete version).
            let leftover = try store.interruptedPruneLeftover(base: loaded.snapshot.manifest.baseVersion)
            if leftover != nil { pruneLeftovers += 1 }
            for entry in try store.versions() where entry.version != leftover {
                #expect(throws: Never.self, "round \(round): v\(entry.version) does not verify") { _ = try store.load(version: entry.version) }
            }
        }
        print(
            "crash safety: 50 kills, \(midWrite) left temporary files (killed mid-write), \(quarantined) incomplete versions quarantined, \(pruneLeftovers) interrupted-prune leftovers, final version \(previous)"
        )
        #expect(previous > 5, "the writer should have committed several versions across 50 rounds")
    }
}
