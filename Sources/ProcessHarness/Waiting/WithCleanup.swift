/// Runs `body`, then `cleanup` whether `body` returned or threw: a `defer` whose cleanup can await (stopping a
/// child process waits for its exit).
public func withCleanup<T>(_ body: () async throws -> T, finally cleanup: () async -> Void) async throws -> T {
    let value: T
    do {
        value = try await body()
    } catch {
        await cleanup()
        throw error
    }
    await cleanup()
    return value
}
