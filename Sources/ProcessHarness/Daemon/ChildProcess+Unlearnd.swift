import Foundation

extension ChildProcess {
    /// Starts `unlearnd --config <config> arguments...`; with `notify`, as systemd would (`$NOTIFY_SOCKET`), so
    /// that `waitUntilReady` can wait for its READY=1.
    public static func unlearnd(
        executable: String,
        config: String,
        arguments: [String] = [],
        name: String = "unlearnd",
        stdout: Output,
        stderr: Output,
        directory: String? = nil,
        environment: [String: String] = [:],
        notify: NotifySocket?
    ) throws -> ChildProcess {
        var environment = environment
        if let notify { environment["NOTIFY_SOCKET"] = notify.path }
        return try ChildProcess(
            executable: executable, arguments: ["--config", config] + arguments, name: name, stdout: stdout, stderr: stderr,
            directory: directory, environment: environment
        )
    }

    /// Waits until `notify` has seen READY=1 (sent once the daemon has opened its models and subscribed to the
    /// deletions topic); throws if the child exits first, or at the deadline.
    public func waitUntilReady(notify: NotifySocket, timeout: Duration = .seconds(60)) async throws {
        _ = try await eventually(timeout, "READY=1 from \(name)") { () -> Bool? in
            if notify.saw("READY=1") { return true }
            if let status {
                let log = stderrPath ?? stdoutPath
                throw HarnessError("\(name) exited with status \(status) before READY=1" + (log.map { "; see \($0)" } ?? ""))
            }
            return nil
        }
    }
}
