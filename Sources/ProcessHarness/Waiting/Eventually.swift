/// Polls `body` until it returns a value, or throws at the deadline. Callers choose generous deadlines: the
/// machine may be loaded, and a deadline only bounds how long a failure takes to report.
public func eventually<T>(
    _ timeout: Duration,
    _ what: String,
    every interval: Duration = .milliseconds(50),
    _ body: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await body() { return value }
        if ContinuousClock.now >= deadline { throw HarnessError("timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: interval)
    }
}
