import Foundation

/// A task executor with its own threads, for test bodies that must not occupy Swift's cooperative pool.
///
/// The global concurrent executor has one thread per core (two here). A test that trains a model, or that waits
/// synchronously for a child process (`ProcessRunner.run`), holds one of them for seconds to minutes; two such
/// tests leave nothing for the rest, whose sleeps and continuations then resume minutes late (in one CI run a
/// 3-second Kafka test took 171 s and tripped its time limit). Suites marked `.computeBound` or `.blockingWaits`
/// run on one of the two pools below instead.
public final class TestThreads: TaskExecutor, @unchecked Sendable {
    /// As many threads as cores: compute-bound tests run at most that many at once.
    public static let compute = TestThreads(threads: ProcessInfo.processInfo.activeProcessorCount)
    /// A thread for every job that finds none idle: a test blocked on a child process holds a thread, not a core.
    public static let waiting = TestThreads(threads: nil)

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    private var idle = 0
    private var spawned = 0
    // Foundation's `Thread.current.name` is not reliable in debug builds; the pthread identity is.
    private var threadIDs: Set<pthread_t> = []
    private let limit: Int?

    /// `threads` nil: grow without bound.
    init(threads: Int?) {
        limit = threads.map { max(1, $0) }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        // More jobs waiting than idle threads to take them: an idle thread already signalled for an earlier job is
        // still counted idle until it wakes, so `idle == 0` alone could leave this job behind a blocked one.
        let spawn = jobs.count > idle && limit.map { spawned < $0 } ?? true
        if spawn { spawned += 1 }
        condition.signal()
        condition.unlock()
        if spawn {
            Thread { [unowned self] in self.run() }.start()
        }
    }

    private func run() {
        condition.lock()
        threadIDs.insert(pthread_self())
        condition.unlock()
        while true {
            condition.lock()
            idle += 1
            while jobs.isEmpty { condition.wait() }
            idle -= 1
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// Whether the calling thread is one of this pool's.
    public var ownsCurrentThread: Bool {
        condition.lock()
        defer { condition.unlock() }
        return threadIDs.contains(pthread_self())
    }
}
