import TestSupport
import Testing

/// The trait that keeps model training off Swift's cooperative pool (Tests/TestSupport/ComputeBound.swift).
@Suite("compute-bound tests run on their own threads")
struct ComputeBoundTests {
    @Test("a test marked computeBound runs on a ComputeExecutor thread", .computeBound)
    func marked() async {
        #expect(ComputeExecutor.isCurrentThread)
        await Task.yield()
        #expect(ComputeExecutor.isCurrentThread)
    }

    @Test("a test marked computeBound with arguments runs there too", .computeBound, arguments: [1, 2])
    func markedWithArguments(_ value: Int) {
        #expect(ComputeExecutor.isCurrentThread)
    }

    @Test("an unmarked test runs on the cooperative pool")
    func unmarked() {
        #expect(!ComputeExecutor.isCurrentThread)
    }
}
