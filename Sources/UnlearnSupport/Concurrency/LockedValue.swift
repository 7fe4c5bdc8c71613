import Synchronization

/// A value behind a `Mutex`, as a class so that closures and threads (librdkafka callbacks, termination
/// handlers, shutdown triggers, reader threads) can share it. The one lock box of the package: components with
/// more than a value to guard keep their own state machine behind a `Mutex` instead.
public final class LockedValue<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) { mutex = Mutex(value) }

    public func withLock<R: Sendable>(_ body: (inout sending Value) throws -> sending R) rethrows -> R {
        try mutex.withLock(body)
    }

    /// A copy of the current value.
    public var value: Value { withLock { $0 } }
}
