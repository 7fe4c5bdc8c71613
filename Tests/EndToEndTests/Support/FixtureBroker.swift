import Foundation
import ProcessHarness

/// The running broker of one end-to-end test, either kind, with what the tests need of it.
final class FixtureBroker: Sendable {
    let kind: Broker
    /// The mock cluster, for its fault-injection commands (nil on Tansu).
    let mock: DevBrokerProcess?
    let tansu: TansuProcess?

    /// Starts the broker of `kind` with `topics`, `partitions` each; `directory` receives its log.
    init(_ kind: Broker, topics: [String], partitions: Int, directory: URL) async throws {
        self.kind = kind
        switch kind {
        case .mock:
            mock = try await DevBrokerProcess.start(
                unlearnctl: Binaries.path("unlearnctl"),
                arguments: ["--partitions", "\(partitions)", "--log-level", "warning"] + topics.flatMap { ["--topics", $0] },
                stderr: .file(directory.appendingPathComponent("dev-broker.stderr").path)
            )
            tansu = nil
        case .tansu:
            let paths = try TansuSetup.require()
            tansu = try await TansuProcess.start(
                executable: paths.tansu, libraryDirectory: paths.libraryDirectory, topics: topics, partitions: partitions,
                logPath: directory.appendingPathComponent("tansu.log").path
            )
            mock = nil
        }
    }

    var bootstrapServers: String { mock?.bootstrapServers ?? tansu!.bootstrapServers }

    /// The `kafka` section of the daemon's configuration.
    var clientProperties: [String: String] { mock?.clientProperties ?? tansu!.clientProperties }

    /// What every client process of this broker needs in its environment: nothing for the mock, the newer
    /// librdkafka for Tansu.
    var clientEnvironment: [String: String] { tansu?.clientEnvironment ?? [:] }

    /// Freezes the broker process (SIGSTOP): it accepts no work and answers nothing until `resume`.
    func pause() { signal(SIGSTOP) }

    func resume() { signal(SIGCONT) }

    private func signal(_ number: Int32) {
        if let mock { mock.child.signal(number) }
        if let tansu { tansu.signal(number) }
    }

    /// A mock-cluster command that must answer `ok`; Tansu has no fault injection, so there it fails the test.
    func ok(_ line: String) async throws {
        guard let mock else { throw HarnessError("\(kind) has no fault-injection command \(line.debugDescription)") }
        try await mock.ok(line)
    }

    /// The broker's own log, for failure messages.
    var log: String {
        if let tansu { return "--- tansu (pid \(tansu.pid), \(kill(tansu.pid, 0) == 0 ? "running" : "gone")) ---\n\(tansu.log)" }
        return mock?.child.report() ?? ""
    }

    func stop() async {
        await mock?.stop()
        await tansu?.stop()
    }
}
