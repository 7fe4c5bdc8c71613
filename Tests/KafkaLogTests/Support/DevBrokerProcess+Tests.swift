import Foundation
import ProcessHarness
import Testing

extension DevBrokerProcess {
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

    /// Starts the dev broker built next to the tests; its log goes to stderr when KAFKALOG_TEST_VERBOSE is set.
    static func start(_ arguments: [String] = []) async throws -> DevBrokerProcess {
        guard let executable else { throw HarnessError("\(missingReason)") }
        let verbose = ProcessInfo.processInfo.environment["KAFKALOG_TEST_VERBOSE"] != nil
        return try await start(unlearnctl: executable.path, arguments: arguments, stderr: verbose ? .inherit : .discard)
    }
}
