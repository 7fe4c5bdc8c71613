import ArgumentParser

struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a model bundle from a CSV training set.")
    func run() async throws {}
}
