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

    @Option(
        name: .customLong("lag-max-age"),
        help: "Seconds after which the daemon's metrics file counts as stale (the daemon rewrites it every metrics.interval_ms).")
    var lagMaxAge: Double = 10

    struct ModelStatus: Codable {
        var model: String
        var snapshotVersion: UInt64
        var snapshotSHA256: String
        var budgetEpoch: Int
        var residualRows: Int
        var originalRows: Int
        var removalsSinceBase: Int
        var updatesApplied: Int
        /// Releases of the epoch, the version being served, its file and SHA-256, and the updates waiting for the
        /// next release (docs/ARCHITECTURE.md, section 3.3).
        var releases: Int
        var releasedVersion: UInt64
        var releasedFile: String
        var releasedSHA256: String?
        var unreleasedUpdates: Int
        var unreleasedRequests: Int
        var privacyMode: String?
        var epsilonSpent: Double
        var epsilonBudget: Double?
        var forecastReleasesLeft: Int?
        var retrainRequired: Bool
        var retrainReasons: [String]
        var exclusionList: String?
        /// Validation accuracy of the released model (what users load: the noise-free state plus the last release's noise).
        var validationAccuracy: Double?
        /// Validation accuracy of the daemon's secret noise-free state.
        var noiseFreeValidationAccuracy: Double?
        /// Bytes newton's preconditioner holds in the daemon's memory, from its metrics file (nil: no metrics file).
        var newtonPreconditionerBytes: Int?
    }

    /// Consumer lag as the daemon last wrote it, with the file's age.
    struct Lag: Codable {
        var messages: Int
        var ageSeconds: Double
        var stale: Bool
    }

    func run() async throws {
        var logger = Logger(label: "unlearnctl")
        logger.logLevel = .error
        let modelsRoot = (stateDirectory as NSString).appendingPathComponent("models")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelsRoot, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError(
                "\(stateDirectory) holds no models/ directory: give the daemon's state_directory with --state-dir (the daemon creates models/ when it first imports a model)"
            )
        }
        let ids = try model.map { [$0] } ?? FileManager.default.contentsOfDirectory(atPath: modelsRoot).filter { !$0.hasPrefix(".") }.sorted()
        var rows: [ModelStatus] = []
        let preconditionerBytes = Self.readPreconditionerBytes(stateDirectory: stateDirectory)
        for id in ids {
            let runtime = try ModelRuntime.openExisting(id: id, stateDirectory: stateDirectory, logger: logger, readOnly: true)
            let budget = runtime.state.budget
            let policy = try? runtime.manifest.extensions?["budget_policy"].map { try $0.decode(BudgetPolicy.self) }
            let delta = policy?.delta ?? BudgetPolicy().delta
            let spent = budget.epsilonSpent(delta: delta)
            let releasesLeft = policy.flatMap { budget.accountant.forecastRemainingReleases(budget: $0.epsilonBudget, delta: delta) }
            let pending = runtime.unreleased
            let exclusions = FileManager.default.fileExists(atPath: runtime.exclusionListPath) ? runtime.exclusionListPath : nil
            rows.append(
                ModelStatus(
                    model: id, snapshotVersion: runtime.manifest.version, snapshotSHA256: runtime.snapshotSHA256,
                    budgetEpoch: runtime.manifest.budgetEpoch, residualRows: runtime.state.residualCount,
                    originalRows: runtime.state.originalCount, removalsSinceBase: budget.removedRows,
                    updatesApplied: budget.appliedUpdates, releases: budget.accountant.releases,
                    releasedVersion: runtime.releasedVersion, releasedFile: runtime.releasedFilePath,
                    releasedSHA256: runtime.lastRelease?.fileSHA256, unreleasedUpdates: pending.updates,
                    unreleasedRequests: pending.requestIDs.count,
                    privacyMode: policy.map { $0.resolvedMode(for: runtime.state.model.architecture).rawValue },
                    epsilonSpent: spent, epsilonBudget: policy?.epsilonBudget,
                    forecastReleasesLeft: budget.retrainRequired ? 0 : releasesLeft,
                    retrainRequired: budget.retrainRequired, retrainReasons: budget.retrainReasons.map(\.rawValue),
                    exclusionList: exclusions,
                    validationAccuracy: runtime.state.validationFeatures.rows > 0
                        ? runtime.state.releasedModel.accuracy(runtime.state.validationFeatures, labels: runtime.state.validationLabels) : nil,
                    noiseFreeValidationAccuracy: runtime.state.validationFeatures.rows > 0
                        ? runtime.state.model.accuracy(runtime.state.validationFeatures, labels: runtime.state.validationLabels) : nil,
                    newtonPreconditionerBytes: preconditionerBytes?[id] ?? (preconditionerBytes == nil ? nil : 0)
                ))
        }
        let lag = Self.readLag(stateDirectory: stateDirectory, maxAge: lagMaxAge)
        if json {
            struct Output: Codable {
                var models: [ModelStatus]
                var consumerLag: Lag?
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Output(models: rows, consumerLag: lag)), as: UTF8.self))
            return
        }
        for s in rows {
            let budgetText = s.epsilonBudget.map { String(format: "%.3f of %.3f", s.epsilonSpent, $0) } ?? String(format: "%.3f", s.epsilonSpent)
            let forecast = s.forecastReleasesLeft.map { "\($0) releases like the average one so far" } ?? "n/a (no release yet)"
            print(
                """
                model \(s.model)
                  snapshot        v\(s.snapshotVersion) (epoch \(s.budgetEpoch)), sha256 \(s.snapshotSHA256.prefix(16))...
                  residual rows   \(s.residualRows) of \(s.originalRows)
                  removals        \(s.removalsSinceBase) rows since base, \(s.updatesApplied) updates applied
                  released        v\(s.releasedVersion) (\(s.releases) releases this epoch, \(s.privacyMode ?? "?") mode); \(s.unreleasedUpdates) updates (\(s.unreleasedRequests) requests) wait for the next
                  released file   \(s.releasedFile)
                  epsilon spent   \(budgetText)
                  forecast        \(forecast) left in this epoch
                  retrain         \(s.retrainRequired ? "REQUIRED (" + s.retrainReasons.joined(separator: ", ") + ")" : "not required")
                """)
            if let e = s.exclusionList { print("  exclusion list  \(e)") }
            if let bytes = s.newtonPreconditionerBytes {
                print(
                    bytes > 0
                        ? String(format: "  preconditioner  %.1f MiB in the daemon's memory (newton)", Double(bytes) / 1_048_576)
                        : "  preconditioner  none (newton runs plain CG, or another method is used)")
            }
            if let a = s.validationAccuracy { print(String(format: "  validation acc  %.2f%% (released model)", 100 * a)) }
            if let a = s.noiseFreeValidationAccuracy, a != s.validationAccuracy {
                print(String(format: "                  %.2f%% (noise-free secret state, never published)", 100 * a))
            }
        }
        if let lag {
            if lag.stale {
                print(
                    String(
                        format: "consumer lag      STALE: %d messages %.0f s ago (the metrics file is not being updated: is unlearnd running?)",
                        lag.messages, lag.ageSeconds))
            } else {
                print(String(format: "consumer lag      %d messages (daemon's metrics file, %.0f s ago)", lag.messages, lag.ageSeconds))
            }
        }
    }

    /// Bytes of each model's newton preconditioner from the daemon's Prometheus text file, if present.
    static func readPreconditionerBytes(stateDirectory: String) -> [String: Int]? {
        let path = (stateDirectory as NSString).appendingPathComponent("metrics/unlearnd.prom")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let prefix = "unlearnd_newton_preconditioner_bytes{model=\""
        var bytes: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            let rest = line.dropFirst(prefix.count)
            guard let quote = rest.firstIndex(of: "\""), let value = rest.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            bytes[String(rest[..<quote])] = Int(value)
        }
        return bytes
    }

    /// Total consumer lag from the daemon's Prometheus text file, if present, with the file's age.
    static func readLag(stateDirectory: String, maxAge: Double) -> Lag? {
        let path = (stateDirectory as NSString).appendingPathComponent("metrics/unlearnd.prom")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        else { return nil }
        let age = max(0, Date().timeIntervalSince(modified))
        var total = 0.0
        var found = false
        for line in text.split(separator: "\n") where line.hasPrefix("unlearnd_consumer_lag{") {
            if let v = line.split(separator: " ").last.flatMap({ Double($0) }) {
                total += v
                found = true
            }
        }
        return found ? Lag(messages: Int(total), ageSeconds: age, stale: age > maxAge) : nil
    }
}
