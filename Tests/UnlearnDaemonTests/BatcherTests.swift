import Testing

@testable import UnlearnDaemon

@Suite("Batcher")
struct BatcherTests {
    static func pending(
        _ id: String, model: String = "m", scope: DeletionRequest.Scope = .subject("alice"), rows: Int = 1,
        partition: Int32 = 0, offset: Int64 = 0, at time: UInt64 = 0
    ) -> PendingRequest {
        PendingRequest(
            request: DeletionRequest(requestID: id, model: model, scope: scope, requestedAt: "2026-11-27T12:00:00Z"),
            rows: Array(0..<rows), topic: "t", partition: partition, offset: offset, receivedAt: time
        )
    }

    @Test("requests group by model and subject, class or sample lists; group_by request gives each its own batch")
    func grouping() {
        var b = Batcher(maxRows: 100, maxWaitMilliseconds: 0, groupByRequest: false)
        for p in [
            Self.pending("1", scope: .subject("alice")), Self.pending("2", scope: .subject("alice")),
            Self.pending("3", scope: .subject("bob")), Self.pending("4", scope: .class(2)), Self.pending("5", scope: .samples(["x"])),
            Self.pending("6", scope: .samples(["y"])), Self.pending("7", model: "n", scope: .subject("alice")),
        ] {
            #expect(b.add(p)?.requestIDs == nil)
        }
        let groups = Set(b.takeAll().map { $0.requestIDs.sorted() })
        #expect(groups == [["1", "2"], ["3"], ["4"], ["5", "6"], ["7"]])
        var each = Batcher(maxRows: 100, maxWaitMilliseconds: 0, groupByRequest: true)
        _ = each.add(Self.pending("1"))
        _ = each.add(Self.pending("2"))
        #expect(each.takeAll().count == 2)
    }

    @Test("a batch is returned, and leaves the open set, when its rows reach max_rows")
    func fullAtMaxRows() throws {
        var b = Batcher(maxRows: 5, maxWaitMilliseconds: 1_000, groupByRequest: false)
        #expect(b.add(Self.pending("1", rows: 2))?.requestIDs == nil)
        #expect(b.add(Self.pending("2", rows: 2))?.requestIDs == nil)
        let added = b.add(Self.pending("3", rows: 1))
        let full = try #require(added)
        #expect(full.requestIDs == ["1", "2", "3"] && full.rowCount == 5)
        #expect(b.pendingRequests == 0)
    }

    @Test("a batch is due when its oldest request waited max_wait_ms, and due batches come oldest first")
    func dueByAge() {
        let ms: UInt64 = 1_000_000
        var b = Batcher(maxRows: 100, maxWaitMilliseconds: 50, groupByRequest: false)
        _ = b.add(Self.pending("old", scope: .subject("bob"), at: 10 * ms))
        _ = b.add(Self.pending("older", scope: .subject("alice"), at: 5 * ms))
        _ = b.add(Self.pending("new", scope: .subject("carol"), at: 40 * ms))
        #expect(b.takeDue(now: 54 * ms).isEmpty)
        #expect(b.takeDue(now: 60 * ms).map(\.requestIDs) == [["older"], ["old"]])
        #expect(b.pendingRequests == 1)
        #expect(b.takeDue(now: 90 * ms).map(\.requestIDs) == [["new"]])
    }

    @Test("contains compares request ids as exact bytes, per model")
    func containsExactly() {
        var b = Batcher(maxRows: 100, maxWaitMilliseconds: 0, groupByRequest: false)
        _ = b.add(Self.pending("caf\u{E9}"))
        #expect(b.contains(requestID: "caf\u{E9}", model: "m"))
        // Equal as Swift Strings (canonical equivalence), different bytes: two request ids.
        #expect("cafe\u{301}" == "caf\u{E9}")
        #expect(!b.contains(requestID: "cafe\u{301}", model: "m"))
        #expect(!b.contains(requestID: "caf\u{E9}", model: "n"))
    }

    @Test("dropping partitions removes their requests, recounts rows and removes emptied batches")
    func dropPartitions() throws {
        var b = Batcher(maxRows: 100, maxWaitMilliseconds: 0, groupByRequest: false)
        _ = b.add(Self.pending("a", rows: 3, partition: 0))
        _ = b.add(Self.pending("b", rows: 4, partition: 1))
        _ = b.add(Self.pending("c", scope: .class(1), partition: 1))
        #expect(b.drop(partitions: [1]) == 2)
        let left = b.takeAll()
        #expect(left.count == 1)
        let batch = try #require(left.first)
        #expect(batch.requestIDs == ["a"] && batch.rowCount == 3)
    }
}
