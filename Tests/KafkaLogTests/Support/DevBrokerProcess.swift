import Foundation
import Synchronization
import Testing

/// A running `unlearnctl dev-broker` child process, driven over its stdin/stdout line protocol.
final class DevBrokerProcess: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The built `unlearnctl`, found next to the test bundle (`.build/<config>/`), or `$UNLEARNCTL` if set.
    static let executable: URL? = {
        if let path = ProcessInfo.processInfo.environment["UNLEARNCTL"] {
            return FileManager.default.isExecutableFile(atPath: path) ? URL(fileURLWithPath: path) : nil
        }
        var candidates: [URL] = []
        if let testBinary = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: testBinary).deletingLastPathComponent())
        }
        candidates.append(Bundle.main.bundleURL)
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for directory in candidates {
            // The xctest bundle may itself be a directory inside .build/<config>/.
            for base in [directory, directory.deletingLastPathComponent()] {
                let binary = base.appendingPathComponent("unlearnctl")
                if FileManager.default.isExecutableFile(atPath: binary.path) { return binary }
            }
        }
        return nil
    }()

    static let missingReason: Comment =
        "the unlearnctl binary was not found next to the test bundle (build it, or set UNLEARNCTL)"

    let process: Process
    let bootstrapServers: String
    private let input: FileHandle
    private let output: LineReader
    private let exitBox: ExitBox

    private init(
        process: Process,
        input: FileHandle,
        output: LineReader,
        exitBox: ExitBox,
        bootstrapServers: String
    ) {
        self.process = process
        self.exitBox = exitBox
        self.input = input
        self.output = output
        self.bootstrapServers = bootstrapServers
    }

    /// Starts the dev broker and reads its `bootstrap=` line.
    static func start(_ arguments: [String] = []) async throws -> DevBrokerProcess {
        guard let executable else { throw Failure(description: "\(missingReason)") }
        let process = Process()
        process.executableURL = executable
        process.arguments = ["dev-broker"] + arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        if ProcessInfo.processInfo.environment["KAFKALOG_TEST_VERBOSE"] != nil {
            process.standardError = FileHandle.standardError
        } else {
            process.standardError = FileHandle.nullDevice
        }
        let exitBox = ExitBox()
        process.terminationHandler = { exitBox.set($0.terminationStatus) }
        try process.run()
        let reader = LineReader(fileDescriptor: stdout.fileHandleForReading.fileDescriptor)
        guard let first = try await reader.readLine(timeout: .seconds(30), what: "the bootstrap line"),
            first.hasPrefix("bootstrap=")
        else {
            process.terminate()
            throw Failure(description: "dev-broker did not print a bootstrap= line first")
        }
        let broker = DevBrokerProcess(
            process: process,
            input: stdin.fileHandleForWriting,
            output: reader,
            exitBox: exitBox,
            bootstrapServers: String(first.dropFirst("bootstrap=".count))
        )
        return broker
    }

    /// Sends one command line and returns the reply line.
    @discardableResult
    func command(_ line: String) async throws -> String {
        try input.write(contentsOf: Data((line + "\n").utf8))
        guard let reply = try await output.readLine(timeout: .seconds(30), what: "the reply to \(line)") else {
            throw Failure(description: "dev-broker closed stdout instead of answering \(line)")
        }
        return reply
    }

    /// Sends a command and requires an `ok` reply.
    func ok(_ line: String) async throws {
        let reply = try await command(line)
        guard reply.hasPrefix("ok") else { throw Failure(description: "\(line) -> \(reply)") }
    }

    /// Closes stdin (end of input).
    func closeInput() throws { try input.close() }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the process to exit and returns its status, or nil if it is still running at the deadline.
    func waitForExit(timeout: Duration) async throws -> Int32? {
        try await eventually(timeout: timeout, "dev-broker exit", orNil: true) { self.exitBox.status }
    }

    /// Stops the broker: `quit`, then SIGKILL if it does not exit in time.
    func stop() async {
        if exitBox.status == nil {
            _ = try? await command("quit")
            if (try? await waitForExit(timeout: .seconds(10))) ?? nil == nil {
                kill(process.processIdentifier, SIGKILL)
            }
        }
    }
}

final class ExitBox: Sendable {
    private let value = Mutex<Int32?>(nil)
    func set(_ status: Int32) { value.withLock { $0 = status } }
    var status: Int32? { value.withLock { $0 } }
}

/// Runs `body` repeatedly until it returns a value or the deadline passes (then throws, or returns nil if
/// `orNil`). Between tries it yields briefly; the deadline is generous because the machine may be loaded.
func eventually<T>(
    timeout: Duration = .seconds(30),
    _ what: String,
    orNil: Bool = false,
    _ body: () async throws -> T?
) async throws -> T? {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await body() { return value }
        if ContinuousClock.now >= deadline {
            if orNil { return nil }
            throw DevBrokerProcess.Failure(description: "timed out after \(timeout) waiting for \(what)")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}
