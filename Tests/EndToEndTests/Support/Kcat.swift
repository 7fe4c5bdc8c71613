import Foundation
import ProcessHarness

/// `kcat`, the independent Kafka client, for publishing and reading in tests.
enum Kcat {
    static let path: String? = ["/usr/bin/kcat", "/usr/local/bin/kcat", "/usr/bin/kafkacat"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Publishes `key<TAB>value` lines (one message each) and waits until kcat has delivered them.
    /// `environment` is added to kcat's (Tansu's clients need a newer librdkafka on LD_LIBRARY_PATH).
    static func produce(bootstrap: String, topic: String, lines: [String], environment: [String: String] = [:]) throws {
        guard let path else { throw HarnessError("kcat is not installed (apt-get install kcat)") }
        let result = try ProcessRunner.run(
            path, ["-b", bootstrap, "-t", topic, "-P", "-K", "\t"], stdin: Data((lines.joined(separator: "\n") + "\n").utf8),
            environment: environment
        )
        guard result.status == 0 else { throw HarnessError("kcat exited with \(result.status): \(result.stderrText)") }
    }

    /// Reads every message of a topic from the beginning; each as (key, headers, value) using kcat's format.
    static func consume(
        bootstrap: String, topic: String, format: String = "%k\u{1}%h\u{1}%s", environment: [String: String] = [:]
    ) throws -> [String] {
        guard let path else { throw HarnessError("kcat is not installed (apt-get install kcat)") }
        let result = try ProcessRunner.run(
            path, ["-b", bootstrap, "-t", topic, "-C", "-e", "-q", "-f", format + "\u{2}\n"], environment: environment)
        return result.stdoutText.components(separatedBy: "\u{2}\n").filter { !$0.isEmpty }
    }
}
