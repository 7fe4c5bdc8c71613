import Foundation

/// `unlearnctl dev-broker` (librdkafka's mock cluster) as a separate process, driven over its line protocol:
/// the first stdout line is `bootstrap=<servers>`, then one reply line per command line on stdin.
///
/// Topics and committed offsets live as long as this process, so clients can be killed and restarted around it.
public final class DevBrokerProcess: Sendable {
    public let child: ChildProcess
    public let bootstrapServers: String

    private init(child: ChildProcess, bootstrapServers: String) {
        self.child = child
        self.bootstrapServers = bootstrapServers
    }

    /// Starts `unlearnctl dev-broker arguments...` and waits for its bootstrap line. `stderr` receives the
    /// broker's log. The broker exits when our end of its stdin closes, so it cannot outlive a crashed parent.
    public static func start(
        unlearnctl: String,
        arguments: [String] = [],
        name: String = "dev-broker",
        stderr: ChildProcess.Output = .discard,
        timeout: Duration = .seconds(30)
    ) async throws -> DevBrokerProcess {
        let child = try ChildProcess(
            executable: unlearnctl, arguments: ["dev-broker"] + arguments, name: name, stdout: .lines, stderr: stderr
        )
        do {
            guard let first = try await child.lines?.readLine(timeout: timeout, what: "the bootstrap line of \(name)"),
                first.hasPrefix("bootstrap=")
            else {
                throw HarnessError("\(name) did not print a bootstrap= line first (exit status \(child.status.map(String.init) ?? "none yet"))")
            }
            return DevBrokerProcess(child: child, bootstrapServers: String(first.dropFirst("bootstrap=".count)))
        } catch {
            child.signal(SIGKILL)
            throw error
        }
    }

    /// The client properties of the daemon's `kafka` section (and any consumer) against this broker: librdkafka
    /// 2.0.2's mock coordinator completes a rebalance only after session.timeout.ms - 1 s, so a short session
    /// lets restarted and second consumers join in about 5 s instead of 44 s (`unlearnctl dev-broker --help`).
    public var clientProperties: [String: String] {
        ["bootstrap.servers": bootstrapServers, "session.timeout.ms": "6000"]
    }

    /// Sends one command line (see `unlearnctl dev-broker --help`) and returns the broker's reply line.
    @discardableResult
    public func command(_ line: String, timeout: Duration = .seconds(30)) async throws -> String {
        try child.send(line)
        guard let reply = try await child.lines?.readLine(timeout: timeout, what: "the reply to \(line)") else {
            throw HarnessError("\(child.name) closed stdout instead of answering \(line)")
        }
        return reply
    }

    /// Sends a command and requires an `ok` reply (the fault is in effect when this returns).
    public func ok(_ line: String) async throws {
        let reply = try await command(line)
        guard reply.hasPrefix("ok") else { throw HarnessError("\(child.name): \(line) -> \(reply)") }
    }

    /// Stops the broker: `quit`, then SIGTERM and SIGKILL if it does not exit in time.
    public func stop() async {
        guard child.isRunning else { return }
        _ = try? await command("quit", timeout: .seconds(10))
        if await child.waitForExit(timeout: .seconds(10)) == nil { await child.stop(grace: .seconds(5)) }
    }
}
