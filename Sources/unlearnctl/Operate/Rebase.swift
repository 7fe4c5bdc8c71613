import ArgumentParser
import Checkpoints
import Foundation
import Logging
import UnlearnDaemon
import UnlearningCore

/// `unlearnctl rebase`: installs a retrained model as the base of a new budget epoch.
struct Rebase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install a retrained model as the base of a new budget epoch (approximate updates resume).",
        discussion: """
            Either --retrain (fit the same architecture on the residual rows here: L-BFGS for logistic regression, \
            Adam otherwise) or --bundle DIR (a bundle trained elsewhere without the rows in the exclusion list; its \
            training sample ids must all be residual rows). Removed rows stay removed. Safe while the daemon runs: \
            the new snapshot version is created exclusively and the daemon reloads when it sees it.
            """
    )

    @Option(name: .customLong("state-dir"), help: "The daemon's state directory.")
    var stateDirectory: String = "/var/lib/unlearnd"

    @Option(help: "Model id.")
    var model: String

    @Option(help: "A retrained model bundle.")
    var bundle: String?

    @Flag(help: "Retrain here on the residual rows.")
    var retrain = false

    @Option(help: "Adam epochs when retraining an MLP.")
    var epochs: Int = 30

    @Option(help: "Seed of the retraining.")
    var seed: UInt64 = 1

    func validate() throws {
        guard (bundle != nil) != retrain else { throw ValidationError("give exactly one of --bundle DIR or --retrain") }
    }

    func run() async throws {
        var logger = Logger(label: "unlearnctl")
        logger.logLevel = .error
        let runtime = try ModelRuntime.openExisting(id: model, stateDirectory: stateDirectory, logger: logger)
        let residual = runtime.state.residualIndices
        let newModel: Network
        let standardization: Standardization?
        if let bundle {
            let retrained = try ModelBundle.read(from: bundle)
            let residualIDs = Set(residual.map { runtime.bundle.train.sampleIDs[$0] })
            let excluded = retrained.train.sampleIDs.filter { !residualIDs.contains($0) }
            guard excluded.isEmpty else {
                throw ValidationError(
                    "\(bundle) was trained on \(excluded.count) rows that are removed (or not part of this model); retrain without the rows of the exclusion list"
                )
            }
            newModel = retrained.model
            standardization = retrained.descriptor.standardization
        } else {
            let raw = runtime.bundle.train.features.selectingRows(residual)
            let fitted = Standardization(fitting: raw)
            let x = fitted.apply(raw)
            let labels = residual.map { runtime.bundle.train.labels[$0] }
            var m = try Network(architecture: runtime.state.model.architecture, lambda: runtime.state.model.lambda, seed: seed)
            let report: TrainingReport
            if m.architecture.isConvex {
                report = Trainer.lbfgs(&m, x: x, labels: labels)
            } else {
                var options = Trainer.AdamOptions()
                options.epochs = epochs
                options.seed = seed
                report = Trainer.adam(&m, x: x, labels: labels, options: options)
            }
            print(
                String(
                    format: "retrained on %d residual rows with %@ in %.1f s (|grad F| %.1e)", residual.count, report.method, report.seconds,
                    report.gradientNorm))
            newModel = m
            standardization = fitted
        }
        let version = try runtime.rebase(to: newModel, standardization: standardization)
        print(
            "model \(model): installed the retrained base as snapshot v\(version), budget epoch \(runtime.manifest.budgetEpoch); approximate updates resume"
        )
    }
}
