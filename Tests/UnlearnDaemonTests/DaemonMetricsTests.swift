import Foundation
import Testing

@testable import UnlearnDaemon

/// The metric names, help texts and labels operators scrape (README, Deploy): the exposition must keep them.
@Suite("Daemon metrics exposition")
struct DaemonMetricsTests {
    @Test("every metric appears with its full name, HELP line, labels and value")
    func exposition() throws {
        let metrics = DaemonMetrics()
        metrics.consumed()
        metrics.consumed()
        metrics.applied(model: "digits", count: 3)
        metrics.duplicate(model: "digits")
        metrics.rejected(code: "invalid_json")
        metrics.update(model: "digits", outcome: "applied", seconds: 0.25)
        metrics.snapshot(model: "digits", seconds: 0.004)
        metrics.latency(seconds: 0.5)
        metrics.budget(
            model: "digits", epsilonSpent: 5.5, epsilonBudget: 30, removals: 19, residualRows: 1410,
            retrainRequired: true, epoch: 2, version: 7
        )
        metrics.lag(partition: 1, messages: 12)
        metrics.brokersDown(false)
        metrics.newtonPreconditioner(model: "digits", bytes: 8_040_448)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).prom").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try metrics.writeTextfile(path)
        let lines = Set(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init))
        for expected in [
            "# HELP unlearnd_requests_consumed_total Messages read from the deletions topic.",
            "unlearnd_requests_consumed_total 2",
            #"unlearnd_requests_applied_total{model="digits"} 3"#,
            #"unlearnd_requests_duplicate_total{model="digits"} 1"#,
            #"unlearnd_requests_rejected_total{reason="invalid_json"} 1"#,
            #"unlearnd_update_duration_seconds_count{model="digits",outcome="applied"} 1"#,
            #"unlearnd_snapshot_write_duration_seconds_count{model="digits"} 1"#,
            "unlearnd_request_latency_seconds_count 1",
            #"unlearnd_budget_epsilon_spent{model="digits"} 5.5"#,
            #"unlearnd_budget_epsilon_limit{model="digits"} 30.0"#,
            #"unlearnd_removals_since_base{model="digits"} 19.0"#,
            #"unlearnd_residual_rows{model="digits"} 1410.0"#,
            #"unlearnd_retrain_required{model="digits"} 1.0"#,
            #"unlearnd_budget_epoch{model="digits"} 2.0"#,
            #"unlearnd_snapshot_version{model="digits"} 7.0"#,
            #"unlearnd_consumer_lag{partition="1"} 12.0"#,
            "unlearnd_kafka_all_brokers_down 0.0",
            #"unlearnd_newton_preconditioner_bytes{model="digits"} 8040448.0"#,
        ] {
            #expect(lines.contains(expected), "missing line: \(expected)\n\(lines.sorted().joined(separator: "\n"))")
        }
    }
}
