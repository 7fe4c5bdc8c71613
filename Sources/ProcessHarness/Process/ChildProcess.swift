import Foundation
import UnlearnSupport

/// A long-running child process (the dev broker, the daemon, a Python client): stdin is a pipe we hold, stdout
/// and stderr go where `Output` says, and the exit status is recorded when the child ends.
///
/// Stopping is explicit (`stop`); a child whose parent dies sees end of file on stdin, which the dev broker
/// takes as its signal to exit.
public final class ChildProcess: @unchecked Sendable {
    /// Where one of the child's output streams goes.
    public enum Output: Sendable {
        /// A file, created empty; stdout and stderr may name the same file (one shared descriptor, in order).
        case file(String)
        /// A pipe read line by line with `lines` (stdout only).
        case lines
        case inherit
        case discard
    }

    public let name: String
    public let pid: Int32
    /// The files stdout and stderr go to, when they go to files.
    public let stdoutPath: String?
    public let stderrPath: String?
    /// stdout's lines, when stdout is `.lines`.
    public let lines: LineReader?

    // @unchecked Sendable: after `run()` the Process object is only kept alive, never read (the status comes
    // from the termination handler); the pipes are used by one caller at a time.
    private let process: Process
    private let input = Pipe()
    /// Kept so that the read end `lines` reads from stays open.
    private let outputPipe: Pipe?
    private let termination = LockedValue<Termination?>(nil)

    /// How the child ended: Foundation reports an exit status and a terminating signal in the same field.
    private struct Termination: Sendable {
        var status: Int32
        var bySignal: Bool
    }

    public init(
        executable: String,
        arguments: [String],
        name: String,
        stdout: Output,
        stderr: Output,
        directory: String? = nil,
        environment: [String: String] = [:]
    ) throws {
        SignalDisposition.ignoreBrokenPipes()
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw HarnessError("\(executable) is not an executable file (build it first)")
        }
        self.name = name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = input

        var files: [String: FileHandle] = [:]
        func handle(_ path: String) throws -> FileHandle {
            if let open = files[path] { return open }
            guard FileManager.default.createFile(atPath: path, contents: nil), let opened = FileHandle(forWritingAtPath: path) else {
                throw HarnessError("cannot create the log file \(path) of \(name)")
            }
            files[path] = opened
            return opened
        }
        let pipe = Pipe()
        switch stdout {
        case .file(let path): process.standardOutput = try handle(path)
        case .lines: process.standardOutput = pipe
        case .inherit: process.standardOutput = FileHandle.standardOutput
        case .discard: process.standardOutput = FileHandle.nullDevice
        }
        switch stderr {
        case .file(let path): process.standardError = try handle(path)
        case .lines: throw HarnessError("stderr of \(name) cannot be read as lines; send it to a file")
        case .inherit: process.standardError = FileHandle.standardError
        case .discard: process.standardError = FileHandle.nullDevice
        }
        if case .file(let path) = stdout { stdoutPath = path } else { stdoutPath = nil }
        if case .file(let path) = stderr { stderrPath = path } else { stderrPath = nil }
        if case .lines = stdout {
            outputPipe = pipe
            lines = LineReader(fileDescriptor: pipe.fileHandleForReading.fileDescriptor)
        } else {
            outputPipe = nil
            lines = nil
        }

        let termination = termination
        process.terminationHandler = { finished in
            let ended = Termination(status: finished.terminationStatus, bySignal: finished.terminationReason == .uncaughtSignal)
            termination.withLock { $0 = ended }
        }
        try process.run()
        self.process = process
        pid = process.processIdentifier
    }

    /// The exit status (or terminating signal), once the child has ended.
    public var status: Int32? { termination.value?.status }
    public var isRunning: Bool { status == nil }

    /// "running", "exited with status N" or "killed by signal N".
    public var statusDescription: String {
        guard let ended = termination.value else { return "running" }
        return ended.bySignal ? "killed by signal \(ended.status)" : "exited with status \(ended.status)"
    }

    /// What the child wrote to its stdout or stderr file so far ("" when that stream does not go to a file), bytes
    /// that are not UTF-8 replaced.
    public var stdout: String { stdoutPath.map(LogTail.read) ?? "" }
    public var stderr: String { stderrPath.map(LogTail.read) ?? "" }

    /// For failure messages: the child's name, pid and state, and the end of its stderr file (of stdout when stderr
    /// does not go to a file), saying so when the file is missing or empty.
    public func report(characters: Int = 4000) -> String {
        let heading = "--- \(name) (pid \(pid), \(statusDescription)) ---"
        guard let log = stderrPath ?? stdoutPath else { return heading + "\n(its output does not go to a file)" }
        return heading + "\n" + LogTail.of(log, characters: characters)
    }

    /// Writes one line to the child's stdin.
    public func send(_ line: String) throws { try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8)) }

    /// Closes the child's stdin (end of input).
    public func closeInput() throws { try input.fileHandleForWriting.close() }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for the child to exit; its status, or nil if it still runs at the deadline.
    public func waitForExit(timeout: Duration) async -> Int32? {
        try? await eventually(timeout, "exit of \(name)") { self.status }
    }

    /// SIGTERM, then SIGKILL if the child has not exited within `grace`; returns the exit status.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) async -> Int32? {
        guard isRunning else { return status }
        signal(SIGTERM)
        if let status = await waitForExit(timeout: grace) { return status }
        signal(SIGKILL)
        return await waitForExit(timeout: .seconds(5))
    }
}
