import Checkpoints
import KafkaLog

/// What `PipelineStateMachine` asks its loop to do. Each case that waits for a result names the machine method
/// the loop reports that result to; the other cases need no answer.
enum PipelineAction: Sendable {
    /// Look the request up in its model on the engine queue (ledger, rows, removed rows); report with
    /// `resolved(_:from:as:now:)`. The message travels along for a dead letter with its original bytes.
    case resolve(DeletionRequest, from: KafkaMessage)
    /// Publish the dead letter (or record it in the local file, `PublishRetry`); report with
    /// `deadLetterDelivered(_:)`. Its source offset is not committed before that (section 4.4).
    case deadLetter(DeadLetter)
    /// Apply the batch and write its snapshot recording `safeOffsets`; report with `batchApplied`, `batchStale`
    /// or `batchCannotApply`. Only one batch is in flight at a time; `attempt` counts tries after stale snapshots.
    case apply(PendingBatch, safeOffsets: [SnapshotManifest.KafkaOffset], attempt: Int)
    /// Commit these offsets, all below every request that is not durable yet (section 4.1); report with
    /// `committed(_:)`.
    case commit([KafkaTopicPartitionOffset])
    /// Publish the model's retrain-required event for its current epoch (section 3.4).
    case publishAlert(model: String)
    /// Reload every model's newest snapshot (another daemon may have written some while it owned the partitions
    /// just assigned), then report the models' retrain state with `retrainRequired(_:)`.
    case reload
    /// Release every model whose cadence timer ran out or that `unlearnctl release` asked for, and publish the
    /// receipts (section 3.3); report retrain state with `retrainRequired(_:)` when a release reached a limit.
    case releaseDue
    /// Tell systemd how the pipeline is doing (STATUS=) and that it is alive (WATCHDOG=1).
    case reportStatus(String)
    /// Publish the models' gauges and write the metrics text file (section 5).
    case writeMetrics
    /// Something for the operator: a log line, a metric, no answer.
    case notice(Notice)

    /// Decisions the operator hears about (section 5); none needs an answer.
    enum Notice: Sendable {
        /// A request already applied, or waiting in a batch, was read again: counted and skipped.
        case duplicate(model: String, requestID: String)
        case partitionsAssigned([Int32])
        /// The revoked partitions' pending requests were dropped: the next owner reads them again.
        case partitionsRevoked([Int32], droppedRequests: Int)
        case consumerLag(partition: Int32, messages: Int64)
        /// Every broker is down; librdkafka keeps retrying and no request is lost (the status line says so).
        case brokersDown(KafkaError)
        case brokersUp
        /// A Kafka error that changed nothing about broker health.
        case kafkaError(KafkaError)
        /// Another writer's snapshots were newer every time: the batch stays unacknowledged for a replay.
        case batchAbandoned(model: String)
        /// Shutdown found requests waiting in batches; they are applied before exit (section 4.6).
        case finishingBatches(requests: Int)
    }
}
