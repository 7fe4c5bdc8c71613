import ArgumentParser

/// `unlearnd`: the unlearning daemon (see README).
@main
struct UnlearnDMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlearnd",
        abstract: "Consume deletion requests from Kafka and unlearn them from registered models."
    )

    func run() async throws {
        throw ValidationError("the daemon is not implemented yet (issue 6)")
    }
}
