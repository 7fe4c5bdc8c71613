import Checkpoints
import Foundation
import Prometheus

/// The daemon's Prometheus metrics. Labels carry model ids, rejection codes, outcomes and partitions only:
/// never an identity, a sample id or a request id.
public final class DaemonMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    private static let durationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
    ]

    public init() {}

    public func consumed() {
        registry.makeCounter(name: "unlearnd_requests_consumed_total", labels: [], help: "Messages read from the deletions topic.").increment()
    }

    public func applied(model: String, count: Int) {
        registry.makeCounter(name: "unlearnd_requests_applied_total", labels: [("model", model)], help: "Requests made durable in a snapshot (applied or recorded).").increment(by: Int64(count))
    }

    public func duplicate(model: String) {
        registry.makeCounter(name: "unlearnd_requests_duplicate_total", labels: [("model", model)], help: "Requests whose request_id was already applied; ignored.").increment()
    }

    public func rejected(code: String) {
        registry.makeCounter(name: "unlearnd_requests_rejected_total", labels: [("reason", code)], help: "Messages sent to the dead-letter topic, by reason.").increment()
    }

    public func update(model: String, outcome: String, seconds: Double) {
        registry.makeDurationHistogram(
            name: "unlearnd_update_duration_seconds", labels: [("model", model), ("outcome", outcome)],
            buckets: Self.durationBuckets, help: "Wall time of one unlearning update (engine only)."
        ).recordNanoseconds(Int64(seconds * 1e9))
    }

    public func snapshot(model: String, seconds: Double) {
        registry.makeDurationHistogram(
            name: "unlearnd_snapshot_write_duration_seconds", labels: [("model", model)],
            buckets: Self.durationBuckets, help: "Wall time to write and fsync one snapshot."
        ).recordNanoseconds(Int64(seconds * 1e9))
    }

    public func latency(seconds: Double) {
        registry.makeDurationHistogram(
            name: "unlearnd_request_latency_seconds", labels: [],
            buckets: Self.durationBuckets, help: "From consuming a request to its snapshot being durable."
        ).recordNanoseconds(Int64(seconds * 1e9))
    }

    public func budget(model: String, epsilonSpent: Double, epsilonBudget: Double, removals: Int, residualRows: Int, retrainRequired: Bool, epoch: Int, version: UInt64) {
        let labels = [("model", model)]
        registry.makeGauge(name: "unlearnd_budget_epsilon_spent", labels: labels, help: "Epsilon spent in the current budget epoch.").set(to: epsilonSpent)
        registry.makeGauge(name: "unlearnd_budget_epsilon_limit", labels: labels, help: "Epsilon budget per epoch.").set(to: epsilonBudget)
        registry.makeGauge(name: "unlearnd_removals_since_base", labels: labels, help: "Rows removed since the epoch's base.").set(to: Double(removals))
        registry.makeGauge(name: "unlearnd_residual_rows", labels: labels, help: "Training rows not yet removed.").set(to: Double(residualRows))
        registry.makeGauge(name: "unlearnd_retrain_required", labels: labels, help: "1 when the model waits for a retrained base.").set(to: retrainRequired ? 1.0 : 0.0)
        registry.makeGauge(name: "unlearnd_budget_epoch", labels: labels, help: "Current budget epoch.").set(to: Double(epoch))
        registry.makeGauge(name: "unlearnd_snapshot_version", labels: labels, help: "Newest durable snapshot version.").set(to: Double(version))
    }

    public func lag(partition: Int32, messages: Int64) {
        registry.makeGauge(name: "unlearnd_consumer_lag", labels: [("partition", "\(partition)")], help: "Consumer lag of an assigned deletions partition (messages).").set(to: Double(messages))
    }

    public func brokersDown(_ down: Bool) {
        registry.makeGauge(name: "unlearnd_kafka_all_brokers_down", labels: [], help: "1 while librdkafka reports all brokers down.").set(to: down ? 1.0 : 0.0)
    }

    /// Writes the text exposition atomically (node_exporter textfile collector format).
    public func writeTextfile(_ path: String) throws {
        try AtomicFile.write(registry.emitToBuffer(), to: path, mode: 0o644)
    }
}
