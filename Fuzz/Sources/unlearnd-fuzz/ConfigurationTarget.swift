import Foundation
import UnlearnDaemon

/// The configuration file reader, through the daemon's own entry point: the bytes are written to a file and loaded
/// with no overrides and an empty environment (so only the file is read and validated).
enum ConfigurationTarget {
    static let path: String = {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        return "\(directory)/unlearnd-fuzz-config-\(getpid()).json"
    }()

    static func run(_ bytes: [UInt8]) {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            fatalError("cannot write \(path); set TMPDIR to a writable directory")
        }
        _ = Explain.attempt("configuration", { try DaemonConfiguration.load(configFile: path, overrides: [], environment: [:]) })
    }
}
