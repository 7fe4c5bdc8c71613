import ArgumentParser
import Dispatch
import Foundation
import KafkaLog
import Logging

/// `unlearnctl dev-broker`: librdkafka's mock Kafka cluster as a separate, long-running process, so that
/// clients (the daemon, kcat, tests) can be killed and restarted while topics and committed offsets survive.
struct DevBroker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Run a mock Kafka cluster (librdkafka's) for development and tests.",
        discussion: """
            The first stdout line is `bootstrap=<host:port,...>`. Then one command per stdin line, one reply \
            line each (`ok ...` or `error: ...`): down <broker>, up <broker>, rtt <broker> <ms>, \
            error <api> <error> [count], clear <api>, topics, bootstrap, help, quit. Logs go to stderr. \
            Exits 0 on quit, SIGTERM, SIGINT, or end of stdin (unless --ignore-eof). \
            For development and tests only: no authentication, no persistence beyond the process.

            Consumer groups: librdkafka 2.0.2's mock coordinator waits (session.timeout.ms - 1 s) before \
            completing a rebalance after a member left or died, so clients of this broker should set a short \
            session.timeout.ms (e.g. 6000); with the default 45 s every consumer restart costs about 44 s.
            """
    )

    static let defaultTopics = ["unlearn.deletions", "unlearn.deletions.dlq", "unlearn.alerts"]

    @Option(help: "Number of brokers (ids 1 through N).")
    var brokers: Int = 1

    @Option(help: "Partitions of each created topic.")
    var partitions: Int32 = 4

    @Option(
        help: ArgumentHelp(
            "Topics to create, comma-separated or repeated.",
            discussion: "Default: \(defaultTopics.joined(separator: ","))."
        )
    )
    var topics: [String] = []

    @Option(help: "Not supported with librdkafka 2.0.2 (its mock brokers bind random ports); use --bootstrap-file.")
    var port: Int?

    @Option(help: "Also write the bootstrap servers (one line) to this file, atomically; removed on exit.")
    var bootstrapFile: String?

    @Flag(help: "Keep running when stdin closes (for running in the background); stop with SIGTERM.")
    var ignoreEOF = false

    @Option(help: "Log level on stderr: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "notice"

    var topicNames: [String] {
        let names = topics.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return names.isEmpty ? Self.defaultTopics : names
    }

    func validate() throws {
        if port != nil {
            throw ValidationError(
                "--port: librdkafka \(LibRdKafka.version)'s mock cluster binds each broker to a random loopback port "
                    + "and has no API to choose it; read the first stdout line or use --bootstrap-file PATH"
            )
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: unknown level \"\(logLevel)\"")
        }
        guard (1...64).contains(brokers) else { throw ValidationError("--brokers must be 1...64") }
        guard partitions >= 1 else { throw ValidationError("--partitions must be >= 1") }
    }

    func run() async throws {
        var logger = Logger(label: "unlearnctl.dev-broker") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .notice
        // A reader that went away must not kill the broker with SIGPIPE; writes then fail and are logged.
        signal(SIGPIPE, SIG_IGN)
        // Signals are caught before the bootstrap line goes out, so a SIGTERM right after it still exits cleanly.
        let (inputs, continuation) = AsyncStream.makeStream(of: Input.self)
        let signalSources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(.signal(number)) }
            source.resume()
            return source
        }
        defer { for source in signalSources { source.cancel() } }

        let cluster = try MockCluster(brokers: brokers, logger: logger)
        for topic in topicNames {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: 1)
        }
        if let bootstrapFile {
            try writeAtomically(cluster.bootstrapServers + "\n", to: bootstrapFile)
        }
        defer {
            if let bootstrapFile { try? FileManager.default.removeItem(atPath: bootstrapFile) }
        }
        Self.emit("bootstrap=\(cluster.bootstrapServers)", logger: logger)
        logger.notice(
            "dev broker ready",
            metadata: [
                "kafka.bootstrap_servers": "\(cluster.bootstrapServers)",
                "kafka.topics": "\(topicNames.joined(separator: ","))",
                "kafka.librdkafka_version": "\(LibRdKafka.version)",
            ]
        )

        // readLine blocks, so it gets its own thread rather than a cooperative-pool one.
        Thread.detachNewThread {
            while let line = readLine(strippingNewline: true) { continuation.yield(.line(line)) }
            continuation.yield(.endOfInput)
        }

        let console = MockClusterConsole(cluster: cluster, logger: logger)
        loop: for await input in inputs {
            switch input {
            case .line(let line):
                guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                let outcome = await console.execute(line)
                Self.emit(outcome.line, logger: logger)
                if case .quit = outcome { break loop }
            case .endOfInput:
                if ignoreEOF {
                    logger.info("stdin closed; running on until SIGTERM (--ignore-eof)")
                } else {
                    logger.notice("stdin closed; stopping")
                    break loop
                }
            case .signal(let number):
                logger.notice("signal received; stopping", metadata: ["signal": "\(number)"])
                break loop
            }
        }
        logger.notice("dev broker stopped")
    }

    enum Input: Sendable {
        case line(String)
        case endOfInput
        case signal(Int32)
    }

    /// Writes one stdout line at once (unbuffered), so a reader of the pipe sees it immediately.
    static func emit(_ line: String, logger: Logger) {
        do {
            try FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))
        } catch {
            logger.warning("cannot write to stdout", metadata: ["error": "\(error)"])
        }
    }

    private func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".tmp.\(ProcessInfo.processInfo.processIdentifier)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw ValidationError("--bootstrap-file: cannot move \(temporary) to \(path): \(reason)")
        }
    }
}
