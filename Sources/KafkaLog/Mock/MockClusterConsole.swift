import Logging

/// The line protocol of `unlearnctl dev-broker`: one fault-injection command per line in, one reply line out
/// (`ok ...` or `error: ...`). Kept here, next to ``MockCluster``, so that it is tested without a process.
///
/// Commands:
/// - `down <broker id>` / `up <broker id>`: take a broker down (connections closed, new ones refused) or up.
/// - `rtt <broker id> <ms>`: delay that broker's responses.
/// - `error <api name or key> <error name or code> [count]`: fail the next `count` (default 1) requests of
///   that API type, e.g. `error Produce NOT_LEADER_FOR_PARTITION 3` or `error 8 REQUEST_TIMED_OUT`.
/// - `clear <api name or key>`: drop pending injected errors for that API type.
/// - `topics`: list topics as `name:partitions` from a metadata request.
/// - `bootstrap`: repeat the bootstrap servers.
/// - `help`, `quit`.
public struct MockClusterConsole: Sendable {
    /// What a command line produced.
    public enum Outcome: Equatable, Sendable {
        /// Print this line and read the next command.
        case reply(String)
        /// Print this line and stop.
        case quit(String)

        public var line: String {
            switch self {
            case .reply(let line), .quit(let line): line
            }
        }
    }

    public let cluster: MockCluster
    private let logger: Logger

    public init(cluster: MockCluster, logger: Logger) {
        self.cluster = cluster
        self.logger = logger
    }

    public static let help =
        "commands: down <broker> | up <broker> | rtt <broker> <ms> | error <api> <error> [count] | clear <api>"
        + " | topics | bootstrap | help | quit"

    /// Runs one command line. Never throws: failures become `error: ...` replies.
    public func execute(_ line: String) async -> Outcome {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let verb = words.first?.lowercased() else { return .reply("error: empty command; \(Self.help)") }
        let arguments = Array(words.dropFirst())
        do {
            switch verb {
            case "down":
                let broker = try brokerID(arguments, usage: "down <broker id>")
                try cluster.setBrokerDown(broker)
                return .reply("ok down \(broker)")
            case "up":
                let broker = try brokerID(arguments, usage: "up <broker id>")
                try cluster.setBrokerUp(broker)
                return .reply("ok up \(broker)")
            case "rtt":
                guard arguments.count == 2, let broker = Int32(arguments[0]), let milliseconds = Int32(arguments[1])
                else { throw usage("rtt <broker id> <ms>") }
                try cluster.setBrokerRTT(broker, milliseconds: milliseconds)
                return .reply("ok rtt \(broker) \(milliseconds)")
            case "error":
                guard (2...3).contains(arguments.count) else { throw usage("error <api> <error> [count]") }
                let api = try apiKey(arguments[0])
                guard let code = KafkaErrorCode(name: arguments[1]) else {
                    throw KafkaError(
                        .invalidArgument,
                        reason: "unknown error \"\(arguments[1])\" (a librdkafka name such as REQUEST_TIMED_OUT, "
                            + "or a number)"
                    )
                }
                let count = arguments.count == 3 ? Int(arguments[2]) : 1
                guard let count, (1...10_000).contains(count) else {
                    throw KafkaError(.invalidArgument, reason: "count must be 1...10000")
                }
                cluster.pushRequestErrors(api, errors: Array(repeating: code, count: count))
                return .reply("ok error \(api.name) \(code.name) \(count)")
            case "clear":
                guard arguments.count == 1 else { throw usage("clear <api>") }
                let api = try apiKey(arguments[0])
                cluster.clearRequestErrors(api)
                return .reply("ok clear \(api.name)")
            case "topics":
                guard arguments.isEmpty else { throw usage("topics") }
                let topics = try await listTopics()
                return .reply((["ok topics"] + topics.map { "\($0.name):\($0.partitionCount)" }).joined(separator: " "))
            case "bootstrap":
                return .reply("ok bootstrap=\(cluster.bootstrapServers)")
            case "help":
                return .reply("ok \(Self.help)")
            case "quit", "exit":
                return .quit("ok quit")
            default:
                return .reply("error: unknown command \"\(verb)\"; \(Self.help)")
            }
        } catch let error as KafkaError {
            return .reply("error: \(error.reason)")
        } catch {
            return .reply("error: \(error)")
        }
    }

    private func usage(_ text: String) -> KafkaError {
        KafkaError(.invalidArgument, reason: "usage: \(text)")
    }

    private func brokerID(_ arguments: [String], usage text: String) throws -> Int32 {
        guard arguments.count == 1, let broker = Int32(arguments[0]) else { throw usage(text) }
        return broker
    }

    private func apiKey(_ text: String) throws -> KafkaAPIKey {
        guard let key = KafkaAPIKey(name: text) else {
            throw KafkaError(
                .invalidArgument,
                reason: "unknown API \"\(text)\" (a name such as Produce or OffsetCommit, or a key number)"
            )
        }
        return key
    }

    /// Asks the cluster itself (a short-lived client) which topics exist.
    private func listTopics() async throws -> [KafkaTopicMetadata] {
        var quiet = logger
        quiet.logLevel = .critical  // a metadata client during a broker outage would only repeat the outage
        let client = try KafkaProducer(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                ["client.id": "unlearn-dev-broker-console", "log_level": "3"]
            ),
            logger: quiet
        )
        do {
            let topics = try await client.topics(timeout: .seconds(5))
            try await client.close(timeout: .seconds(1))
            return topics
        } catch {
            try? await client.close(timeout: .seconds(1))
            throw error
        }
    }
}
