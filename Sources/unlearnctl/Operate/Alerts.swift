import ArgumentParser
import Foundation
import KafkaLog
import Logging
import UnlearnDaemon

/// `unlearnctl alerts`: prints retrain-required events (one JSON object per line).
struct Alerts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print retrain-required events from the alerts topic, one JSON object per line."
    )

    @Option(help: "Kafka bootstrap servers (host:port,...).")
    var bootstrap: String

    @Option(help: "Alerts topic.")
    var topic: String = "unlearn.alerts"

    @Flag(help: "Keep waiting for new alerts (otherwise exit once the topic is idle for --idle seconds).")
    var follow = false

    @Option(help: "Without --follow: seconds without a new message before exiting.")
    var idle: Double = 3

    @Flag(help: "Print each alert id once, skipping re-sent copies.")
    var deduplicate = false

    func run() async throws {
        var logger = Logger(label: "unlearnctl")
        logger.logLevel = .error
        // A fresh group each run reads the topic from the beginning and commits nothing.
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: bootstrap),
            groupID: "unlearnctl-alerts-\(getpid())-\(UInt32.random(in: 0...UInt32.max))", logger: logger
        )
        try consumer.subscribe(topics: [topic])
        var seen = Set<String>()
        var lastMessage = Date()
        var assigned = false
        while follow || Date().timeIntervalSince(lastMessage) < idle || !assigned {
            if !assigned && Date().timeIntervalSince(lastMessage) > 30 { break }
            for event in try await consumer.poll(timeout: .milliseconds(200)) {
                switch event {
                case .assigned:
                    assigned = true
                    lastMessage = Date()
                case .message(let message):
                    lastMessage = Date()
                    guard let value = message.value else { continue }
                    if deduplicate, let event = try? JSONDecoder().decode(RetrainEvent.self, from: Data(value)) {
                        guard seen.insert(event.alertID).inserted else { continue }
                    }
                    FileHandle.standardOutput.write(Data(value + [0x0A]))
                default:
                    break
                }
            }
        }
        try? await consumer.close()
    }
}
