import Checkpoints
import Foundation
import Prometheus

/// The daemon's Prometheus metrics. Labels carry model ids, rejection codes, outcomes and partitions only:
/// never an identity, a sample id or a request id.
public final class DaemonMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    /// A metric's full name and help text (no namespace or unit split: the names are written out whole).
    private static func metric(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private static let durationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
    ]

    public init() {}

    public func consumed() {
        registry.makeCounter(descriptor: Self.metric("unlearnd_requests_consumed_total", "Messages read from the deletions topic."), labels: [])
            .increment()
    }

    public func applied(model: String, count: Int) {
        registry.makeCounter(
            descriptor: Self.metric("unlearnd_requests_applied_total", "Requests made durable in a snapshot (applied or recorded)."),
            labels: [("model", model)]
        ).increment(by: Int64(count))
    }

    public func released(model: String, requests: Int) {
        registry.makeCounter(
            descriptor: Self.metric("unlearnd_releases_total", "Releases of new noisy weights (each spends budget and sends a receipt)."),
            labels: [("model", model)]
        ).increment()
        registry.makeCounter(
            descriptor: Self.metric("unlearnd_requests_released_total", "Requests made effective by a release (in a receipt)."),
            labels: [("model", model)]
        ).increment(by: Int64(requests))
    }

    public func duplicate(model: String) {
        registry.makeCounter(
            descriptor: Self.metric("unlearnd_requests_duplicate_total", "Requests whose request_id was already applied; ignored."),
            labels: [("model", model)]
        ).increment()
    }

    public func rejected(code: String) {
        registry.makeCounter(
            descriptor: Self.metric("unlearnd_requests_rejected_total", "Messages sent to the dead-letter topic, by reason."),
            labels: [("reason", code)]
        ).increment()
    }

    public func deadLetterRecordedLocally(code: String) {
        registry.makeCounter(
            descriptor: Self.metric(
                "unlearnd_dead_letters_local_total",
                "Dead letters the broker refused for good, recorded in the local dead-letter file instead, by reason."),
            labels: [("reason", code)]
        ).increment()
    }

    public func update(model: String, outcome: String, seconds: Double) {
        registry.makeDurationHistogram(
            descriptor: Self.metric("unlearnd_update_duration_seconds", "Wall time of one unlearning update (engine only)."),
            labels: [("model", model), ("outcome", outcome)],
            buckets: Self.durationBuckets
        ).recordNanoseconds(Int64(seconds * 1e9))
    }

    public func snapshot(model: String, seconds: Double) {
        registry.makeDurationHistogram(
            descriptor: Self.metric("unlearnd_snapshot_write_duration_seconds", "Wall time to write and fsync one snapshot."),
            labels: [("model", model)],
            buckets: Self.durationBuckets
        ).recordNanoseconds(Int64(seconds * 1e9))
    }

    public func latency(seconds: Double) {
        registry.makeDurationHistogram(
            descriptor: Self.metric("unlearnd_request_latency_seconds", "From consuming a request to its snapshot being durable."), labels: [],
            buckets: Self.durationBuckets
        ).recordNanoseconds(Int64(seconds * 1e9))
    }

    public func budget(
        model: String, epsilonSpent: Double, epsilonBudget: Double, removals: Int, residualRows: Int, retrainRequired: Bool, epoch: Int,
        version: UInt64
    ) {
        let labels = [("model", model)]
        registry.makeGauge(descriptor: Self.metric("unlearnd_budget_epsilon_spent", "Epsilon spent in the current budget epoch."), labels: labels)
            .set(to: epsilonSpent)
        registry.makeGauge(descriptor: Self.metric("unlearnd_budget_epsilon_limit", "Epsilon budget per epoch."), labels: labels).set(
            to: epsilonBudget)
        registry.makeGauge(descriptor: Self.metric("unlearnd_removals_since_base", "Rows removed since the epoch's base."), labels: labels).set(
            to: Double(removals))
        registry.makeGauge(descriptor: Self.metric("unlearnd_residual_rows", "Training rows not yet removed."), labels: labels).set(
            to: Double(residualRows))
        registry.makeGauge(descriptor: Self.metric("unlearnd_retrain_required", "1 when the model waits for a retrained base."), labels: labels).set(
            to: retrainRequired ? 1.0 : 0.0)
        registry.makeGauge(descriptor: Self.metric("unlearnd_budget_epoch", "Current budget epoch."), labels: labels).set(to: Double(epoch))
        registry.makeGauge(descriptor: Self.metric("unlearnd_snapshot_version", "Newest durable snapshot version."), labels: labels).set(
            to: Double(version))
    }

    /// Bytes `newton`'s preconditioner of `model` holds in memory (0: none built; `unlearnctl status` reads it).
    public func newtonPreconditioner(model: String, bytes: Int) {
        registry.makeGauge(
            descriptor: Self.metric("unlearnd_newton_preconditioner_bytes", "Bytes newton's preconditioner of the model holds in memory (0: none)."),
            labels: [("model", model)]
        ).set(to: Double(bytes))
    }

    public func lag(partition: Int32, messages: Int64) {
        registry.makeGauge(
            descriptor: Self.metric("unlearnd_consumer_lag", "Consumer lag of an assigned deletions partition (messages)."),
            labels: [("partition", "\(partition)")]
        ).set(to: Double(messages))
    }

    public func brokersDown(_ down: Bool) {
        registry.makeGauge(descriptor: Self.metric("unlearnd_kafka_all_brokers_down", "1 while librdkafka reports all brokers down."), labels: [])
            .set(to: down ? 1.0 : 0.0)
    }

    /// Writes the text exposition atomically (node_exporter textfile collector format).
    public func writeTextfile(_ path: String) throws {
        try AtomicFile.write(registry.emitToBuffer(), to: path, mode: 0o644)
    }
}
