import Dispatch
import Foundation
import UnlearnSupport

/// Runs programs to completion and captures what they print.
public enum ProcessRunner {
    /// Runs `executable arguments...` to completion: stdin is `stdin` (or /dev/null), `environment` is added to
    /// this process's. stdout, stderr and stdin are served at the same time, so a child that fills one pipe
    /// while we wait on another cannot deadlock (a pipe holds 64 KiB on Linux, pipe(7)).
    public static func run(
        _ executable: String,
        _ arguments: [String],
        stdin: Data? = nil,
        environment: [String: String] = [:],
        directory: String? = nil
    ) throws -> ProcessOutput {
        SignalDisposition.ignoreBrokenPipes()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        process.standardOutput = output
        process.standardError = errors
        try process.run()

        let group = DispatchGroup()
        let errorData = LockedValue(Data())
        DispatchQueue.global().async(group: group) {
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            errorData.withLock { $0 = data }
        }
        if let stdin {
            DispatchQueue.global().async(group: group) {
                // A child that exits without reading all of its input is not an error of ours: its status says.
                try? input.fileHandleForWriting.write(contentsOf: stdin)
                try? input.fileHandleForWriting.close()
            }
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return ProcessOutput(status: process.terminationStatus, stdout: outputData, stderr: errorData.value)
    }

    /// `run` on a dispatch queue of its own, for async callers: its blocking reads and waits never hold one of
    /// the cooperative pool's few threads.
    public static func runInBackground(
        _ executable: String,
        _ arguments: [String],
        stdin: Data? = nil,
        environment: [String: String] = [:],
        directory: String? = nil
    ) async throws -> ProcessOutput {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue(label: "ProcessHarness.ProcessRunner").async {
                continuation.resume(
                    with: Result {
                        try run(executable, arguments, stdin: stdin, environment: environment, directory: directory)
                    })
            }
        }
    }

    /// The first executable named `name` on `$PATH`, if any.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
