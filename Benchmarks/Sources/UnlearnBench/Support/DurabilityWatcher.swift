import Checkpoints
import Foundation
import Synchronization

/// Watches a model's snapshot directory from a dedicated thread and stamps each request id with the time of the
/// first directory listing that showed a snapshot whose ledger holds it. Only new versions are loaded (and fully
/// verified, as any reader would), so an idle store costs one directory listing per interval.
final class DurabilityWatcher: Sendable {
    struct VersionSight: Sendable {
        var version: UInt64
        var seenAt: UInt64
        var loadSeconds: Double
        var newIDs: [String]
    }

    private struct State {
        var seen: [String: UInt64] = [:]
        var versions: [VersionSight] = []
        var newest: Snapshot?
        var running = true
    }

    private let store: SnapshotStore
    private let interval: UInt64
    private let state = Mutex(State())
    private let finished = DispatchSemaphore(value: 0)
    private let started = Mutex(false)

    init(store: SnapshotStore, intervalNanoseconds: UInt64) {
        self.store = store
        self.interval = max(100_000, intervalNanoseconds)
    }

    func start() {
        started.withLock { $0 = true }
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.name = "bench-kafka-watcher"
        thread.start()
    }

    /// Stops the thread and waits for it; idempotent.
    func stop() {
        let wasRunning = state.withLock { s in
            defer { s.running = false }
            return s.running
        }
        if wasRunning && started.withLock({ $0 }) { finished.wait() }
    }

    var versionCount: Int { state.withLock { $0.versions.count } }
    var versionsSeen: [VersionSight] { state.withLock { $0.versions } }
    var newest: Snapshot? { state.withLock { $0.newest } }

    func countSeen(_ ids: [String]) -> Int {
        state.withLock { s in ids.reduce(0) { $0 + (s.seen[$1] == nil ? 0 : 1) } }
    }

    func sights(_ ids: [String]) -> [String: UInt64] {
        state.withLock { s in
            var out: [String: UInt64] = [:]
            for id in ids { if let t = s.seen[id] { out[id] = t } }
            return out
        }
    }

    private func loop() {
        var last: UInt64 = 0
        var known = Set<String>()
        while state.withLock({ $0.running }) {
            let listedAt = DispatchTime.now().uptimeNanoseconds
            if let newest = (try? store.versions())?.last(where: { $0.hasSnapshot && $0.hasRecord }), newest.version > last {
                let loadStart = DispatchTime.now().uptimeNanoseconds
                // A version being written or pruned right now fails to load: try again at the next listing.
                if let decoded = try? store.load(version: newest.version) {
                    let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
                    let fresh = decoded.snapshot.manifest.appliedRequestIds.filter { !known.contains($0) }
                    known.formUnion(fresh)
                    last = newest.version
                    state.withLock { s in
                        for id in fresh { s.seen[id] = listedAt }
                        s.versions.append(VersionSight(version: newest.version, seenAt: listedAt, loadSeconds: loadSeconds, newIDs: fresh))
                        s.newest = decoded.snapshot
                    }
                }
            }
            let next = listedAt + interval
            let now = DispatchTime.now().uptimeNanoseconds
            if next > now { usleep(UInt32((next - now) / 1000)) }
        }
    }
}
