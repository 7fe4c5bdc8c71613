import Foundation

/// A child process started from the package's build directory, with stdout and stderr captured to files.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let name: String
    let stdoutPath: String
    let stderrPath: String
    private let input = Pipe()
    private let exitStatus = Locked<Int32?>(nil)

    init(_ executable: String, _ arguments: [String], directory: URL, label: String, environment: [String: String] = [:]) throws {
        name = label
        stdoutPath = directory.appendingPathComponent("\(label).stdout").path
        stderrPath = directory.appendingPathComponent("\(label).stderr").path
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Binaries.path(executable))
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: Binaries.repositoryRoot)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = input
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        let exitStatus = exitStatus
        process.terminationHandler = { p in exitStatus.withLock { $0 = p.terminationStatus } }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var status: Int32? { exitStatus.withLock { $0 } }
    var isRunning: Bool { status == nil }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func send(_ line: String) throws { try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8)) }
    func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for exit; returns the status or nil at the deadline.
    func waitForExit(timeout: Duration) async -> Int32? {
        try? await eventually(timeout, "exit of \(name)") { self.status }
    }

    func stop() async {
        guard isRunning else { return }
        signal(SIGTERM)
        if await waitForExit(timeout: .seconds(10)) == nil {
            signal(SIGKILL)
            _ = await waitForExit(timeout: .seconds(5))
        }
    }
}

/// Polls `body` until it returns a value, or throws at the deadline. Generous deadlines: the machine may be loaded.
func eventually<T>(_ timeout: Duration, _ what: String, _ body: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await body() { return value }
        if ContinuousClock.now >= deadline { throw Binaries.Failure("timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(100))
    }
}

/// `unlearnctl dev-broker` as a separate process: topics and committed offsets survive daemon restarts.
final class DevBroker: @unchecked Sendable {
    let child: ChildProcess
    let bootstrap: String

    static let topics = ["unlearn.deletions", "unlearn.deletions.dlq", "unlearn.alerts"]

    init(directory: URL, partitions: Int = 4) async throws {
        let file = directory.appendingPathComponent("bootstrap.txt").path
        child = try ChildProcess(
            "unlearnctl", ["dev-broker", "--partitions", "\(partitions)", "--bootstrap-file", file, "--log-level", "warning"]
                + Self.topics.flatMap { ["--topics", $0] },
            directory: directory, label: "dev-broker"
        )
        bootstrap = try await eventually(.seconds(30), "the dev broker's bootstrap file") {
            (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines).nilIfEmpty
        }
    }

    /// Sends a fault-injection command (see `unlearnctl dev-broker --help`).
    func command(_ line: String) throws { try child.send(line) }

    func stop() async {
        try? child.send("quit")
        if await child.waitForExit(timeout: .seconds(10)) == nil { await child.stop() }
    }
}

/// `kcat`, the independent Kafka client, for publishing and reading in tests.
enum Kcat {
    static let path: String? = ["/usr/bin/kcat", "/usr/local/bin/kcat", "/usr/bin/kafkacat"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Publishes `key<TAB>value` lines (one message each) and waits until kcat has delivered them.
    static func produce(bootstrap: String, topic: String, lines: [String]) throws {
        guard let path else { throw Binaries.Failure("kcat is not installed (apt-get install kcat)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-b", bootstrap, "-t", topic, "-P", "-K", "\t"]
        let input = Pipe()
        let err = Pipe()
        process.standardInput = input
        process.standardError = err
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw Binaries.Failure("kcat exited with \(process.terminationStatus): \(message)")
        }
    }

    /// Reads every message of a topic from the beginning; each as (key, headers, value) using kcat's format.
    static func consume(bootstrap: String, topic: String, format: String = "%k\u{1}%h\u{1}%s") throws -> [String] {
        guard let path else { throw Binaries.Failure("kcat is not installed (apt-get install kcat)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-b", bootstrap, "-t", topic, "-C", "-e", "-q", "-f", format + "\u{2}\n"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).components(separatedBy: "\u{2}\n").filter { !$0.isEmpty }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
