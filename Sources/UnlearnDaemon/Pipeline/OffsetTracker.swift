import Checkpoints

/// Which consumed offsets are not yet durable, per partition. The committable offset of a partition is the
/// smallest offset still in flight (or the next unread one): everything below it is in a snapshot or in the
/// dead-letter topic, so committing it never loses a request.
struct OffsetTracker {
    private var inFlight: [Int32: Set<Int64>] = [:]
    private var next: [Int32: Int64] = [:]
    private var committed: [Int32: Int64] = [:]
    let topic: String

    init(topic: String) { self.topic = topic }

    mutating func received(partition: Int32, offset: Int64) {
        inFlight[partition, default: []].insert(offset)
        next[partition] = max(next[partition] ?? 0, offset + 1)
    }

    mutating func done(partition: Int32, offset: Int64) {
        inFlight[partition]?.remove(offset)
    }

    func committable(_ partition: Int32) -> Int64? {
        guard let n = next[partition] else { return nil }
        return min(inFlight[partition]?.min() ?? n, n)
    }

    /// The committable offsets assuming `excluding` (offsets of a batch being made durable) are done.
    func safeOffsets(excluding: [(Int32, Int64)]) -> [SnapshotManifest.KafkaOffset] {
        var removed: [Int32: Set<Int64>] = [:]
        for (p, o) in excluding { removed[p, default: []].insert(o) }
        return next.keys.sorted().compactMap { p in
            guard let n = next[p] else { return nil }
            let open = (inFlight[p] ?? []).subtracting(removed[p] ?? [])
            return SnapshotManifest.KafkaOffset(topic: topic, partition: p, nextOffset: min(open.min() ?? n, n))
        }
    }

    /// Partitions whose committable offset moved past the last commit.
    func pendingCommits() -> [(Int32, Int64)] {
        next.keys.sorted().compactMap { p in
            guard let c = committable(p), c > (committed[p] ?? -1) else { return nil }
            return (p, c)
        }
    }

    mutating func markCommitted(_ partition: Int32, _ offset: Int64) {
        committed[partition] = max(committed[partition] ?? -1, offset)
    }

    mutating func forget(_ partition: Int32) {
        inFlight[partition] = nil
        next[partition] = nil
        committed[partition] = nil
    }
}
