import Checkpoints
import KafkaLog
import Testing

@testable import UnlearnDaemon

/// The pipeline's decisions without Kafka or models: each test feeds events and checks the returned actions
/// against the rules of docs/ARCHITECTURE.md, section 4. Time is passed in as plain nanoseconds.
@Suite("Pipeline state machine")
struct PipelineStateMachineTests {
    static let topic = "unlearn.deletions"
    static let model = "model-a"
    /// `max_wait_ms` of the machines below.
    static let wait: UInt64 = 1_000 * 1_000_000

    static func machine(maxRows: Int = 10, models: Set<String> = [model], groupByRequest: Bool = false) -> PipelineStateMachine {
        PipelineStateMachine(
            topic: topic, models: models,
            batcher: Batcher(maxRows: maxRows, maxWaitMilliseconds: 1_000, groupByRequest: groupByRequest),
            statusIntervalMilliseconds: 10_000
        )
    }

    static func request(_ id: String, model: String = model, subject: String = "alice") -> DeletionRequest {
        DeletionRequest(requestID: id, model: model, scope: .subject(subject), requestedAt: "2026-11-27T12:00:00Z")
    }

    static func message(_ request: DeletionRequest, partition: Int32 = 0, offset: Int64) -> KafkaMessage {
        KafkaMessage(topic: topic, partition: partition, offset: offset, key: Array(request.model.utf8), value: request.encoded(), headers: [])
    }

    static func assign(_ machine: inout PipelineStateMachine, _ partitions: Int32...) {
        _ = machine.assigned(partitions.map { KafkaTopicPartitionOffset(topic: topic, partition: $0, offset: KafkaOffset.stored) })
    }

    /// Receives a valid message and answers its resolve action with `resolution`; returns what followed.
    static func deliver(
        _ machine: inout PipelineStateMachine, _ request: DeletionRequest, partition: Int32 = 0, offset: Int64,
        as resolution: PipelineStateMachine.Resolution = .rows([1]), now: UInt64 = 0
    ) -> [PipelineAction] {
        let message = message(request, partition: partition, offset: offset)
        let actions = machine.received(message)
        guard actions.count == 1, case .resolve(let resolved, let from) = actions[0] else {
            Issue.record("a valid request was not resolved: \(actions)")
            return []
        }
        #expect(resolved == request && from == message)
        return machine.resolved(request, from: message, as: resolution, now: now)
    }

    // MARK: Merging

    @Test("batches of one model due together become one update; other models and group_by request stay apart")
    func mergesReadyBatches() throws {
        var m = Self.machine(models: [Self.model, "model-b"])
        Self.assign(&m, 0)
        _ = Self.deliver(&m, Self.request("a1", subject: "alice"), offset: 0)
        _ = Self.deliver(&m, Self.request("b1", subject: "bob"), offset: 1)
        _ = Self.deliver(&m, Self.request("c1", model: "model-b", subject: "carol"), offset: 2)
        // One update in flight at a time: the first, reported applied, lets the second go.
        let first = try #require(m.tick(now: Self.wait).applies.first?.batch)
        let second = try #require(m.batchApplied(first, duplicates: 0, retrainBecameRequired: false).applies.first?.batch)
        let byModel = Dictionary(uniqueKeysWithValues: [first, second].map { ($0.model, Set($0.requestIDs)) })
        #expect(byModel == [Self.model: ["a1", "b1"], "model-b": ["c1"]])

        var apart = Self.machine(groupByRequest: true)
        Self.assign(&apart, 0)
        _ = Self.deliver(&apart, Self.request("a1", subject: "alice"), offset: 0)
        _ = Self.deliver(&apart, Self.request("b1", subject: "bob"), offset: 1)
        #expect(apart.tick(now: Self.wait).applies.first?.batch.requestIDs.count == 1)
    }

    // MARK: Dedupe

    @Test("the same request id twice while its batch is open: the second is a duplicate, the batch holds one request")
    func duplicateInBatch() {
        var m = Self.machine()
        Self.assign(&m, 0)
        #expect(Self.deliver(&m, Self.request("r1"), offset: 0).isEmpty)
        let again = Self.deliver(&m, Self.request("r1"), offset: 1)
        #expect(again.duplicates == ["r1"])
        #expect(m.duplicates == 1)
        let due = m.tick(now: Self.wait)
        #expect(due.applies.count == 1)
        #expect(due.applies.first?.batch.requestIDs == ["r1"])
    }

    @Test("a request id the model already applied is a duplicate whose offset is done at once")
    func duplicateAlreadyApplied() {
        var m = Self.machine()
        Self.assign(&m, 0)
        let actions = Self.deliver(&m, Self.request("r1"), offset: 0, as: .alreadyApplied)
        #expect(actions.duplicates == ["r1"])
        #expect(m.tick(now: 0).commits == [[0: 1]])
    }

    @Test("the same request id in a batch already taken for applying is a duplicate too")
    func duplicateOfInFlightBatch() {
        var m = Self.machine(maxRows: 1)
        Self.assign(&m, 0)
        #expect(Self.deliver(&m, Self.request("r1"), offset: 0).applies.count == 1)
        #expect(Self.deliver(&m, Self.request("r1"), offset: 1).duplicates == ["r1"])
    }

    @Test("duplicates the engine found in a batch count as duplicates, not as applied")
    func engineDuplicates() {
        var m = Self.machine(maxRows: 2)
        Self.assign(&m, 0)
        _ = Self.deliver(&m, Self.request("r1"), offset: 0)
        let batch = Self.deliver(&m, Self.request("r2"), offset: 1).applies[0].batch
        _ = m.batchApplied(batch, duplicates: 1, retrainBecameRequired: false)
        #expect(m.applied == 1 && m.duplicates == 1)
    }

    // MARK: Dead letters

    @Test("a rejected message's offset is committed only after its dead letter is delivered")
    func deadLetterBeforeCommit() throws {
        var m = Self.machine()
        Self.assign(&m, 0)
        #expect(Self.deliver(&m, Self.request("r0"), offset: 0, as: .alreadyApplied).duplicates == ["r0"])
        let actions = m.received(KafkaMessage(topic: Self.topic, partition: 0, offset: 1, key: nil, value: Array("{".utf8), headers: []))
        let letter = try #require(actions.deadLetters.first)
        #expect(letter.reason.code == RejectionReason.notJSON)
        #expect(letter.source.offset == 1)
        #expect(m.rejected == 1)
        // The loop's tick comes while the letter is out: nothing passes offset 1.
        let waiting = m.tick(now: 0)
        #expect(waiting.commits.allSatisfy { ($0[0] ?? 0) <= 1 })
        let after = m.deadLetterDelivered(letter)
        #expect(after.commits == [[0: 2]])
    }

    @Test("a key that is not the model, an unregistered model and a bad selection are dead-lettered with their codes")
    func rejections() {
        var m = Self.machine()
        Self.assign(&m, 0)
        var keyed = Self.message(Self.request("r1"), offset: 0)
        keyed.key = Array("model-b".utf8)
        #expect(m.received(keyed).deadLetters.map(\.reason.code) == [RejectionReason.keyMismatch])
        let other = Self.request("r2", model: "model-b")
        #expect(m.received(Self.message(other, offset: 1)).deadLetters.map(\.reason.code) == [RejectionReason.unknownModel])
        let empty = Self.deliver(&m, Self.request("r3"), offset: 2, as: .rejected(RejectionReason(RejectionReason.emptySelection, "none")))
        #expect(empty.deadLetters.map(\.reason.code) == [RejectionReason.emptySelection])
        #expect(m.rejected == 3)
    }

    @Test("requests the engine cannot apply are dead-lettered one by one, and committed once every letter is delivered")
    func cannotApply() {
        var m = Self.machine(maxRows: 2)
        Self.assign(&m, 0)
        _ = Self.deliver(&m, Self.request("r1"), offset: 0)
        let batch = Self.deliver(&m, Self.request("r2"), offset: 1).applies[0].batch
        let letters = m.batchCannotApply(batch, reason: "would remove every row").deadLetters
        #expect(letters.map(\.reason.code) == ["cannot_apply", "cannot_apply"])
        #expect(letters.map(\.source.offset) == [0, 1])
        #expect(m.tick(now: 0).commits.isEmpty)
        #expect(m.deadLetterDelivered(letters[0]).commits.isEmpty)
        #expect(m.deadLetterDelivered(letters[1]).commits == [[0: 2]])
    }

    // MARK: Offsets and batches

    @Test("a snapshot's safe offsets and every commit stay below requests whose batch is not durable")
    func safeOffsetsWithBatchesInFlight() throws {
        var m = Self.machine(maxRows: 2)
        Self.assign(&m, 0)
        _ = Self.deliver(&m, Self.request("a1", subject: "alice"), offset: 0)
        _ = Self.deliver(&m, Self.request("b1", subject: "bob"), offset: 1)
        let full = Self.deliver(&m, Self.request("a2", subject: "alice"), offset: 2)
        let alice = try #require(full.applies.first)
        #expect(alice.batch.requestIDs == ["a1", "a2"])
        // Bob's request at offset 1 waits in an open batch: alice's snapshot may record offset 1, not 3.
        #expect(alice.safeOffsets == [SnapshotManifest.KafkaOffset(topic: Self.topic, partition: 0, nextOffset: 1)])
        // While alice's batch is in flight nothing is committed at all.
        #expect(m.tick(now: 0).commits.isEmpty)
        let afterAlice = m.batchApplied(alice.batch, duplicates: 0, retrainBecameRequired: false)
        #expect(afterAlice.commits == [[0: 1]])
        let bob = try #require(m.tick(now: Self.wait).applies.first)
        #expect(bob.safeOffsets == [SnapshotManifest.KafkaOffset(topic: Self.topic, partition: 0, nextOffset: 3)])
        #expect(m.batchApplied(bob.batch, duplicates: 0, retrainBecameRequired: false).commits == [[0: 3]])
        #expect(m.applied == 3)
    }

    @Test("a batch that meets newer snapshots is tried five times, then left unacknowledged so the commit stays below it")
    func staleBatch() throws {
        var m = Self.machine(maxRows: 1)
        Self.assign(&m, 0)
        var apply = try #require(Self.deliver(&m, Self.request("r1"), offset: 0).applies.first)
        #expect(apply.attempt == 1)
        for attempt in 2...PipelineStateMachine.applyAttempts {
            apply = try #require(m.batchStale(apply.batch).applies.first)
            #expect(apply.attempt == attempt)
        }
        let abandoned = m.batchStale(apply.batch)
        #expect(abandoned.applies.isEmpty)
        #expect(abandoned.contains { if case .notice(.batchAbandoned(Self.model)) = $0 { true } else { false } })
        #expect(m.tick(now: 0).commits.allSatisfy { ($0[0] ?? 0) == 0 })
        #expect(m.applied == 0)
    }

    @Test("messages of partitions this member does not own are never committed")
    func commitsOnlyAssigned() {
        var m = Self.machine()
        Self.assign(&m, 0)
        _ = Self.deliver(&m, Self.request("r1"), partition: 0, offset: 4, as: .alreadyApplied)
        _ = Self.deliver(&m, Self.request("r2"), partition: 1, offset: 7, as: .alreadyApplied)
        #expect(m.tick(now: 0).commits == [[0: 5]])
    }

    @Test("a commit is not repeated once Kafka confirmed it")
    func committedOnce() throws {
        var m = Self.machine()
        Self.assign(&m, 0)
        _ = Self.deliver(&m, Self.request("r1"), offset: 0, as: .alreadyApplied)
        let offsets = try #require(m.tick(now: 0).commitOffsets.first)
        #expect(m.tick(now: 1).commits == [[0: 1]], "an unconfirmed commit is retried")
        m.committed(offsets)
        #expect(m.tick(now: 2).commits.isEmpty)
    }

    // MARK: Rebalance

    @Test("an assignment reloads the models; a revocation drops the partition's pending requests and offsets")
    func rebalance() throws {
        var m = Self.machine()
        let assigned = m.assigned([0, 1].map { KafkaTopicPartitionOffset(topic: Self.topic, partition: $0, offset: KafkaOffset.stored) })
        #expect(assigned.contains { if case .reload = $0 { true } else { false } })
        _ = Self.deliver(&m, Self.request("r0"), partition: 0, offset: 3)
        _ = Self.deliver(&m, Self.request("r1"), partition: 1, offset: 8)
        let revoked = m.revoked([KafkaTopicPartition(topic: Self.topic, partition: 1)])
        #expect(revoked.contains { if case .notice(.partitionsRevoked([1], droppedRequests: 1)) = $0 { true } else { false } })
        let apply = try #require(m.tick(now: Self.wait).applies.first)
        #expect(apply.batch.requestIDs == ["r0"])
        #expect(apply.safeOffsets.map(\.partition) == [0], "the revoked partition's offsets are forgotten")
        #expect(m.batchApplied(apply.batch, duplicates: 0, retrainBecameRequired: false).commits == [[0: 4]])
        // The next owner may send it again after a new assignment: the request is new to this member then.
        _ = m.assigned([KafkaTopicPartitionOffset(topic: Self.topic, partition: 1, offset: 8)])
        #expect(Self.deliver(&m, Self.request("r1"), partition: 1, offset: 8).duplicates.isEmpty)
    }

    // MARK: Retrain

    @Test("a batch that makes a retrain required publishes the model's alert and shows it in the status")
    func retrainAlert() throws {
        var m = Self.machine(maxRows: 1)
        Self.assign(&m, 0)
        let apply = try #require(Self.deliver(&m, Self.request("r1"), offset: 0).applies.first)
        let actions = m.batchApplied(apply.batch, duplicates: 0, retrainBecameRequired: true)
        #expect(actions.alerts == [Self.model])
        #expect(m.status.contains("retrain required: \(Self.model)"))
        m.retrainRequired([])
        #expect(!m.status.contains("retrain required"), "a rebase clears it")
    }

    @Test("at start every model already waiting for a retrain gets its alert again")
    func alertsAtStart() {
        var m = Self.machine(models: ["a", "b", "c"])
        #expect(m.started(retrainRequired: ["c", "a"]).alerts == ["a", "c"])
        #expect(m.status.hasSuffix("retrain required: a,c"))
    }

    // MARK: Shutdown

    @Test("shutdown applies every pending batch one at a time, then commits past all of them and reports the status")
    func shutdown() throws {
        var m = Self.machine()
        Self.assign(&m, 0, 1)
        _ = Self.deliver(&m, Self.request("a1", subject: "alice"), partition: 0, offset: 0)
        _ = Self.deliver(&m, Self.request("b1", subject: "bob"), partition: 1, offset: 0)
        _ = Self.deliver(&m, Self.request("a2", subject: "alice"), partition: 0, offset: 1)
        var actions = m.shutdown()
        #expect(actions.contains { if case .notice(.finishingBatches(requests: 3)) = $0 { true } else { false } })
        var applied: [String] = []
        while let apply = actions.applies.first {
            #expect(actions.applies.count == 1, "one batch at a time")
            #expect(actions.commits.isEmpty, "no commit before every batch is durable")
            applied += apply.batch.requestIDs
            actions = m.batchApplied(apply.batch, duplicates: 0, retrainBecameRequired: false)
        }
        #expect(applied.sorted() == ["a1", "a2", "b1"])
        #expect(actions.commits == [[0: 2, 1: 1]])
        #expect(actions.contains { if case .reportStatus = $0 { true } else { false } })
        #expect(actions.contains { if case .writeMetrics = $0 { true } else { false } })
    }

    // MARK: Brokers and status

    @Test("all brokers down and back are announced once each; other errors are only reported")
    func brokers() {
        var m = Self.machine()
        let error = KafkaError(.consume, reason: "down", librdkafkaError: .allBrokersDown)
        #expect(m.kafkaError(error, allBrokersDown: true).contains { if case .notice(.brokersDown) = $0 { true } else { false } })
        #expect(m.status.hasSuffix("; Kafka brokers down"))
        #expect(m.kafkaError(error, allBrokersDown: true).contains { if case .notice(.kafkaError) = $0 { true } else { false } })
        #expect(m.brokerHealth(allBrokersDown: true).isEmpty)
        let up = m.brokerHealth(allBrokersDown: false)
        #expect(up.contains { if case .notice(.brokersUp) = $0 { true } else { false } })
        #expect(up.contains { if case .reportStatus(let text) = $0 { !text.contains("brokers down") } else { false } })
        #expect(m.brokerHealth(allBrokersDown: false).isEmpty)
    }

    @Test("the status is reported on the first tick, then once per metrics interval")
    func statusInterval() {
        var m = Self.machine()
        let second: UInt64 = 1_000_000_000
        #expect(m.tick(now: 100 * second).statuses == ["applied 0, rejected 0, duplicates 0, pending 0"])
        #expect(m.tick(now: 105 * second).statuses.isEmpty)
        #expect(m.tick(now: 110 * second).statuses.count == 1)
    }
}

extension [PipelineAction] {
    var applies: [(batch: PendingBatch, safeOffsets: [SnapshotManifest.KafkaOffset], attempt: Int)] {
        compactMap { if case .apply(let b, let s, let a) = $0 { (b, s, a) } else { nil } }
    }
    var commitOffsets: [[KafkaTopicPartitionOffset]] {
        compactMap { if case .commit(let offsets) = $0 { offsets } else { nil } }
    }
    /// Each commit as partition to offset.
    var commits: [[Int32: Int64]] {
        commitOffsets.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.partition, $0.offset) }) }
    }
    var deadLetters: [DeadLetter] { compactMap { if case .deadLetter(let letter) = $0 { letter } else { nil } } }
    var alerts: [String] { compactMap { if case .publishAlert(let model) = $0 { model } else { nil } } }
    var statuses: [String] { compactMap { if case .reportStatus(let text) = $0 { text } else { nil } } }
    var duplicates: [String] { compactMap { if case .notice(.duplicate(_, let id)) = $0 { id } else { nil } } }
}
