import Foundation

/// A task executor with its own threads, for compute-bound work that should not occupy Swift's cooperative pool.
///
/// The global concurrent executor has as many threads as cores (two here). A test that trains a model runs
/// synchronously on one of them for seconds to minutes; two such tests leave nothing for the tests that wait on a
/// broker or a child process, whose sleeps and continuations then resume minutes late and trip their time limits.
/// Tests marked `.computeBound` run here instead, so the cooperative pool stays free for waiting.
public final class ComputeExecutor: TaskExecutor, @unchecked Sendable {
    public static let shared = ComputeExecutor(threads: ProcessInfo.processInfo.activeProcessorCount)

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []  // guarded by `condition`

    public init(threads: Int) {
        for _ in 0..<max(1, threads) {
            Thread { [unowned self] in
                Self.threadsLock.lock()
                Self.threads.insert(pthread_self())
                Self.threadsLock.unlock()
                self.run()
            }.start()
        }
    }

    /// Whether the calling thread is one of a `ComputeExecutor`'s.
    public static var isCurrentThread: Bool {
        threadsLock.lock()
        defer { threadsLock.unlock() }
        return threads.contains(pthread_self())
    }

    // Foundation's `Thread.current.name` is not reliable here in debug builds; the pthread identity is.
    nonisolated(unsafe) private static var threads: Set<pthread_t> = []  // guarded by `threadsLock`
    private static let threadsLock = NSLock()

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
