import Foundation
import Testing

@testable import UnlearnDaemon

/// Helpers of the configuration tests: the repository's files, scratch directories, and loading that never reads
/// this machine's /etc/unlearnd.
enum ConfigTest {
    /// The package root (the directory holding Package.swift and Config/).
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path),
                FileManager.default.fileExists(atPath: url.appendingPathComponent("Config").path)
            {
                return url
            }
            url.deleteLastPathComponent()
        }
        fatalError("no package root above \(#filePath)")
    }()

    static var exampleFile: String { root.appendingPathComponent("Config/unlearnd.json").path }
    static var readme: String { root.appendingPathComponent("Config/README.md").path }
    static var environmentExample: String { root.appendingPathComponent("Deploy/unlearnd.env.example").path }

    /// A default path that never exists, so that tests do not depend on /etc/unlearnd/unlearnd.json.
    static let absentDefault = "/nonexistent/unlearnd-test/unlearnd.json"

    /// The minimum environment for a valid configuration without a file.
    static let modelEnvironment = ["UNLEARND_MODELS": "digits=/var/lib/unlearnd/bundles/digits"]

    static func load(_ arguments: [String] = [], environment: [String: String] = [:]) throws(ConfigurationError)
        -> DaemonConfiguration
    {
        try DaemonConfiguration.load(arguments: arguments, environment: environment, defaultFilePath: absentDefault)
    }

    /// The error `load` throws; records a test failure if it does not throw.
    static func error(
        _ arguments: [String] = [], environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) -> ConfigurationError? {
        do {
            let configuration = try load(arguments, environment: environment)
            Issue.record("expected a configuration error, loaded \(configuration.redactedSummary())", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }
}

/// A scratch directory removed when the value is dropped.
final class ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("unlearnd-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `text` to `name` and returns the path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    /// A JSON configuration file holding `json` plus a model, unless `json` registers models itself.
    func config(_ json: String, name: String = "unlearnd.json") throws -> String {
        try write(name, json)
    }
}
