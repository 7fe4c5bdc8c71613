import Foundation
import TestSupport
import Testing

/// The traits that keep model training and synchronous waits off Swift's cooperative pool
/// (Tests/TestSupport/DedicatedThreads.swift).
@Suite("tests that compute or block run on their own threads")
struct DedicatedThreadsTests {
    @Test("a computeBound test runs on the compute pool, before and after a suspension", .computeBound)
    func computeBound() async {
        #expect(TestThreads.compute.ownsCurrentThread && !TestThreads.waiting.ownsCurrentThread)
        await Task.yield()
        #expect(TestThreads.compute.ownsCurrentThread)
    }

    @Test("each case of a parameterized computeBound test runs there too", .computeBound, arguments: [1, 2])
    func computeBoundCases(_ value: Int) {
        #expect(TestThreads.compute.ownsCurrentThread)
    }

    @Test("a blockingWaits test runs on the waiting pool", .blockingWaits)
    func blockingWaits() {
        #expect(TestThreads.waiting.ownsCurrentThread && !TestThreads.compute.ownsCurrentThread)
    }

    /// Two child tasks each block their thread until the other has started. On a pool that did not grow, the first
    /// would hold the only thread until its wait timed out, and only then would the second run.
    @Test("the waiting pool grows: two tasks that block until both run both finish", .blockingWaits)
    func waitingPoolGrows() async {
        let first = DispatchSemaphore(value: 0)
        let second = DispatchSemaphore(value: 0)
        let results = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                first.signal()
                return second.wait(timeout: .now() + 20) == .success && TestThreads.waiting.ownsCurrentThread
            }
            group.addTask {
                second.signal()
                return first.wait(timeout: .now() + 20) == .success && TestThreads.waiting.ownsCurrentThread
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results == [true, true])
    }

    @Test("an unmarked test runs on the cooperative pool")
    func unmarked() {
        #expect(!TestThreads.compute.ownsCurrentThread && !TestThreads.waiting.ownsCurrentThread)
    }
}
