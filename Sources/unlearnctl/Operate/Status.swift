import ArgumentParser
import Checkpoints
import Foundation
import Logging
import UnlearnDaemon
import UnlearningCore

/// `unlearnctl status`: per model, the newest snapshot, residual rows, budget, forecast and retrain state.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each model's snapshot, residual rows, privacy budget, removals, forecast, retrain state and lag."
    )

    @Option(name: .customLong("state-dir"), help: "The daemon's state directory.")
    var stateDirectory: String = "/var/lib/unlearnd"

    @Option(help: "Only this model.")
    var model: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct ModelStatus: Codable {
        var model: String
        var snapshotVersion: UInt64
        var snapshotSHA256: String
        var budgetEpoch: Int
        var residualRows: Int
        var originalRows: Int
        var removalsSinceBase: Int
        var updatesApplied: Int
        var epsilonSpent: Double
        var epsilonBudget: Double?
        var forecastUpdatesLeft: Int?
        var forecastRowsLeft: Int?
        var retrainRequired: Bool
        var retrainReasons: [String]
        var exclusionList: String?
        var validationAccuracy: Double?
    }

    func run() async throws {
        var logger = Logger(label: "unlearnctl")
        logger.logLevel = .error
        let modelsRoot = (stateDirectory as NSString).appendingPathComponent("models")
        let ids = try model.map { [$0] } ?? FileManager.default.contentsOfDirectory(atPath: modelsRoot).filter { !$0.hasPrefix(".") }.sorted()
        var rows: [ModelStatus] = []
        for id in ids {
            let runtime = try ModelRuntime.openExisting(id: id, stateDirectory: stateDirectory, logger: logger)
            let budget = runtime.state.budget
            let policy = try? runtime.manifest.extensions?["budget_policy"].map { try $0.decode(BudgetPolicy.self) }
            let delta = policy?.delta ?? BudgetPolicy().delta
            let spent = budget.epsilonSpent(delta: delta)
            let updatesLeft = policy.flatMap { budget.accountant.forecastRemainingReleases(budget: $0.epsilonBudget, delta: delta) }
            let rowsPerUpdate = budget.appliedUpdates > 0 ? Double(budget.removedRows) / Double(budget.appliedUpdates) : nil
            let exclusions = FileManager.default.fileExists(atPath: runtime.exclusionListPath) ? runtime.exclusionListPath : nil
            rows.append(ModelStatus(
                model: id, snapshotVersion: runtime.manifest.version, snapshotSHA256: runtime.snapshotSHA256,
                budgetEpoch: runtime.manifest.budgetEpoch, residualRows: runtime.state.residualCount,
                originalRows: runtime.state.originalCount, removalsSinceBase: budget.removedRows,
                updatesApplied: budget.appliedUpdates, epsilonSpent: spent, epsilonBudget: policy?.epsilonBudget,
                forecastUpdatesLeft: budget.retrainRequired ? 0 : updatesLeft,
                forecastRowsLeft: budget.retrainRequired ? 0 : updatesLeft.flatMap { u in rowsPerUpdate.map { Int(Double(u) * $0) } },
                retrainRequired: budget.retrainRequired, retrainReasons: budget.retrainReasons.map(\.rawValue),
                exclusionList: exclusions,
                validationAccuracy: runtime.state.validationFeatures.rows > 0
                    ? runtime.state.model.accuracy(runtime.state.validationFeatures, labels: runtime.state.validationLabels) : nil
            ))
        }
        let lag = Self.readLag(stateDirectory: stateDirectory)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        for s in rows {
            let budgetText = s.epsilonBudget.map { String(format: "%.3f of %.3f", s.epsilonSpent, $0) } ?? String(format: "%.3f", s.epsilonSpent)
            let forecast = s.forecastUpdatesLeft.map { "\($0) updates" + (s.forecastRowsLeft.map { " (~\($0) rows)" } ?? "") } ?? "n/a (no update yet)"
            print("""
                model \(s.model)
                  snapshot        v\(s.snapshotVersion) (epoch \(s.budgetEpoch)), sha256 \(s.snapshotSHA256.prefix(16))...
                  residual rows   \(s.residualRows) of \(s.originalRows)
                  removals        \(s.removalsSinceBase) rows since base, \(s.updatesApplied) updates applied
                  epsilon spent   \(budgetText)
                  forecast        \(forecast) left in this epoch
                  retrain         \(s.retrainRequired ? "REQUIRED (" + s.retrainReasons.joined(separator: ", ") + ")" : "not required")
                """)
            if let e = s.exclusionList { print("  exclusion list  \(e)") }
            if let a = s.validationAccuracy { print(String(format: "  validation acc  %.2f%%", 100 * a)) }
        }
        if let lag { print("consumer lag      \(lag) messages (from the daemon's metrics file)") }
    }

    /// Total consumer lag from the daemon's Prometheus text file, if present.
    static func readLag(stateDirectory: String) -> Int? {
        let path = (stateDirectory as NSString).appendingPathComponent("metrics/unlearnd.prom")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var total = 0.0
        var found = false
        for line in text.split(separator: "\n") where line.hasPrefix("unlearnd_consumer_lag{") {
            if let v = line.split(separator: " ").last.flatMap({ Double($0) }) {
                total += v
                found = true
            }
        }
        return found ? Int(total) : nil
    }
}
