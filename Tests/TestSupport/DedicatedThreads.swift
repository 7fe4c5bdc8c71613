import Testing

/// Runs a suite's or a test's body on one of the `TestThreads` pools instead of Swift's cooperative pool.
///
/// - `.computeBound`: suites that train or update models in the test process.
/// - `.blockingWaits`: suites that wait synchronously, for a child process (`Binaries.run`, `ProcessRunner.run`,
///   kcat, Python) or a socket.
///
/// Tests that only `await` stay unmarked: they need the cooperative pool to be free, which is what this is for.
public struct DedicatedThreads: SuiteTrait, TestTrait, TestScoping {
    let pool: TestThreads

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(pool) { try await function() }
    }
}

extension Trait where Self == DedicatedThreads {
    /// Runs on `TestThreads.compute` (one thread per core), not Swift's cooperative pool.
    public static var computeBound: Self { DedicatedThreads(pool: .compute) }

    /// Runs on `TestThreads.waiting` (a thread per waiting test), not Swift's cooperative pool.
    public static var blockingWaits: Self { DedicatedThreads(pool: .waiting) }
}
