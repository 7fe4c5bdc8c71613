import ArgumentParser
import Checkpoints
import Foundation
import UnlearnDaemon

/// `unlearnctl release`: asks the running daemon to release a model now (publish the updates waiting since the last
/// release, spend budget, send the receipt), and waits for it.
struct Release: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask unlearnd to release a model now instead of at its cadence.",
        discussion: """
            Creates <state>/models/<model>/release.request; the daemon releases at its next tick (metrics.interval_ms) \
            and removes the file, also when no update was waiting. Run it as the daemon's user (e.g. \
            `sudo -u unlearnd unlearnctl release --model digits`).
            """
    )

    @Option(name: .customLong("state-dir"), help: "The daemon's state directory.")
    var stateDirectory: String = "/var/lib/unlearnd"

    @Option(help: "Model id.")
    var model: String

    @Option(help: "Seconds to wait for the daemon to take the request (0: do not wait).")
    var timeout: Double = 60

    func run() throws {
        let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: stateDirectory, modelId: model))
        guard FileManager.default.fileExists(atPath: store.directory) else {
            throw ValidationError("model \(model) has no state under \(stateDirectory); is the model registered and the daemon started?")
        }
        let before = try store.versions().last?.version ?? 0
        let path = (store.directory as NSString).appendingPathComponent("release.request")
        try AtomicFile.write(Array("\(RFC3339.format(Date()))\n".utf8), to: path)
        guard timeout > 0 else {
            print("release requested: \(path)")
            return
        }
        let deadline = Date().addingTimeInterval(timeout)
        while FileManager.default.fileExists(atPath: path) {
            guard Date() < deadline else {
                throw ValidationError(
                    "the daemon did not take the request within \(Int(timeout)) s; is unlearnd running for model \(model)? (\(path) is left in place)"
                )
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let newest = try store.loadNewestValid(quarantine: false).snapshot.manifest
        guard newest.version > before, let release = newest.updates.last(where: { $0.released })?.release, release.version > before else {
            print("nothing released: no update was waiting, or the model waits for a retrain (see `unlearnctl status`)")
            return
        }
        print(
            "released version \(release.version) of \(model): \(release.requestIds.count) requests, sigma \(release.sigma), epsilon \(String(format: "%.4f", release.epsilonSpent)) spent, \(release.certified ? "certified" : "not certified"), sha256 \(release.fileSHA256 ?? "?")"
        )
    }
}
