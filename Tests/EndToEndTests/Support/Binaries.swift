import Foundation
import ProcessHarness

/// Locates the package's built executables and runs them as child processes.
enum Binaries {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The directory holding the built products: next to the running test bundle (`swift test` puts the test
    /// binary and the executables in the same build directory), or `$UNLEARND_BIN_DIR` when set.
    static let directory: String = {
        if let dir = ProcessInfo.processInfo.environment["UNLEARND_BIN_DIR"] { return dir }
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path,
            Bundle.main.bundleURL.deletingLastPathComponent().path,
            Bundle.main.bundlePath,
            "\(repositoryRoot)/.build/debug",
        ]
        for dir in candidates where FileManager.default.isExecutableFile(atPath: "\(dir)/unlearnctl") { return dir }
        return "\(repositoryRoot)/.build/debug"
    }()

    static func path(_ name: String) -> String { "\(directory)/\(name)" }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `name args...` (a built product) in the repository root to completion and captures its output.
    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try capture(path(name), arguments, environment: environment, directory: repositoryRoot)
    }

    /// Runs `executable args...` with stdin from /dev/null and `environment` added to this process's, to
    /// completion, and captures its output as text.
    static func capture(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil
    ) throws -> Result {
        let output = try ProcessRunner.run(executable, arguments, environment: environment, directory: directory)
        return Result(status: output.status, stdout: output.stdoutText, stderr: output.stderrText)
    }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("unlearnd-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
