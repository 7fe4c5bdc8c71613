import ArgumentParser
import Foundation
import KafkaLog
import Logging
import UnlearnDaemon

/// `unlearnctl publish`: publishes one deletion request built from flags and waits for its delivery report.
struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish one deletion request (scope sample, subject or class) to the deletions topic."
    )

    @Option(help: "Kafka bootstrap servers (host:port,...).")
    var bootstrap: String

    @Option(help: "Deletions topic.")
    var topic: String = "unlearn.deletions"

    @Option(help: "Model id (also the message key).")
    var model: String

    @Option(help: "Forget these sample ids (repeat the option for several).")
    var sample: [String] = []

    @Option(help: "Forget every row of this subject.")
    var subject: String?

    @Option(name: .customLong("class"), help: "Forget every row of this class label.")
    var classLabel: Int?

    @Option(name: .customLong("request-id"), help: "Request id (default: a random UUID).")
    var requestID: String?

    func validate() throws {
        let scopes = [!sample.isEmpty, subject != nil, classLabel != nil].filter { $0 }.count
        guard scopes == 1 else { throw ValidationError("give exactly one of --sample (repeatable), --subject or --class") }
        guard DeletionRequestDecoder.isValidModelID(model) else {
            throw ValidationError("--model must match [a-z0-9][a-z0-9._-]{0,63}")
        }
    }

    func run() async throws {
        let scope: DeletionRequest.Scope
        if let subject { scope = .subject(subject) } else if let classLabel { scope = .class(classLabel) } else { scope = .samples(sample) }
        let request = DeletionRequest(
            requestID: requestID ?? UUID().uuidString.lowercased(), model: model, scope: scope, requestedAt: RFC3339.format(Date())
        )
        var logger = Logger(label: "unlearnctl")
        logger.logLevel = .warning
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: bootstrap), logger: logger)
        let report = try await producer.send(topic: topic, key: Array(model.utf8), value: request.encoded())
        try? await producer.close(timeout: .seconds(5))
        print(
            "published request \(request.requestID) (scope \(scope.name)) for model \(model) to \(report.topic)[\(report.partition)]@\(report.offset)"
        )
    }
}
