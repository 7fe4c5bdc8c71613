import Checkpoints
import Foundation
import KafkaLog
import Logging
import UnlearningCore

extension UnlearningPipeline {
    /// The I/O half of the pipeline: polls Kafka, feeds what happened to the `PipelineStateMachine`, and performs the
    /// actions it returns (engine runs, producer sends, commits, notifier, metrics), reporting each result back
    /// (docs/ARCHITECTURE.md, section 4). Owned by the pipeline's single task.
    struct Loop {
        let pipeline: UnlearningPipeline
        let consumer: KafkaConsumer
        let producer: KafkaProducer
        var machine: PipelineStateMachine

        init(pipeline: UnlearningPipeline, consumer: KafkaConsumer, producer: KafkaProducer) {
            self.pipeline = pipeline
            self.consumer = consumer
            self.producer = producer
            let c = pipeline.configuration
            let batcher = Batcher(
                maxRows: c.batchMaxRows, maxWaitMilliseconds: c.batchMaxWaitMilliseconds, groupByRequest: c.batchGroupBy == "request"
            )
            machine = PipelineStateMachine(
                topic: c.deletionsTopic, models: pipeline.runtimes.ids, batcher: batcher, statusIntervalMilliseconds: c.metricsIntervalMilliseconds
            )
        }

        var logger: Logger { pipeline.logger }
        var configuration: DaemonConfiguration { pipeline.configuration }
        var cadence: ModelRuntime.ReleaseCadence {
            ModelRuntime.ReleaseCadence(updates: configuration.releaseEveryUpdates, seconds: configuration.releaseEverySeconds)
        }
        static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

        /// Before consuming: alerts of models already waiting for a retrain and the receipts of the newest releases
        /// are sent again.
        mutating func start() async throws {
            let retrain = await pipeline.refreshModels() ?? []
            try await perform(machine.started(retrainRequired: retrain))
            try await sendNewestReceipts(reloading: false)
        }

        mutating func run() async throws {
            while !pipeline.isStopping {
                let events: [KafkaConsumerEvent]
                do {
                    events = try await consumer.poll(timeout: .milliseconds(50), maxMessages: 500)
                } catch {
                    logger.error("Polling the deletions topic failed", metadata: [LogKey.error: "\(error)"])
                    try? await Task.sleep(for: .milliseconds(200))
                    continue
                }
                for event in events {
                    try await perform(handle(event))
                    try await perform(machine.brokerHealth(allBrokersDown: consumer.health.allBrokersDown))
                }
                try await perform(machine.tick(now: Self.now()))
            }
        }

        /// Graceful stop: fetching has stopped; every batch in flight is made durable, then committed.
        mutating func shutdown() async throws {
            try await perform(machine.shutdown())
        }

        mutating func handle(_ event: KafkaConsumerEvent) -> [PipelineAction] {
            switch event {
            case .message(let message):
                pipeline.metrics.consumed()
                return machine.received(message)
            case .assigned(let partitions):
                return machine.assigned(partitions)
            case .revoked(let partitions):
                return machine.revoked(partitions)
            case .statistics(let statistics):
                return machine.statistics(statistics)
            case .error(let error):
                return machine.kafkaError(error, allBrokersDown: consumer.health.allBrokersDown)
            case .partitionEOF:
                return []
            }
        }

        /// Performs the actions in order, each followed in turn by the actions its result leads to.
        mutating func perform(_ actions: [PipelineAction]) async throws {
            var queue = actions[...]
            while let action = queue.popFirst() {
                queue += try await perform(action)
            }
        }

        mutating func perform(_ action: PipelineAction) async throws -> [PipelineAction] {
            switch action {
            case .resolve(let request, let message):
                let resolution = try await resolve(request)
                return machine.resolved(request, from: message, as: resolution, now: Self.now())
            case .deadLetter(let letter):
                try await deadLetter(letter)
                return machine.deadLetterDelivered(letter)
            case .apply(let batch, let safeOffsets, let attempt):
                return try await apply(batch, safeOffsets: safeOffsets, attempt: attempt)
            case .commit(let offsets):
                do {
                    try await consumer.commit(offsets)
                    machine.committed(offsets)
                } catch {
                    logger.warning("Offset commit failed; will retry (requests are already durable)", metadata: [LogKey.error: "\(error)"])
                }
            case .publishAlert(let model):
                try await sendAlert(model)
            case .reload:
                // A version another writer made may be a release (`unlearnctl rebase` serves the retrained base as
                // one): its receipt is sent here, as at start.
                try await sendNewestReceipts(reloading: true)
                if let retrain = await pipeline.refreshModels() { machine.retrainRequired(retrain) }
            case .reportStatus(let text):
                pipeline.notifier.status(text)
                pipeline.notifier.watchdog()
            case .releaseDue:
                if try await releaseDue() {
                    if let retrain = await pipeline.refreshModels() { machine.retrainRequired(retrain) }
                }
            case .writeMetrics:
                await writeMetrics()
            case .notice(let notice):
                note(notice)
            }
            return []
        }

        /// The request against its model on the engine queue: applied already, the rows still to remove, or why not.
        func resolve(_ request: DeletionRequest) async throws -> PipelineStateMachine.Resolution {
            try await pipeline.engine.run { [runtimes = pipeline.runtimes] in
                guard let runtime = runtimes.get(request.model) else {
                    return .rejected(RejectionReason(RejectionReason.unknownModel, "model is not loaded"))
                }
                if runtime.isApplied(request.requestID) { return .alreadyApplied }
                // Rows removed earlier do not count towards the batch size (a repeated class deletion is a no-op).
                let removed = runtime.state.removed
                switch runtime.index.rows(for: request.scope) {
                case .success(let rows): return .rows(rows.filter { !removed[$0] })
                case .failure(let reason): return .rejected(reason)
                }
            }
        }

        /// Applies a batch on the engine queue and reports how it went.
        mutating func apply(_ batch: PendingBatch, safeOffsets: [SnapshotManifest.KafkaOffset], attempt: Int) async throws -> [PipelineAction] {
            let options = configuration.unlearning
            let policy = configuration.budget
            let cadence = self.cadence
            let model = batch.model
            let result: ModelRuntime.Applied
            do {
                result = try await pipeline.engine.run { [runtimes = pipeline.runtimes] in
                    guard let runtime = runtimes.get(model) else { throw RejectionReason(RejectionReason.unknownModel, "model is not loaded") }
                    // The update is released in its own snapshot when the cadence falls on it (section 3.3).
                    let release = runtime.releaseDue(cadence, counting: 1) || runtime.releaseRequested
                    let applied = try runtime.apply(batch, options: options, policy: policy, safeOffsets: safeOffsets, release: release)
                    if applied.release != nil { runtime.clearReleaseRequest() }
                    return applied
                }
            } catch let stale as ModelRuntime.Stale {
                logger.warning(
                    "Snapshot was stale; reloaded and retrying",
                    metadata: [LogKey.model: "\(model)", LogKey.error: "\(stale)", "attempt": "\(attempt)"]
                )
                return machine.batchStale(batch)
            } catch let error as UnlearningError {
                // Valid requests the engine cannot apply (e.g. they would remove every remaining row).
                logger.error("Batch cannot be applied", metadata: [LogKey.model: "\(model)", LogKey.reason: "\(error.code.rawValue)"])
                return machine.batchCannotApply(batch, reason: error.reason)
            } catch let error as CheckpointError where error.code == .fsyncFailed {
                // An fsync error is fatal: durability is unknown; systemd restarts us from the last good snapshot.
                throw DaemonExit.fsyncFailed(error.reason)
            }
            let now = Self.now()
            for p in batch.requests { pipeline.metrics.latency(seconds: Double(now &- p.receivedAt) / 1e9) }
            let appliedCount = batch.requests.count - result.duplicates.count
            for _ in result.duplicates { pipeline.metrics.duplicate(model: model) }
            pipeline.metrics.applied(model: model, count: appliedCount)
            pipeline.metrics.snapshot(model: model, seconds: result.snapshotSeconds)
            if let report = result.report {
                pipeline.metrics.update(model: model, outcome: report.outcome.rawValue, seconds: report.totalSeconds)
                logger.info(
                    "Unlearning update",
                    metadata: [
                        LogKey.model: "\(model)", LogKey.snapshotVersion: "\(result.version)", LogKey.group: "\(batch.key)",
                        LogKey.requests: "\(appliedCount)", LogKey.rows: "\(report.rows)", LogKey.outcome: "\(report.outcome.rawValue)",
                        LogKey.blockSize: "\(report.blockSize)", LogKey.sigma: "\(report.sigma)",
                        LogKey.residualBound: "\(report.residualBound)", LogKey.epsilon: "\(report.epsilonSpent)",
                        LogKey.seconds: "\(report.totalSeconds)",
                    ]
                )
            } else {
                logger.info(
                    "Recorded requests with nothing left to remove",
                    metadata: [LogKey.model: "\(model)", LogKey.snapshotVersion: "\(result.version)", LogKey.requests: "\(appliedCount)"]
                )
            }
            try await released(model, result)
            if let retrain = await pipeline.refreshModels() { machine.retrainRequired(retrain) }
            return machine.batchApplied(batch, duplicates: result.duplicates.count, retrainBecameRequired: result.retrainBecameRequired)
        }

        /// Releases every model whose cadence is due (in practice its timer: an update the count falls on was released
        /// in its own snapshot) or that `unlearnctl release` asked for; true when a release raised a limit (the alert
        /// is sent here).
        func releaseDue() async throws -> Bool {
            let options = configuration.unlearning
            let policy = configuration.budget
            let cadence = self.cadence
            let made: [(String, ModelRuntime.Applied)] = try await pipeline.engine.run { [runtimes = pipeline.runtimes, logger] in
                var made: [(String, ModelRuntime.Applied)] = []
                for runtime in runtimes.all {
                    let requested = runtime.releaseRequested
                    guard requested || runtime.releaseDue(cadence) else { continue }
                    do {
                        if let applied = try runtime.releaseNow(options: options, policy: policy) {
                            made.append((runtime.id, applied))
                        } else if requested {
                            logger.notice("Release requested with no update waiting; nothing released", metadata: [LogKey.model: "\(runtime.id)"])
                        }
                        runtime.clearReleaseRequest()
                    } catch let stale as ModelRuntime.Stale {
                        logger.warning(
                            "Snapshot was stale; reloaded, the release waits for the next tick",
                            metadata: [LogKey.model: "\(runtime.id)", LogKey.error: "\(stale)"]
                        )
                    } catch let error as CheckpointError where error.code == .fsyncFailed {
                        throw DaemonExit.fsyncFailed(error.reason)
                    }
                }
                return made
            }
            var limited = false
            for (model, applied) in made {
                try await released(model, applied)
                if applied.retrainBecameRequired {
                    try await sendAlert(model)
                    limited = true
                }
            }
            return limited
        }

        /// Logs a release (or its refusal) and publishes its receipt (deterministic event id).
        func released(_ model: String, _ result: ModelRuntime.Applied) async throws {
            guard let release = result.release else { return }
            guard release.released, let receipt = result.receipt else {
                logger.warning(
                    "Release refused; the weights served stay the previous release's",
                    metadata: [
                        LogKey.model: "\(model)", LogKey.snapshotVersion: "\(result.version)",
                        LogKey.reasons: "\(release.reasonsRaised.map(\.rawValue))", LogKey.residualBound: "\(release.residualBound)",
                    ]
                )
                return
            }
            pipeline.metrics.released(model: model, requests: receipt.requestIDs.count)
            try await sendReceipt(receipt)
            logger.notice(
                "Released model",
                metadata: [
                    LogKey.model: "\(model)", LogKey.snapshotVersion: "\(result.version)", LogKey.requests: "\(receipt.requestIDs.count)",
                    LogKey.sigma: "\(release.sigma)", LogKey.residualBound: "\(release.residualBound)",
                    LogKey.epsilon: "\(release.epsilonSpent)", "unlearnd.certified": "\(release.certified)",
                ]
            )
        }

        func sendReceipt(_ receipt: ReleaseEvent) async throws {
            try await sendReliably(topic: configuration.receiptsTopic, key: Array(receipt.model.utf8), value: try receipt.encoded())
        }

        /// At start (`reloading: false`): every model's released file is made to hold the served weights, and the
        /// receipt of each model's newest release is sent again (same event id; consumers de-duplicate), as a crash may
        /// have come between the release's snapshot and the receipt's delivery. With `reloading`, every model is
        /// reloaded first, and only those whose newest release changed (another writer made it) get both.
        func sendNewestReceipts(reloading: Bool) async throws {
            let policy = configuration.budget
            let receipts: [ReleaseEvent] = try await pipeline.engine.run { [runtimes = pipeline.runtimes] in
                var receipts: [ReleaseEvent] = []
                for runtime in runtimes.all {
                    if reloading {
                        let before = runtime.receipt(policy: policy)?.eventID
                        try runtime.reload()
                        guard let after = runtime.receipt(policy: policy)?.eventID, after != before else { continue }
                    }
                    try runtime.writeReleasedFile()
                    if let receipt = runtime.receipt(policy: policy) { receipts.append(receipt) }
                }
                return receipts
            }
            for receipt in receipts { try await sendReceipt(receipt) }
        }

        /// Sends the original bytes to the dead-letter topic with the reason in headers and waits for the delivery
        /// report; what happens when that fails is `PublishRetry.deadLetter`'s decision (section 4.4).
        func deadLetter(_ letter: DeadLetter) async throws {
            let reason = letter.reason
            pipeline.metrics.rejected(code: reason.code)
            // The reason code only: the message (producer-free, but long) is in the dead letter's headers.
            logger.warning(
                "Rejected a deletion request",
                metadata: [LogKey.reason: "\(reason.code)", LogKey.partition: "\(letter.source.partition)", LogKey.offset: "\(letter.source.offset)"]
            )
            logger.debug("Rejection detail", metadata: [LogKey.reason: "\(reason.code)", LogKey.error: "\(reason.message)"])
            let topic = configuration.deadLetterTopic
            var current = letter
            var transientFailures = 0
            while true {
                let failure: PublishRetry.Failure
                do {
                    _ = try await producer.send(topic: topic, key: current.key, value: current.value, headers: current.headers)
                    return
                } catch let error as KafkaError where error.librdkafkaError?.isPermanentForProduce == true {
                    failure = .permanent(error.librdkafkaError?.name ?? "\(error.code)")
                } catch {
                    transientFailures += 1
                    if PublishRetry.shouldLog(failures: transientFailures) {
                        logger.error("Publishing a dead letter failed; retrying", metadata: [LogKey.topic: "\(topic)", LogKey.error: "\(error)"])
                    }
                    failure = .transient((error as? KafkaError)?.librdkafkaError?.name ?? "unreachable")
                }
                let step = PublishRetry.deadLetter(
                    after: failure, transientFailures: transientFailures, sentWithoutPayload: current.key == nil && current.value == nil,
                    stopping: pipeline.isStopping
                )
                switch step {
                case .resendWithoutPayload:
                    if case .permanent(let name) = failure {
                        logger.error(
                            "The broker refused a dead letter; sending it again without its payload",
                            metadata: [LogKey.topic: "\(topic)", LogKey.error: "\(name)"]
                        )
                    }
                    current = current.withoutPayload()
                case .recordLocally(let error):
                    try recordLocally(letter, error: error)
                    return
                case .retry(let milliseconds):
                    try await Task.sleep(for: .milliseconds(milliseconds))
                }
            }
        }

        func recordLocally(_ letter: DeadLetter, error: String) throws {
            let file = DeadLetterFile(stateDirectory: configuration.stateDirectory)
            do {
                try file.append(letter, topic: configuration.deadLetterTopic, error: error)
            } catch let failure {
                if failure.fsyncFailed { throw DaemonExit.fsyncFailed(failure.description) }
                throw failure
            }
            pipeline.metrics.deadLetterRecordedLocally(code: letter.reason.code)
            logger.error(
                "A dead letter could not be published; recorded in the local dead-letter file",
                metadata: [
                    LogKey.reason: "\(letter.reason.code)", LogKey.partition: "\(letter.source.partition)",
                    LogKey.offset: "\(letter.source.offset)", LogKey.error: "\(error)", LogKey.path: "\(file.path)",
                ]
            )
        }

        /// Publishes the retrain-required event of a model's current epoch (deterministic alert id).
        func sendAlert(_ model: String) async throws {
            let policy = configuration.budget
            let event: RetrainEvent? = try await pipeline.engine.run { [runtimes = pipeline.runtimes] in
                guard let runtime = runtimes.get(model), runtime.state.budget.retrainRequired else { return nil }
                try runtime.writeExclusionList()
                let budget = runtime.state.budget
                return RetrainEvent(
                    alertID: RetrainEvent.alertID(model: model, epoch: runtime.manifest.budgetEpoch), model: model,
                    reasons: budget.retrainReasons.map(\.rawValue), epsilonSpent: budget.epsilonSpent(delta: policy.delta),
                    epsilonBudget: policy.epsilonBudget, removalsSinceBase: budget.removedRows,
                    residualRows: runtime.state.residualCount, snapshotVersion: Int(runtime.manifest.version),
                    snapshotSHA256: runtime.snapshotSHA256, tombstonesFile: runtime.exclusionListPath,
                    emittedAt: RFC3339.format(Date())
                )
            }
            guard let event else { return }
            try await sendReliably(topic: configuration.alertsTopic, key: Array(model.utf8), value: try event.encoded())
            logger.notice(
                "Retrain required: alert published; approximate updates stop until a retrained base is installed",
                metadata: [LogKey.model: "\(model)", LogKey.alertID: "\(event.alertID)", LogKey.reasons: "\(event.reasons)"]
            )
        }

        /// Publishes an event, retrying while the brokers are unreachable (`PublishRetry.alert`): alerts and receipts
        /// are sent again at start with the same id, so giving up while stopping loses nothing.
        func sendReliably(topic: String, key: [UInt8], value: [UInt8]) async throws {
            var failures = 0
            while true {
                do {
                    try await producer.send(topic: topic, key: key, value: value, headers: [])
                    return
                } catch {
                    failures += 1
                    if PublishRetry.shouldLog(failures: failures) {
                        logger.error("Publishing failed; retrying", metadata: [LogKey.topic: "\(topic)", LogKey.error: "\(error)"])
                    }
                    guard let milliseconds = PublishRetry.alert(failures: failures, stopping: pipeline.isStopping) else { throw error }
                    try await Task.sleep(for: .milliseconds(milliseconds))
                }
            }
        }

        func writeMetrics() async {
            await pipeline.publishModelMetrics()
            guard !configuration.metricsTextfile.isEmpty else { return }
            let path =
                configuration.metricsTextfile.hasPrefix("/")
                ? configuration.metricsTextfile
                : (configuration.stateDirectory as NSString).appendingPathComponent(configuration.metricsTextfile)
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            do { try pipeline.metrics.writeTextfile(path) } catch {
                logger.warning("Writing the metrics file failed", metadata: [LogKey.error: "\(error)"])
            }
        }

        /// Logs, metrics and status lines for the machine's decisions (docs/ARCHITECTURE.md, section 5).
        func note(_ notice: PipelineAction.Notice) {
            switch notice {
            case .duplicate(let model, let requestID):
                pipeline.metrics.duplicate(model: model)
                logger.debug("Duplicate request ignored", metadata: [LogKey.model: "\(model)", LogKey.requestID: "\(requestID)"])
            case .partitionsAssigned(let partitions):
                logger.notice("Partitions assigned", metadata: [LogKey.partition: "\(partitions)"])
            case .partitionsRevoked(let partitions, let dropped):
                logger.notice(
                    "Partitions revoked",
                    metadata: [LogKey.partition: "\(partitions)", LogKey.requests: "\(dropped) pending requests left to the next owner"]
                )
            case .consumerLag(let partition, let messages):
                pipeline.metrics.lag(partition: partition, messages: messages)
            case .brokersDown(let error):
                pipeline.metrics.brokersDown(true)
                logger.error("All Kafka brokers are down; waiting for them to come back", metadata: [LogKey.error: "\(error)"])
                pipeline.notifier.status("Kafka brokers down: waiting; no request is lost")
            case .brokersUp:
                pipeline.metrics.brokersDown(false)
                logger.notice("Kafka brokers are reachable again")
            case .kafkaError(let error):
                logger.warning("Kafka reported an error", metadata: [LogKey.error: "\(error)"])
            case .batchAbandoned(let model):
                logger.error("Batch kept meeting newer snapshots; leaving it for a replay", metadata: [LogKey.model: "\(model)"])
            case .finishingBatches(let requests):
                logger.notice("Finishing batches in flight before exit", metadata: [LogKey.requests: "\(requests)"])
            }
        }
    }
}
