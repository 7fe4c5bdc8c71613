import ArgumentParser
import Checkpoints
import Foundation
import UnlearnDaemon

/// `unlearnctl report`: an HTML page with inline SVG charts over the removals of a budget epoch.
struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an HTML report of a model's budget epoch: accuracy, epsilon, residual bound and block size per update.",
        discussion: """
            Reads the update records of the newest snapshot of the epoch (each snapshot carries every record since \
            the epoch's base) and writes one self-contained HTML file with inline SVG charts: accuracy on the \
            forgotten rows versus validation accuracy, epsilon spent versus the budget, the residual bound Delta \
            versus its limit, and the block size of each update; the network (any of docs/NETWORKS.md: dense, conv, \
            pooling and residual layers) with its parametric layers and the units and filters the updates changed; \
            and a table of the records. It fits a 1280-pixel-wide window. No script, and nothing is fetched from \
            anywhere. Read-only: the state directory is not modified.
            """
    )

    @Argument(help: "Model id.")
    var model: String

    @Option(name: .customLong("state-dir"), help: "The daemon's state directory.")
    var stateDirectory: String = "/var/lib/unlearnd"

    @Option(help: "Output HTML file.")
    var out: String = "report.html"

    @Option(help: "Budget epoch (default: the current one). Older epochs need a retained snapshot of that epoch.")
    var epoch: Int?

    func run() async throws {
        guard DeletionRequestDecoder.isValidModelID(model) else {
            throw ValidationError("\"\(model)\" is not a model id ([a-z0-9][a-z0-9._-]{0,63})")
        }
        let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: stateDirectory, modelId: model))
        guard try !store.versions().isEmpty else {
            throw ValidationError("model \(model) has no snapshots under \(stateDirectory); has the daemon imported it yet?")
        }
        let snapshot = try Self.newest(in: store, epoch: epoch)
        let page = ReportPage(data: ReportData(snapshot: snapshot), generatedAt: RFC3339.format(Date()))
        let html = page.render()
        try Data(html.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        let data = page.data
        print("wrote \(out): model \(model), epoch \(data.epoch), \(data.updates.count) update records from snapshot v\(data.snapshotVersion)")
    }

    /// The newest snapshot that verifies, of the given epoch (or of any epoch).
    static func newest(in store: SnapshotStore, epoch: Int?) throws -> Snapshot {
        let newest = try store.loadNewestValid(quarantine: false).snapshot
        guard let epoch, newest.manifest.budgetEpoch != epoch else { return newest }
        for entry in try store.versions().reversed() where entry.hasSnapshot {
            guard let decoded = try? store.load(version: entry.version) else { continue }
            if decoded.snapshot.manifest.budgetEpoch == epoch { return decoded.snapshot }
            if decoded.snapshot.manifest.budgetEpoch < epoch { break }
        }
        throw ValidationError(
            "no retained snapshot of budget epoch \(epoch) in \(store.directory) (the newest is epoch \(newest.manifest.budgetEpoch)); the store keeps the newest snapshots and each epoch's base"
        )
    }
}
