import Checkpoints
import KafkaLog

/// The pipeline's decisions (docs/ARCHITECTURE.md, section 4) with no I/O: it is told what happened and returns what
/// to do, as `PipelineAction`s the loop performs in order, reporting each result back.
///
/// It owns the offsets still in flight (`OffsetTracker`), the open batches (`Batcher`), the assigned partitions,
/// broker health, the counters and the models' retrain state. Its rules:
/// - one batch is applied at a time, and commits and status reports wait until nothing is in flight, so a commit
///   never passes a request that is neither in a durable snapshot nor dead-lettered (section 4.1);
/// - a rejected message's offset stays in flight until its dead letter is delivered (section 4.4);
/// - a request id already applied or waiting in a batch is a duplicate;
/// - revoked partitions lose their pending requests and offsets; an assignment reloads the models (section 4.2).
struct PipelineStateMachine {
    /// How a request resolved against its model (the loop's answer to `PipelineAction.resolve`).
    enum Resolution: Sendable {
        /// The model's ledger already holds the request id.
        case alreadyApplied
        /// The training rows still to remove (rows removed earlier do not count towards the batch size).
        case rows([Int])
        /// The request selects nothing valid in this model.
        case rejected(RejectionReason)
    }

    /// Apply attempts that meet a newer snapshot before the batch is left for a replay.
    static let applyAttempts = 5

    let topic: String
    /// The models this daemon serves; requests for others are dead-lettered.
    let models: Set<String>
    let statusIntervalNanoseconds: UInt64

    private(set) var tracker: OffsetTracker
    private(set) var batcher: Batcher
    private(set) var assigned: Set<Int32> = []
    private(set) var brokersDown = false
    private(set) var retrainRequired: Set<String> = []
    private(set) var applied = 0
    private(set) var rejected = 0
    private(set) var duplicates = 0

    /// Batches taken from the batcher, waiting for the one in flight to finish.
    private var ready: [PendingBatch] = []
    private var inFlight: (batch: PendingBatch, attempt: Int)?
    /// Set with the status interval: the loop checks the models' release timers and `unlearnctl release` requests.
    private var releaseCheckWanted = false
    private var deadLettersInFlight = 0
    private var commitWanted = false
    private var statusWanted = false
    private var lastStatus: UInt64?
    private var lastTick: UInt64 = 0

    init(topic: String, models: Set<String>, batcher: Batcher, statusIntervalMilliseconds: Int) {
        self.topic = topic
        self.models = models
        self.batcher = batcher
        self.tracker = OffsetTracker(topic: topic)
        self.statusIntervalNanoseconds = UInt64(max(100, statusIntervalMilliseconds)) * 1_000_000
    }

    /// At start: models already waiting for a retrain get their alert again (same alert id; consumers
    /// de-duplicate), since a crash may have come between the snapshot and the delivery.
    mutating func started(retrainRequired models: Set<String>) -> [PipelineAction] {
        retrainRequired = models
        return models.sorted().map { .publishAlert(model: $0) }
    }

    // MARK: Intake

    /// A message from the deletions topic: decode and check it, then resolve it or dead-letter it.
    mutating func received(_ message: KafkaMessage) -> [PipelineAction] {
        tracker.received(partition: message.partition, offset: message.offset)
        let request: DeletionRequest
        switch DeletionRequestDecoder.decode(message.value) {
        case .failure(let reason): return reject(message, reason)
        case .success(let decoded): request = decoded
        }
        if let key = message.key, String(decoding: key, as: UTF8.self) != request.model {
            return reject(
                message,
                RejectionReason(
                    RejectionReason.keyMismatch,
                    "the message key differs from the request's model; key deletion requests by model id so one daemon owns each model"
                ))
        }
        guard models.contains(request.model) else {
            return reject(
                message,
                RejectionReason(
                    RejectionReason.unknownModel,
                    "the request's model is not registered with this daemon group; register it in the models list or fix the model id"
                ))
        }
        return [.resolve(request, from: message)]
    }

    /// The model's answer for a decoded request: a duplicate is done, a bad selection is dead-lettered, rows join
    /// their batch (which is applied when full). `now` is monotonic nanoseconds, for the batch's age.
    mutating func resolved(_ request: DeletionRequest, from message: KafkaMessage, as resolution: Resolution, now: UInt64) -> [PipelineAction] {
        let waiting = isWaiting(request)
        switch resolution {
        case .alreadyApplied:
            return duplicate(request, message)
        case _ where waiting:
            return duplicate(request, message)
        case .rejected(let reason):
            return reject(message, reason)
        case .rows(let rows):
            let pending = PendingRequest(
                request: request, rows: rows, topic: message.topic, partition: message.partition, offset: message.offset,
                receivedAt: now
            )
            if let full = batcher.add(pending) { ready.append(full) }
            return next()
        }
    }

    /// The dead letter is in the dead-letter topic or the local file: its source offset may be committed.
    mutating func deadLetterDelivered(_ letter: DeadLetter) -> [PipelineAction] {
        tracker.done(partition: letter.source.partition, offset: letter.source.offset)
        deadLettersInFlight -= 1
        return next()
    }

    private mutating func reject(_ message: KafkaMessage, _ reason: RejectionReason) -> [PipelineAction] {
        rejected += 1
        deadLettersInFlight += 1
        return [.deadLetter(DeadLetter(message, reason: reason))]
    }

    /// True when the request id waits in a batch not yet durable (open, ready or in flight).
    private func isWaiting(_ request: DeletionRequest) -> Bool {
        if batcher.contains(requestID: request.requestID, model: request.model) { return true }
        let id = ExactText(request.requestID)
        let queued = ready + (inFlight.map { [$0.batch] } ?? [])
        return queued.contains { $0.model == request.model && $0.requests.contains { ExactText($0.request.requestID) == id } }
    }

    private mutating func duplicate(_ request: DeletionRequest, _ message: KafkaMessage) -> [PipelineAction] {
        duplicates += 1
        tracker.done(partition: message.partition, offset: message.offset)
        return [.notice(.duplicate(model: request.model, requestID: request.requestID))]
    }

    // MARK: Batches

    /// The batch's snapshot is durable. `duplicates` were found applied by the engine itself (another writer);
    /// `retrainBecameRequired` starts the model's retrain alert.
    mutating func batchApplied(_ batch: PendingBatch, duplicates found: Int, retrainBecameRequired: Bool) -> [PipelineAction] {
        inFlight = nil
        for p in batch.requests { tracker.done(partition: p.partition, offset: p.offset) }
        applied += batch.requests.count - found
        duplicates += found
        var actions: [PipelineAction] = []
        if retrainBecameRequired {
            retrainRequired.insert(batch.model)
            actions.append(.publishAlert(model: batch.model))
        }
        return actions + next()
    }

    /// Another writer's snapshot was newer; the runtime reloaded it. The batch is tried again, with offsets computed
    /// afresh, up to `applyAttempts` times, then left unacknowledged: its offsets stay in flight, so the commit stops
    /// below them and the requests are read again after a restart or rebalance.
    mutating func batchStale(_ batch: PendingBatch) -> [PipelineAction] {
        let attempt = (inFlight?.attempt ?? 1) + 1
        guard attempt <= Self.applyAttempts else {
            inFlight = nil
            return [.notice(.batchAbandoned(model: batch.model))] + next()
        }
        inFlight = (batch, attempt)
        return [.apply(batch, safeOffsets: safeOffsets(for: batch), attempt: attempt)]
    }

    /// Valid requests the engine cannot apply (e.g. they would remove every remaining row): each is dead-lettered.
    mutating func batchCannotApply(_ batch: PendingBatch, reason: String) -> [PipelineAction] {
        inFlight = nil
        let key = Array(batch.model.utf8)
        var actions: [PipelineAction] = []
        for p in batch.requests {
            let message = KafkaMessage(
                topic: p.topic, partition: p.partition, offset: p.offset, key: key, value: p.request.encoded(), headers: []
            )
            actions += reject(message, RejectionReason("cannot_apply", reason))
        }
        return actions + next()
    }

    // MARK: Offsets, partitions, brokers

    /// The offsets are committed in Kafka.
    mutating func committed(_ offsets: [KafkaTopicPartitionOffset]) {
        for o in offsets where o.topic == topic { tracker.markCommitted(o.partition, o.offset) }
    }

    mutating func assigned(_ partitions: [KafkaTopicPartitionOffset]) -> [PipelineAction] {
        let ours = partitions.filter { $0.topic == topic }.map(\.partition)
        assigned.formUnion(ours)
        return [.notice(.partitionsAssigned(ours.sorted())), .reload]
    }

    /// Revoked partitions' pending requests and offsets are dropped: the next owner reads them again, and their
    /// commits would fail now.
    mutating func revoked(_ partitions: [KafkaTopicPartition]) -> [PipelineAction] {
        let ours = Set(partitions.filter { $0.topic == topic }.map(\.partition))
        var dropped = batcher.drop(partitions: ours)
        for (i, batch) in ready.enumerated().reversed() {
            var kept = batch
            kept.requests.removeAll { ours.contains($0.partition) }
            dropped += batch.requests.count - kept.requests.count
            kept.rowCount = kept.requests.reduce(0) { $0 + $1.rows.count }
            if kept.requests.isEmpty { ready.remove(at: i) } else { ready[i] = kept }
        }
        for p in ours { tracker.forget(p) }
        assigned.subtract(ours)
        return [.notice(.partitionsRevoked(ours.sorted(), droppedRequests: dropped))]
    }

    /// The models' current retrain state, after a reload or an apply (another writer or a rebase may change it).
    mutating func retrainRequired(_ models: Set<String>) {
        retrainRequired = models
    }

    /// Lag per partition from librdkafka's statistics, for the partitions this member owns.
    func statistics(_ statistics: KafkaStatistics) -> [PipelineAction] {
        statistics.partitions.compactMap { partition in
            let tp = partition.topicPartition
            guard tp.topic == topic, assigned.contains(tp.partition), let lag = partition.consumerLag, lag >= 0 else { return nil }
            return .notice(.consumerLag(partition: tp.partition, messages: lag))
        }
    }

    /// An error event; `allBrokersDown` is the client's health right after it.
    mutating func kafkaError(_ error: KafkaError, allBrokersDown: Bool) -> [PipelineAction] {
        guard allBrokersDown != brokersDown else { return [.notice(.kafkaError(error))] }
        brokersDown = allBrokersDown
        if allBrokersDown { return [.notice(.brokersDown(error))] }
        return recovered()
    }

    /// The client's broker health after any event: brokers that came back are announced with a fresh status.
    mutating func brokerHealth(allBrokersDown: Bool) -> [PipelineAction] {
        guard brokersDown && !allBrokersDown else { return [] }
        brokersDown = false
        return recovered()
    }

    private mutating func recovered() -> [PipelineAction] {
        statusWanted = true
        return [.notice(.brokersUp)] + next()
    }

    // MARK: Time and shutdown

    /// One round of the loop: apply the batches that waited `max_wait_ms`, then commit, and report the status when
    /// the metrics interval passed. `now` is monotonic nanoseconds.
    mutating func tick(now: UInt64) -> [PipelineAction] {
        lastTick = now
        ready += batcher.takeDue(now: now)
        commitWanted = true
        if lastStatus.map({ now &- $0 >= statusIntervalNanoseconds }) ?? true {
            statusWanted = true
            releaseCheckWanted = true
        }
        return next()
    }

    /// Graceful stop (section 4.6): every pending batch is applied, then the offsets are committed and the status
    /// reported.
    mutating func shutdown() -> [PipelineAction] {
        let pending = batcher.takeAll()
        ready += pending
        commitWanted = true
        statusWanted = true
        let waiting = ready.reduce(0) { $0 + $1.requests.count }
        let notice: [PipelineAction] = waiting > 0 ? [.notice(.finishingBatches(requests: waiting))] : []
        return notice + next()
    }

    /// The status line systemd shows (`systemctl status`).
    var status: String {
        var text = "applied \(applied), rejected \(rejected), duplicates \(duplicates), pending \(batcher.pendingRequests)"
        if !retrainRequired.isEmpty { text += "; retrain required: \(retrainRequired.sorted().joined(separator: ","))" }
        if brokersDown { text += "; Kafka brokers down" }
        return text
    }

    // MARK: Scheduling

    /// What follows once nothing is in flight: the next ready batch, else the wanted commit and status report.
    private mutating func next() -> [PipelineAction] {
        guard inFlight == nil, deadLettersInFlight == 0 else { return [] }
        if !ready.isEmpty {
            // Every ready batch of the model goes into one update: when requests queue up behind a running update,
            // the next one covers all the subjects waiting (section 4.7). `batch.group_by = request` keeps each
            // request its own update.
            var batch = ready.removeFirst()
            if !batcher.groupByRequest {
                for other in ready where other.model == batch.model {
                    batch.requests += other.requests
                    batch.rowCount += other.rowCount
                }
                ready.removeAll { $0.model == batch.model }
            }
            inFlight = (batch, 1)
            return [.apply(batch, safeOffsets: safeOffsets(for: batch), attempt: 1)]
        }
        var actions: [PipelineAction] = []
        if releaseCheckWanted {
            releaseCheckWanted = false
            actions.append(.releaseDue)
        }
        if commitWanted {
            commitWanted = false
            let offsets = tracker.pendingCommits().filter { assigned.contains($0.0) }
            if !offsets.isEmpty {
                actions.append(.commit(offsets.map { KafkaTopicPartitionOffset(topic: topic, partition: $0.0, offset: $0.1) }))
            }
        }
        if statusWanted {
            statusWanted = false
            lastStatus = lastTick
            actions += [.reportStatus(status), .writeMetrics]
        }
        return actions
    }

    /// The offsets the batch's snapshot records: committable once this batch is durable, and below every other
    /// request still in flight.
    private func safeOffsets(for batch: PendingBatch) -> [SnapshotManifest.KafkaOffset] {
        tracker.safeOffsets(excluding: batch.requests.map { ($0.partition, $0.offset) })
    }
}
