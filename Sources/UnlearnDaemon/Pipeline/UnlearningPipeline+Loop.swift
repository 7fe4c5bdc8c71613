import Checkpoints
import Foundation
import KafkaLog
import Logging
import UnlearningCore

extension UnlearningPipeline {
    /// The consume-batch-apply-commit loop and its mutable state (owned by the pipeline's single task).
    struct Loop {
        let pipeline: UnlearningPipeline
        let consumer: KafkaConsumer
        let producer: KafkaProducer
        var tracker: OffsetTracker
        var batcher: Batcher
        var lastPeriodic: UInt64 = 0
        var applied = 0
        var rejected = 0
        var duplicates = 0
        var assigned: Set<Int32> = []
        var brokersDown = false

        init(pipeline: UnlearningPipeline, consumer: KafkaConsumer, producer: KafkaProducer) {
            self.pipeline = pipeline
            self.consumer = consumer
            self.producer = producer
            let c = pipeline.configuration
            tracker = OffsetTracker(topic: c.deletionsTopic)
            batcher = Batcher(maxRows: c.batchMaxRows, maxWaitMilliseconds: c.batchMaxWaitMilliseconds, groupByRequest: c.batchGroupBy == "request")
        }

        var logger: Logger { pipeline.logger }
        var configuration: DaemonConfiguration { pipeline.configuration }
        static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

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
                    try await handle(event)
                }
                for batch in Self.merged(batcher.takeDue(now: Self.now())) {
                    try await flush(batch)
                }
                try await releaseDue()
                await commit()
                await periodic(force: false)
            }
        }

        /// Graceful stop: stop fetching, make every batch in flight durable, commit.
        mutating func shutdown() async throws {
            let pending = batcher.takeAll()
            if !pending.isEmpty {
                logger.notice("Finishing batches in flight before exit", metadata: [LogKey.requests: "\(pending.reduce(0) { $0 + $1.requests.count })"])
            }
            for batch in pending { try await flush(batch) }
            await commit()
            await periodic(force: true)
        }

        mutating func handle(_ event: KafkaConsumerEvent) async throws {
            switch event {
            case .message(let message):
                try await intake(message)
            case .assigned(let partitions):
                let ours = partitions.filter { $0.topic == configuration.deletionsTopic }.map(\.partition)
                assigned.formUnion(ours)
                logger.notice("Partitions assigned", metadata: [LogKey.partition: "\(ours.sorted())"])
                // Another daemon may have written newer snapshots while it owned these partitions.
                try await reloadAll()
            case .revoked(let partitions):
                let ours = Set(partitions.filter { $0.topic == configuration.deletionsTopic }.map(\.partition))
                let dropped = batcher.drop(partitions: ours)
                for p in ours { tracker.forget(p) }
                assigned.subtract(ours)
                logger.notice("Partitions revoked", metadata: [LogKey.partition: "\(ours.sorted())", LogKey.requests: "\(dropped) pending requests left to the next owner"])
            case .statistics(let statistics):
                for partition in statistics.partitions where partition.topicPartition.topic == configuration.deletionsTopic && assigned.contains(partition.topicPartition.partition) {
                    if let lag = partition.consumerLag, lag >= 0 { pipeline.metrics.lag(partition: partition.topicPartition.partition, messages: lag) }
                }
            case .error(let error):
                let down = consumer.health.allBrokersDown
                if down != brokersDown {
                    brokersDown = down
                    pipeline.metrics.brokersDown(down)
                    if down {
                        logger.error("All Kafka brokers are down; waiting for them to come back", metadata: [LogKey.error: "\(error)"])
                        pipeline.notifier.status("Kafka brokers down: waiting; no request is lost")
                    }
                } else {
                    logger.warning("Kafka reported an error", metadata: [LogKey.error: "\(error)"])
                }
            case .partitionEOF:
                break
            }
            if brokersDown && !consumer.health.allBrokersDown {
                brokersDown = false
                pipeline.metrics.brokersDown(false)
                logger.notice("Kafka brokers are reachable again")
                await periodic(force: true)
            }
        }

        mutating func reloadAll() async throws {
            try await pipeline.engine.run { [runtimes = pipeline.runtimes] in
                for runtime in runtimes.all { try runtime.reload() }
            }
            await pipeline.updateOffsetBook()
        }

        mutating func intake(_ message: KafkaMessage) async throws {
            pipeline.metrics.consumed()
            tracker.received(partition: message.partition, offset: message.offset)
            let request: DeletionRequest
            switch DeletionRequestDecoder.decode(message.value) {
            case .failure(let reason):
                try await deadLetter(message, reason)
                return
            case .success(let r):
                request = r
            }
            if let key = message.key, String(decoding: key, as: UTF8.self) != request.model {
                try await deadLetter(message, RejectionReason(RejectionReason.keyMismatch, "the message key differs from the request's model; key deletion requests by model id so one daemon owns each model"))
                return
            }
            guard pipeline.runtimes.ids.contains(request.model) else {
                try await deadLetter(message, RejectionReason(RejectionReason.unknownModel, "the request's model is not registered with this daemon group; register it in the models list or fix the model id"))
                return
            }
            let model = request.model
            let resolved: (duplicate: Bool, rows: Result<[Int], RejectionReason>) = try await pipeline.engine.run { [runtimes = pipeline.runtimes] in
                guard let runtime = runtimes.get(model) else { return (false, .failure(RejectionReason(RejectionReason.unknownModel, "model is not loaded"))) }
                if runtime.isApplied(request.requestID) { return (true, .success([])) }
                // Rows removed earlier do not count towards the batch size (a repeated class deletion is a no-op).
                let removed = runtime.state.removed
                return (false, runtime.index.rows(for: request.scope).map { rows in rows.filter { !removed[$0] } })
            }
            if resolved.duplicate || batcher.contains(requestID: request.requestID, model: model) {
                duplicates += 1
                pipeline.metrics.duplicate(model: model)
                logger.debug("Duplicate request ignored", metadata: [LogKey.model: "\(model)", LogKey.requestID: "\(request.requestID)"])
                tracker.done(partition: message.partition, offset: message.offset)
                return
            }
            switch resolved.rows {
            case .failure(let reason):
                try await deadLetter(message, reason)
            case .success(let rows):
                let pending = PendingRequest(
                    request: request, rows: rows, topic: message.topic, partition: message.partition, offset: message.offset,
                    receivedAt: Self.now()
                )
                if let full = batcher.add(pending) { try await flush(full) }
            }
        }

        /// Sends the original bytes to the dead-letter topic with the reason in headers and waits for the delivery
        /// report, then lets the offset go. The offset always advances: a letter the broker refuses for good (too
        /// large, not authorised, no such topic) is sent again without its payload, and if that is refused too, or
        /// the daemon is stopping while brokers are down, it is appended to the local dead-letter file instead.
        mutating func deadLetter(_ message: KafkaMessage, _ reason: RejectionReason) async throws {
            rejected += 1
            pipeline.metrics.rejected(code: reason.code)
            // The reason code only: the message (producer-free, but long) is in the dead letter's headers.
            logger.warning(
                "Rejected a deletion request",
                metadata: [LogKey.reason: "\(reason.code)", LogKey.partition: "\(message.partition)", LogKey.offset: "\(message.offset)"]
            )
            logger.debug("Rejection detail", metadata: [LogKey.reason: "\(reason.code)", LogKey.error: "\(reason.message)"])
            let letter = DeadLetter(message, reason: reason)
            try await publish(letter)
            tracker.done(partition: message.partition, offset: message.offset)
        }

        /// Publishes a dead letter, or records it durably in the local dead-letter file (see `deadLetter`).
        func publish(_ letter: DeadLetter) async throws {
            let topic = configuration.deadLetterTopic
            var attempt = 0
            var current = letter
            while true {
                do {
                    _ = try await producer.send(topic: topic, key: current.key, value: current.value, headers: current.headers)
                    return
                } catch let error as KafkaError where error.librdkafkaError?.isPermanentForProduce == true {
                    if current.value != nil || current.key != nil {
                        logger.error(
                            "The broker refused a dead letter; sending it again without its payload",
                            metadata: [LogKey.topic: "\(topic)", LogKey.error: "\(error.librdkafkaError?.name ?? "")"]
                        )
                        current = current.withoutPayload()
                        continue
                    }
                    try recordLocally(letter, error: error.librdkafkaError?.name ?? "\(error.code)")
                    return
                } catch {
                    attempt += 1
                    if attempt == 1 || attempt % 10 == 0 {
                        logger.error("Publishing a dead letter failed; retrying", metadata: [LogKey.topic: "\(topic)", LogKey.error: "\(error)"])
                    }
                    if attempt >= 3 && pipeline.isStopping {
                        try recordLocally(letter, error: (error as? KafkaError)?.librdkafkaError?.name ?? "unreachable")
                        return
                    }
                    try await Task.sleep(for: .milliseconds(min(2000, 100 * attempt)))
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

        func sendReliably(topic: String, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader]) async throws {
            var attempt = 0
            while true {
                do {
                    try await producer.send(topic: topic, key: key, value: value, headers: headers)
                    return
                } catch {
                    attempt += 1
                    if attempt == 1 || attempt % 10 == 0 {
                        logger.error("Publishing failed; retrying", metadata: [LogKey.topic: "\(topic)", LogKey.error: "\(error)"])
                    }
                    if attempt > 3 && pipeline.isStopping { throw error }
                    try await Task.sleep(for: .milliseconds(min(2000, 100 * attempt)))
                }
            }
        }

        /// Batches of one model that are due together become one update: when requests queue up behind a running
        /// update, the next one covers every subject waiting (the order of models is kept).
        static func merged(_ batches: [PendingBatch]) -> [PendingBatch] {
            var order: [String] = []
            var byModel: [String: PendingBatch] = [:]
            for batch in batches {
                if var existing = byModel[batch.model] {
                    existing.requests += batch.requests
                    existing.rowCount += batch.rowCount
                    byModel[batch.model] = existing
                } else {
                    order.append(batch.model)
                    byModel[batch.model] = batch
                }
            }
            return order.compactMap { byModel[$0] }
        }

        /// Applies a batch on the engine queue, retrying after a reload when another writer was faster. The update
        /// is released in the same snapshot when the cadence falls on it (docs/ARCHITECTURE.md, section 3.3).
        mutating func flush(_ batch: PendingBatch) async throws {
            let offsets = batch.requests.map { ($0.partition, $0.offset) }
            let safe = tracker.safeOffsets(excluding: offsets)
            let options = configuration.unlearning
            let policy = configuration.budget
            let cadence = (updates: configuration.releaseEveryUpdates, seconds: configuration.releaseEverySeconds)
            let model = batch.model
            var result: ModelRuntime.Applied?
            for attempt in 1...5 {
                do {
                    result = try await pipeline.engine.run { [runtimes = pipeline.runtimes] in
                        guard let runtime = runtimes.get(model) else { throw RejectionReason(RejectionReason.unknownModel, "model is not loaded") }
                        let waiting = runtime.unreleased.updates
                        let release = (cadence.updates > 0 && waiting + 1 >= cadence.updates)
                            || runtime.releaseDue(everyUpdates: 0, everySeconds: cadence.seconds) || runtime.releaseRequested
                        let applied = try runtime.apply(batch, options: options, policy: policy, safeOffsets: safe, release: release)
                        if applied.release != nil { runtime.clearReleaseRequest() }
                        return applied
                    }
                    break
                } catch let stale as ModelRuntime.Stale {
                    logger.warning("Snapshot was stale; reloaded and retrying", metadata: [LogKey.model: "\(model)", LogKey.error: "\(stale)", "attempt": "\(attempt)"])
                } catch let error as UnlearningError {
                    // Valid requests the engine cannot apply (e.g. they would remove every remaining row).
                    logger.error("Batch cannot be applied", metadata: [LogKey.model: "\(model)", LogKey.reason: "\(error.code.rawValue)"])
                    for p in batch.requests {
                        let message = KafkaMessage(topic: p.topic, partition: p.partition, offset: p.offset, key: Array(model.utf8), value: p.request.encoded(), headers: [])
                        try await deadLetter(message, RejectionReason("cannot_apply", error.reason))
                    }
                    return
                } catch let error as CheckpointError where error.code == .fsyncFailed {
                    // An fsync error is fatal: durability is unknown; systemd restarts us from the last good snapshot.
                    throw DaemonExit.fsyncFailed(error.reason)
                }
            }
            guard let result else {
                logger.error("Batch kept meeting newer snapshots; leaving it for a replay", metadata: [LogKey.model: "\(model)"])
                return
            }
            let now = Self.now()
            for p in batch.requests {
                tracker.done(partition: p.partition, offset: p.offset)
                pipeline.metrics.latency(seconds: Double(now &- p.receivedAt) / 1e9)
            }
            let appliedCount = batch.requests.count - result.duplicates.count
            applied += appliedCount
            duplicates += result.duplicates.count
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
                logger.info("Recorded requests with nothing left to remove", metadata: [LogKey.model: "\(model)", LogKey.snapshotVersion: "\(result.version)", LogKey.requests: "\(appliedCount)"])
            }
            await pipeline.updateOffsetBook()
            try await released(model, result)
            if result.retrainBecameRequired { try await sendAlert(model) }
        }

        /// Releases every model whose cadence timer ran out or that `unlearnctl release` asked for.
        mutating func releaseDue() async throws {
            let options = configuration.unlearning
            let policy = configuration.budget
            let seconds = configuration.releaseEverySeconds
            let made: [(String, ModelRuntime.Applied)] = try await pipeline.engine.run { [runtimes = pipeline.runtimes, logger] in
                var made: [(String, ModelRuntime.Applied)] = []
                for runtime in runtimes.all {
                    let requested = runtime.releaseRequested
                    guard requested || runtime.releaseDue(everyUpdates: 0, everySeconds: seconds) else { continue }
                    do {
                        if let applied = try runtime.releaseNow(options: options, policy: policy) {
                            made.append((runtime.id, applied))
                        } else if requested {
                            logger.notice("Release requested with no update waiting; nothing released", metadata: [LogKey.model: "\(runtime.id)"])
                        }
                        runtime.clearReleaseRequest()
                    } catch let stale as ModelRuntime.Stale {
                        logger.warning("Snapshot was stale; reloaded, the release waits for the next tick", metadata: [LogKey.model: "\(runtime.id)", LogKey.error: "\(stale)"])
                    } catch let error as CheckpointError where error.code == .fsyncFailed {
                        throw DaemonExit.fsyncFailed(error.reason)
                    }
                }
                return made
            }
            for (model, applied) in made {
                try await released(model, applied)
                if applied.retrainBecameRequired { try await sendAlert(model) }
            }
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
            try await sendReliably(topic: configuration.receiptsTopic, key: Array(receipt.model.utf8), value: try receipt.encoded(), headers: [])
        }

        /// At start: every model's released file is made to hold the served weights, and the receipt of each model's
        /// newest release is sent again (same event id; consumers de-duplicate): a crash may have come between the
        /// release's snapshot and the receipt's delivery.
        func resendPendingReceipts() async throws {
            let policy = configuration.budget
            let receipts: [ReleaseEvent] = try await pipeline.engine.run { [runtimes = pipeline.runtimes] in
                var receipts: [ReleaseEvent] = []
                for runtime in runtimes.all {
                    try runtime.writeReleasedFile()
                    if let receipt = runtime.receipt(policy: policy) { receipts.append(receipt) }
                }
                return receipts
            }
            for receipt in receipts { try await sendReceipt(receipt) }
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
            try await sendReliably(topic: configuration.alertsTopic, key: Array(model.utf8), value: try event.encoded(), headers: [])
            logger.notice(
                "Retrain required: alert published; approximate updates stop until a retrained base is installed",
                metadata: [LogKey.model: "\(model)", LogKey.alertID: "\(event.alertID)", LogKey.reasons: "\(event.reasons)"]
            )
        }

        /// At start: models already waiting for a retrain get their alert again (same alert id; consumers
        /// de-duplicate), since a crash may have come between the snapshot and the delivery.
        func resendPendingAlerts() async throws {
            for id in pipeline.runtimes.ids.sorted() {
                try await sendAlert(id)
            }
        }

        mutating func commit() async {
            let pending = tracker.pendingCommits().filter { assigned.contains($0.0) }
            guard !pending.isEmpty else { return }
            let offsets = pending.map { KafkaTopicPartitionOffset(topic: configuration.deletionsTopic, partition: $0.0, offset: $0.1) }
            do {
                try await consumer.commit(offsets)
                for (p, o) in pending { tracker.markCommitted(p, o) }
            } catch {
                logger.warning("Offset commit failed; will retry (requests are already durable)", metadata: [LogKey.error: "\(error)"])
            }
        }

        mutating func periodic(force: Bool) async {
            let now = Self.now()
            let interval = UInt64(max(100, configuration.metricsIntervalMilliseconds)) * 1_000_000
            guard force || now &- lastPeriodic >= interval else { return }
            lastPeriodic = now
            await pipeline.publishModelMetrics()
            let retrain = (try? await pipeline.engine.run { [runtimes = pipeline.runtimes] in
                runtimes.all.filter { $0.state.budget.retrainRequired }.map(\.id)
            }) ?? []
            var status = "applied \(applied), rejected \(rejected), duplicates \(duplicates), pending \(batcher.pendingRequests)"
            if !retrain.isEmpty { status += "; retrain required: \(retrain.joined(separator: ","))" }
            if brokersDown { status += "; Kafka brokers down" }
            pipeline.notifier.status(status)
            pipeline.notifier.watchdog()
            if !configuration.metricsTextfile.isEmpty {
                let path = configuration.metricsTextfile.hasPrefix("/")
                    ? configuration.metricsTextfile
                    : (configuration.stateDirectory as NSString).appendingPathComponent(configuration.metricsTextfile)
                try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                do { try pipeline.metrics.writeTextfile(path) } catch {
                    logger.warning("Writing the metrics file failed", metadata: [LogKey.error: "\(error)"])
                }
            }
        }
    }
}

extension RejectionReason {
    init(_ code: String, _ message: String, _: Void = ()) {
        self.code = code
        self.message = message
    }
}
