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

    /// Two child tasks each block their thread until the other has started: on a pool that did not grow, the
    /// second would never run and the test would hang until its time limit.
    @Test("the waiting pool grows: two tasks that block until both run both finish", .blockingWaits, .timeLimit(.minutes(1)))
    func waitingPoolGrows() async {
        let first = DispatchSemaphore(value: 0)
        let second = DispatchSemaphore(value: 0)
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                first.signal()
                second.wait()
                return TestThreads.waiting.ownsCurrentThread
            }
            group.addTask {
                second.signal()
                first.wait()
                return TestThreads.waiting.ownsCurrentThread
            }
            for await onWaitingPool in group { #expect(onWaitingPool) }
        }
    }

    @Test("an unmarked test runs on the cooperative pool")
    func unmarked() {
        #expect(!TestThreads.compute.ownsCurrentThread && !TestThreads.waiting.ownsCurrentThread)
    }
}
