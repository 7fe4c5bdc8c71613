import Checkpoints
import Testing

@testable import UnlearnDaemon

@Suite("Offset tracker")
struct OffsetTrackerTests {
    static func tracker(_ received: [Int64], partition: Int32 = 0) -> OffsetTracker {
        var t = OffsetTracker(topic: "t")
        for o in received { t.received(partition: partition, offset: o) }
        return t
    }

    @Test("the committable offset is the smallest offset still in flight, else the next unread one")
    func committable() {
        var t = Self.tracker([10, 11, 12])
        #expect(t.committable(0) == 10)
        t.done(partition: 0, offset: 11)
        #expect(t.committable(0) == 10, "a later offset done out of order does not move the commit")
        t.done(partition: 0, offset: 10)
        #expect(t.committable(0) == 12)
        t.done(partition: 0, offset: 12)
        #expect(t.committable(0) == 13)
        #expect(t.committable(1) == nil, "nothing read from partition 1")
    }

    @Test("safe offsets treat the batch being written as done and nothing else")
    func safeOffsets() {
        var t = Self.tracker([0, 1, 2])
        t.received(partition: 3, offset: 7)
        let safe = t.safeOffsets(excluding: [(0, 0), (0, 2)])
        #expect(
            safe == [
                SnapshotManifest.KafkaOffset(topic: "t", partition: 0, nextOffset: 1),
                SnapshotManifest.KafkaOffset(topic: "t", partition: 3, nextOffset: 7),
            ])
        #expect(t.committable(0) == 0, "computing safe offsets changes nothing")
    }

    @Test("pending commits are the partitions whose committable offset moved past the last commit")
    func pendingCommits() {
        var t = Self.tracker([0, 1])
        t.received(partition: 2, offset: 5)
        t.done(partition: 0, offset: 0)
        #expect(t.pendingCommits().map { [$0.0: $0.1] } == [[0: 1], [2: 5]])
        t.markCommitted(0, 1)
        t.markCommitted(2, 5)
        #expect(t.pendingCommits().isEmpty)
        t.markCommitted(0, 0)
        #expect(t.pendingCommits().isEmpty, "an older commit confirmation does not move the mark back")
        t.done(partition: 0, offset: 1)
        #expect(t.pendingCommits().map { [$0.0: $0.1] } == [[0: 2]])
    }

    @Test("forgetting a partition drops its offsets and its commit mark; others are untouched")
    func forget() {
        var t = Self.tracker([4])
        t.received(partition: 1, offset: 9)
        t.markCommitted(0, 4)
        t.forget(0)
        #expect(t.committable(0) == nil)
        #expect(t.committable(1) == 9)
        #expect(t.safeOffsets(excluding: []).map(\.partition) == [1])
        t.received(partition: 0, offset: 2)
        #expect(t.pendingCommits().map { [$0.0: $0.1] } == [[0: 2], [1: 9]], "a re-assigned partition starts without a commit mark")
    }
}
