import Dispatch

/// Runs blocking librdkafka calls on a dedicated serial dispatch queue, never on Swift's cooperative pool (it
/// has only as many threads as cores), and hands the result back to the awaiting task.
struct BlockingExecutor: Sendable {
    let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Runs `body` on the queue and resumes the caller with its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result<T, any Error>(catching: body))
            }
        }
    }
}
