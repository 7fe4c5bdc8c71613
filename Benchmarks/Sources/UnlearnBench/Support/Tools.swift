import ArgumentParser
import Foundation

/// The main package's built `unlearnctl` and `unlearnd`, which the kafka suite runs as separate processes.
struct Tools {
    var unlearnctl: String
    var unlearnd: String

    /// Looks in `directory` when given; otherwise next to this binary (a build of both products with the same
    /// scratch path), then in the main package's release build (`swift build -c release` at the repository root).
    static func locate(_ directory: String?) throws -> Tools {
        let candidates: [URL]
        if let directory {
            candidates = [URL(fileURLWithPath: directory)]
        } else {
            let own = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            // This file is Benchmarks/Sources/UnlearnBench/Support/Tools.swift.
            var repository = URL(fileURLWithPath: #filePath)
            for _ in 0..<5 { repository.deleteLastPathComponent() }
            candidates = [own, repository.appendingPathComponent(".build/release")]
        }
        for directory in candidates {
            let tools = Tools(
                unlearnctl: directory.appendingPathComponent("unlearnctl").path,
                unlearnd: directory.appendingPathComponent("unlearnd").path
            )
            if [tools.unlearnctl, tools.unlearnd].allSatisfy(FileManager.default.isExecutableFile(atPath:)) { return tools }
        }
        throw ValidationError(
            "unlearnd and unlearnctl were not found in \(candidates.map(\.path).joined(separator: " or ")); "
                + "build them with `swift build -c release` in the repository root, or pass --bin-dir"
        )
    }
}
