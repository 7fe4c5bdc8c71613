import Foundation
import TestSupport
import Testing

@testable import Checkpoints

@Suite("Snapshot store", .computeBound)
struct SnapshotStoreTests {
    /// A store with versions 1...count committed in order (1 is the base).
    func makeStore(count: UInt64, retain: Int = 10) throws -> (SnapshotStore, URL) {
        let directory = try TestSupport.makeTemporaryDirectory("store")
        let store = try SnapshotStore(directory: directory.appendingPathComponent("models/m").path, retain: retain)
        for version in 1...count {
            try store.commit(Fixtures.snapshot(version: version, parent: version == 1 ? nil : version - 1))
        }
        return (store, directory)
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue
    }

    @Test("commit then load the newest; files 0600, directory 0700; record holds the payload SHA-256")
    func commitAndLoad() throws {
        let (store, root) = try makeStore(count: 3)
        defer { try? FileManager.default.removeItem(at: root) }
        let loaded = try store.loadNewestValid()
        #expect(loaded.version == 3 && loaded.skipped.isEmpty)
        #expect(loaded.snapshot == (try Fixtures.snapshot(version: 3, parent: 2)))
        #expect(try mode(store.directory) == 0o700)
        #expect(try mode(store.snapshotPath(3)) == 0o600)
        #expect(try mode(store.recordPath(3)) == 0o600)
        let record = try VersionRecord.decode(try PosixIO.readFile(store.recordPath(3), maxBytes: 4096), path: "")
        #expect(record.payloadSHA256 == SHA256.hash(try SnapshotCodec.payload(Fixtures.snapshot(version: 3, parent: 2))).hex)
        #expect(
            try PosixIO.listDirectory(store.directory).sorted() == [
                "v000000000001.json", "v000000000001.safetensors.zst", "v000000000002.json", "v000000000002.safetensors.zst",
                "v000000000003.json", "v000000000003.safetensors.zst",
            ])
    }

    @Test("retention keeps the base and the newest K")
    func retention() throws {
        let (store, root) = try makeStore(count: 7, retain: 3)
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try store.versions().map(\.version) == [1, 5, 6, 7])
    }

    // A kill between prune's two unlinks (snapshot, then record) leaves a record without its snapshot, older than
    // the newest version. The state is the file system's, so recreate it directly: commit 1...5 with retain 3
    // (versions 1, 3, 4, 5 remain), then remove version 3's snapshot as a prune killed between its unlinks would.
    @Test("an interrupted prune leaves a record-only old version: recognised, never loaded, removed by the next commit")
    func interruptedPrune() throws {
        let (store, root) = try makeStore(count: 5, retain: 3)
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try store.versions().map(\.version) == [1, 3, 4, 5])
        #expect(try store.interruptedPruneLeftover(base: 1) == nil)
        try PosixIO.removeFile(store.snapshotPath(3))
        #expect(try store.interruptedPruneLeftover(base: 1) == 3)
        let loaded = try store.loadNewestValid()
        #expect(loaded.version == 5 && loaded.skipped.isEmpty)
        // Listed until the next commit's prune finishes removing it (the newest 3, 4...6, and the base 1 remain).
        try store.commit(Fixtures.snapshot(version: 6, parent: 5))
        #expect(try store.versions().map(\.version) == [1, 4, 5, 6])
        #expect(try store.interruptedPruneLeftover(base: 1) == nil)
        // A missing snapshot that a prune cannot have left stays a defect: a newer retained version, the base, or
        // a record-only newest version (an interrupted commit).
        try PosixIO.removeFile(store.snapshotPath(5))
        try PosixIO.removeFile(store.snapshotPath(1))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: store.recordPath(7)))
        #expect(try store.interruptedPruneLeftover(base: 1) == nil)
    }

    @Test("a writer that loaded an older version gets 'stale'; a taken version number too")
    func staleWriter() throws {
        let (store, root) = try makeStore(count: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        // Writer A and B both loaded version 2; A commits 3 first.
        try store.commit(Fixtures.snapshot(version: 3, parent: 2, seed: 100))
        let error = try #require(throws: CheckpointError.self) {
            try store.commit(Fixtures.snapshot(version: 3, parent: 2, seed: 200))
        }
        #expect(error.code == .stale && error.reason.contains("reload"))
        // The version written first is intact.
        #expect(try store.load(version: 3).snapshot.parameters == (try Fixtures.parameters(Fixtures.small, seed: 100)))
        // A writer racing between the check and the claim loses at link(2): simulate by claiming version 4 first.
        try Data("{}".utf8).write(to: URL(fileURLWithPath: store.recordPath(4)))
        let race = try #require(throws: CheckpointError.self) { try store.commit(Fixtures.snapshot(version: 5, parent: 3)) }
        #expect(race.code == .stale)
        #expect(try PosixIO.listDirectory(store.directory).allSatisfy { !$0.hasPrefix(".tmp-") })
    }

    /// Every way a newest file can be damaged, with the defect the store must name.
    static let damages: [(String, CheckpointError.Code, @Sendable ([UInt8]) -> [UInt8])] = [
        ("truncated to half", .truncated, { Array($0.prefix($0.count / 2)) }),
        (
            "flipped byte in frame header", .corruptFrame,
            {
                var f = $0
                f[0] ^= 0xFF
                return f
            }
        ),
        (
            "flipped byte in payload", .corruptFrame,
            {
                var f = $0
                f[f.count / 2] ^= 0x01
                return f
            }
        ),
        (
            "flipped byte in zstd trailer", .corruptFrame,
            {
                var f = $0
                f[f.count - 1] ^= 0x80
                return f
            }
        ),
        ("second frame appended", .trailingData, { $0 + (try! Zstd.compress([7])) }),
    ]

    @Test("start-up falls back to the previous good version and quarantines the broken one", arguments: 0..<5)
    func fallback(damage: Int) throws {
        let (name, code, corrupt) = Self.damages[damage]
        let (store, root) = try makeStore(count: 3)
        defer { try? FileManager.default.removeItem(at: root) }
        let path = store.snapshotPath(3)
        let original = try PosixIO.readFile(path, maxBytes: 1 << 30)
        try Data(corrupt(original)).write(to: URL(fileURLWithPath: path))

        // Read-only verification names the defect and moves nothing.
        let readOnly = try store.loadNewestValid(quarantine: false)
        #expect(readOnly.version == 2)
        #expect(readOnly.skipped.map(\.error.code) == [code], "\(name): \(readOnly.skipped)")
        #expect(PosixIO.fileExists(path))

        let loaded = try store.loadNewestValid()
        #expect(loaded.version == 2, "\(name)")
        #expect(loaded.snapshot == (try Fixtures.snapshot(version: 2, parent: 1)))
        let skipped = try #require(loaded.skipped.first)
        #expect(skipped.version == 3 && skipped.error.code == code, "\(name): \(skipped)")
        #expect(skipped.quarantinedTo.count == 2)
        #expect(!PosixIO.fileExists(path))
        // Quarantined, not deleted.
        let quarantined = try PosixIO.listDirectory(store.directory + "/quarantine")
        #expect(quarantined.contains { $0.hasPrefix("v000000000003.safetensors.zst.") })
        #expect(quarantined.contains { $0.hasPrefix("v000000000003.json.") })
        // The version number is free again: the owner writes the next version on top of 2.
        try store.commit(Fixtures.snapshot(version: 3, parent: 2, seed: 33))
        #expect(try store.loadNewestValid().version == 3)
    }

    @Test("wrong SHA-256 in the record, missing record, incomplete version: each named, all fall back")
    func recordDefects() throws {
        let (store, root) = try makeStore(count: 4)
        defer { try? FileManager.default.removeItem(at: root) }
        // v4: record altered to another hash.
        var record = try VersionRecord.decode(try PosixIO.readFile(store.recordPath(4), maxBytes: 4096), path: "")
        record.payloadSHA256 = SHA256.hash([1]).hex
        try Data(record.encoded()).write(to: URL(fileURLWithPath: store.recordPath(4)))
        // v3: record removed (snapshot without its hash).
        try PosixIO.removeFile(store.recordPath(3))
        // v5: record exists, snapshot never linked (crash between the two links).
        try Data(try VersionRecord(version: 5, payloadSHA256: SHA256.hash([]), payloadBytes: 1, fileBytes: 1).encoded())
            .write(to: URL(fileURLWithPath: store.recordPath(5)))
        let loaded = try store.loadNewestValid()
        #expect(loaded.version == 2)
        #expect(loaded.skipped.map(\.version) == [5, 4, 3])
        #expect(loaded.skipped.map(\.error.code) == [.truncated, .hashMismatch, .hashMismatch])
        #expect(loaded.skipped[0].error.reason.contains("incomplete"))
        #expect(loaded.skipped[2].error.reason.contains("no record"))
    }

    @Test("nothing valid: a typed error listing every defect")
    func nothingValid() throws {
        let (store, root) = try makeStore(count: 1)
        defer { try? FileManager.default.removeItem(at: root) }
        try Data([0, 1, 2]).write(to: URL(fileURLWithPath: store.snapshotPath(1)))
        let error = try #require(throws: CheckpointError.self) { try store.loadNewestValid() }
        #expect(error.code == .noValidSnapshot && error.reason.contains("version 1 skipped"))
        let empty = try SnapshotStore(directory: root.appendingPathComponent("empty").path)
        let none = try #require(throws: CheckpointError.self) { try empty.loadNewestValid() }
        #expect(none.code == .noValidSnapshot)
    }

    @Test("temporary files of dead writers are removed at start-up, live ones kept")
    func tempFiles() throws {
        let (store, root) = try makeStore(count: 1)
        defer { try? FileManager.default.removeItem(at: root) }
        // PID 2^22+1 is above Linux's pid_max default (4,194,304): never a live process.
        let dead = store.directory + "/.tmp-4194305-1.safetensors.zst"
        let live = store.directory + "/.tmp-\(getpid())-2.safetensors.zst"
        try Data([1]).write(to: URL(fileURLWithPath: dead))
        try Data([1]).write(to: URL(fileURLWithPath: live))
        let loaded = try store.loadNewestValid()
        #expect(loaded.removedTempFiles == [".tmp-4194305-1.safetensors.zst"])
        #expect(!PosixIO.fileExists(dead) && PosixIO.fileExists(live))
    }

    @Test("model ids are validated")
    func modelIds() throws {
        #expect(try SnapshotStore.modelDirectory(root: "/var/lib/unlearnd", modelId: "mnist-mlp.v2") == "/var/lib/unlearnd/models/mnist-mlp.v2")
        for bad in ["", "Upper", "-lead", "../etc", String(repeating: "a", count: 65)] {
            #expect(throws: CheckpointError.self) { try SnapshotStore.modelDirectory(root: "/x", modelId: bad) }
        }
    }
}
