import Dispatch

/// The serial queue that owns the model runtimes and runs the numerics (BLAS/LAPACK) and snapshot I/O, so that
/// blocking work never occupies Swift's cooperative pool.
struct EngineQueue: Sendable {
    let queue = DispatchQueue(label: "unlearnd.engine", qos: .userInitiated)

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result(catching: body)) }
        }
    }
}
