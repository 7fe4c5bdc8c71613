import Foundation
import TestSupport
import Testing

@testable import Checkpoints

/// What the store does with files it did not write: symbolic links, other files, files open to other users, and
/// directories others can write to. Nothing of the kind is read, and nothing of the kind can block new versions.
@Suite("Snapshot store safety", .computeBound)
struct StoreSafetyTests {
    func makeStore(count: UInt64) throws -> (SnapshotStore, URL) {
        let directory = try TestSupport.makeTemporaryDirectory("safety")
        let store = try SnapshotStore(directory: directory.appendingPathComponent("models/m").path, retain: 10)
        for version in 1...count {
            try store.commit(Fixtures.snapshot(version: version, parent: version == 1 ? nil : version - 1))
        }
        return (store, directory)
    }

    @Test("a symlinked newest snapshot is quarantined as unsafe_file, the previous version loads, and the next commit takes its number")
    func symlinkedSnapshot() throws {
        let (store, root) = try makeStore(count: 3)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.removeItem(atPath: store.snapshotPath(3))
        try FileManager.default.createSymbolicLink(atPath: store.snapshotPath(3), withDestinationPath: "/etc/passwd")
        let loaded = try store.loadNewestValid()
        #expect(loaded.version == 2)
        #expect(loaded.skipped.map(\.error.code) == [.unsafeFile])
        #expect(try store.versions().map(\.version) == [1, 2])
        let quarantined = try store.quarantinedFiles()
        #expect(quarantined.count == 2 && quarantined.allSatisfy { $0.version == 3 && $0.reason == "unsafe_file" })
        try store.commit(Fixtures.snapshot(version: 3, parent: 2))
        #expect(try store.loadNewestValid().version == 3)
    }

    @Test("a symlink named as a newer version than the writer loaded makes the commit stale once; the reload quarantines it")
    func symlinkedNewerVersion() throws {
        let (store, root) = try makeStore(count: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createSymbolicLink(atPath: store.snapshotPath(3), withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: store.recordPath(3), withDestinationPath: "/etc/passwd")
        #expect(throws: CheckpointError.self) { try store.commit(Fixtures.snapshot(version: 3, parent: 2)) }
        #expect(try store.loadNewestValid().version == 2)
        try store.commit(Fixtures.snapshot(version: 3, parent: 2))
        #expect(try store.loadNewestValid().version == 3)
    }

    @Test("files open to other users are refused as unsafe_file", arguments: [0o644, 0o666, 0o604, 0o640])
    func modes(_ mode: Int) throws {
        let (store, root) = try makeStore(count: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(chmod(store.recordPath(2), mode_t(mode)) == 0)
        #expect(throws: CheckpointError.self) { _ = try store.load(version: 2) }
        let loaded = try store.loadNewestValid()
        #expect(loaded.version == 1 && loaded.skipped.first?.error.code == .unsafeFile)
    }

    @Test("a directory writable by others is refused with its path; mode 700 and 755 are fine")
    func directories() throws {
        let (store, root) = try makeStore(count: 1)
        defer { try? FileManager.default.removeItem(at: root) }
        try store.checkDirectories(upTo: root.path)
        #expect(chmod(store.directory, 0o755) == 0)
        try store.checkDirectories(upTo: root.path)
        for (path, mode) in [(store.directory, 0o777), (root.appendingPathComponent("models").path, 0o775), (root.path, 0o757)] {
            #expect(chmod(path, mode_t(mode)) == 0)
            do {
                try store.checkDirectories(upTo: root.path)
                Issue.record("mode \(String(mode, radix: 8)) on \(path) was accepted")
            } catch let error as CheckpointError {
                #expect(error.code == .unsafeFile && error.reason.contains(path))
            }
            #expect(chmod(path, 0o700) == 0)
        }
    }

    @Test("a quarantined version is restored (mode 600) when it verifies, and put back when it does not")
    func restore() throws {
        let (store, root) = try makeStore(count: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(chmod(store.snapshotPath(2), 0o666) == 0)
        #expect(try store.loadNewestValid().version == 1)
        #expect(throws: CheckpointError.self) { _ = try store.restoreQuarantined(version: 7) }
        let restored = try store.restoreQuarantined(version: 2)
        #expect(restored.snapshot.manifest.version == 2)
        #expect(try store.loadNewestValid().version == 2)
        #expect(try store.quarantinedFiles().isEmpty)
        let mode = (try FileManager.default.attributesOfItem(atPath: store.snapshotPath(2))[.posixPermissions] as! NSNumber).intValue
        #expect(mode == 0o600)

        // A corrupt version goes back to quarantine.
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: store.snapshotPath(2))))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: store.snapshotPath(2)))
        #expect(chmod(store.snapshotPath(2), 0o600) == 0)
        #expect(try store.loadNewestValid().version == 1)
        #expect(throws: CheckpointError.self) { _ = try store.restoreQuarantined(version: 2) }
        #expect(try store.versions().map(\.version) == [1])
        #expect(try store.quarantinedFiles().count == 2)
    }

    @Test("the identity file marks a store that has had state")
    func identity() throws {
        let (store, root) = try makeStore(count: 1)
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(!store.hasIdentity)
        try store.writeIdentity(modelId: "m", bundlePath: "/b")
        #expect(store.hasIdentity)
        #expect(try store.versions().map(\.version) == [1], "model.json is not a version")
    }
}
