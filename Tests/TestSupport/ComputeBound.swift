import Testing

/// Runs a suite's or a test's body on `ComputeExecutor.shared` instead of the cooperative pool.
///
/// Mark every suite that trains or updates models in the test process. Tests that only wait (on a broker, a child
/// process or a socket) stay unmarked: they need the cooperative pool to be free, which is what this is for.
public struct ComputeBound: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(ComputeExecutor.shared) { try await function() }
    }
}

extension Trait where Self == ComputeBound {
    /// Runs on the test process's compute threads, not Swift's cooperative pool.
    public static var computeBound: Self { ComputeBound() }
}
