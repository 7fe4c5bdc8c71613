import Foundation
import KafkaLog
import ProcessHarness
import TestSupport
import Testing
import UnlearnSupport

/// End-to-end: the real `unlearnctl dev-broker` process, our clients, and kcat.
@Suite(
    "Dev broker end to end",
    .serialized,
    .timeLimit(.minutes(2)),
    .enabled(if: DevBrokerProcess.executable != nil, DevBrokerProcess.missingReason), .blockingWaits
)
struct DevBrokerEndToEndTests {
    static let topic = "unlearn.deletions"

    @Test func sendReturnsAfterDeliveryAndGroupConsumerReadsKeysValuesHeaders() async throws {
        let broker = try await DevBrokerProcess.start(["--topics", Self.topic, "--partitions", "2"])
        defer { Task { await broker.stop() } }
        let producer = try testProducer(broker.bootstrapServers)
        var reports: [KafkaDeliveryReport] = []
        for index in 0..<5 {
            let report = try await producer.send(
                topic: Self.topic,
                key: "model-a".bytes,
                value: "request-\(index)".bytes,
                headers: [KafkaHeader(key: "reason", value: "test"), KafkaHeader(key: "empty", value: nil)]
            )
            reports.append(report)
        }
        // One key, one partition, consecutive offsets: each send returned only after its own report.
        #expect(Set(reports.map(\.partition)).count == 1)
        #expect(reports.map(\.offset) == Array(0..<5))
        #expect(producer.pendingDeliveries == 0)
        try await producer.close()

        let consumer = try testConsumer(broker.bootstrapServers, group: "g-read")
        try consumer.subscribe(topics: [Self.topic])
        let events = try await consumer.poll(until: "5 messages") { $0.messages.count >= 5 }
        let messages = events.messages
        #expect(messages.map(\.value.text) == (0..<5).map { "request-\($0)" })
        #expect(messages.allSatisfy { $0.key.text == "model-a" && $0.partition == reports[0].partition })
        #expect(messages.map(\.offset) == Array(0..<5))
        #expect(messages[0].header("reason")?.value.text == "test")
        #expect(messages[0].headers.contains(KafkaHeader(key: "empty", value: nil)))
        #expect(messages[0].timestampMilliseconds != nil)
        // The assignment came (through the rebalance callback) before the first message.
        let firstAssigned = try #require(events.firstIndex { if case .assigned = $0 { true } else { false } })
        let firstMessage = try #require(events.firstIndex { if case .message = $0 { true } else { false } })
        #expect(firstAssigned < firstMessage)
        #expect(events.assignments.first?.count == 2)
        try await consumer.close()
    }

    @Test func restartedConsumerResumesFromCommittedOffsets() async throws {
        let broker = try await DevBrokerProcess.start(["--topics", Self.topic, "--partitions", "1"])
        defer { Task { await broker.stop() } }
        let partition = KafkaTopicPartition(topic: Self.topic, partition: 0)
        let producer = try testProducer(broker.bootstrapServers)
        for index in 0..<6 {
            try await producer.send(topic: Self.topic, key: nil, value: "m\(index)".bytes, partition: 0)
        }
        try await producer.close()

        let first = try testConsumer(broker.bootstrapServers, group: "g-resume")
        try first.subscribe(topics: [Self.topic])
        let read = try await first.messages(6)
        #expect(read.map(\.offset) == Array(0..<6))
        // Processed m0...m2 durably: commit the next offset, 3.
        try await first.commit([read[2].nextOffset])
        #expect(try await first.committed([partition]) == [KafkaTopicPartitionOffset(partition, offset: 3)])
        try await first.close()

        // A new client (the old one is gone): the broker process kept the offsets and the log.
        let second = try testConsumer(broker.bootstrapServers, group: "g-resume")
        #expect(try await second.committed([partition]) == [KafkaTopicPartitionOffset(partition, offset: 3)])
        try second.subscribe(topics: [Self.topic])
        let resumed = try await second.messages(3)
        #expect(resumed.map(\.offset) == [3, 4, 5])
        #expect(resumed.map(\.value.text) == ["m3", "m4", "m5"])
        try await second.close()
    }

    @Test func rebalanceEventsAndOwnerChosenStartOffsets() async throws {
        let broker = try await DevBrokerProcess.start(["--topics", Self.topic, "--partitions", "2"])
        defer { Task { await broker.stop() } }
        let producer = try testProducer(broker.bootstrapServers)
        for partition: Int32 in 0...1 {
            for index in 0..<5 {
                let value = "p\(partition)-\(index)".bytes
                try await producer.send(topic: Self.topic, key: nil, value: value, partition: partition)
            }
        }
        try await producer.close()

        // The owner stored offset 3 for partition 0 itself (e.g. in a snapshot); partition 1 uses the group's.
        let p0 = KafkaTopicPartition(topic: Self.topic, partition: 0)
        let p1 = KafkaTopicPartition(topic: Self.topic, partition: 1)
        let asked = LockedValue<[[KafkaTopicPartition]]>([])
        let first = try KafkaConsumer(
            configuration: consumerConfiguration(broker.bootstrapServers),
            groupID: "g-rebalance",
            logger: testLogger(),
            startOffsets: { partitions in
                asked.withLock { $0.append(partitions) }
                return partitions.contains(p0) ? [p0: 3] : [:]
            }
        )
        try first.subscribe(topics: [Self.topic])
        let events = try await first.poll(until: "2 + 5 messages") { $0.messages.count >= 7 }
        #expect(
            events.assignments.first.map(Set.init)
                == [KafkaTopicPartitionOffset(p0, offset: 3), KafkaTopicPartitionOffset(p1, offset: KafkaOffset.stored)])
        #expect(asked.value.first.map(Set.init) == [p0, p1])
        let messages = events.messages
        #expect(messages.filter { $0.partition == 0 }.map(\.offset) == [3, 4])
        #expect(messages.filter { $0.partition == 1 }.map(\.offset) == Array(0..<5))
        #expect(try first.assignment() == [p0, p1])

        // A second member joins: the first is told its partitions were revoked, then gets a share back.
        let second = try testConsumer(broker.bootstrapServers, group: "g-rebalance")
        try second.subscribe(topics: [Self.topic])
        // The mock broker's range assignor normally ends with one partition each; on a loaded machine the first
        // member can miss the rejoin and end with none. What must hold: the first hears of the revocation, the new
        // member gets an assignment, and afterwards the two assignments split {p0, p1} without overlap.
        async let firstAfter = first.poll(until: "a revocation") { !$0.revocations.isEmpty }
        async let secondEvents = second.poll(until: "an assignment") { $0.assignments.last.map { !$0.isEmpty } ?? false }
        let (rebalanced, joined) = try await (firstAfter, secondEvents)
        #expect(rebalanced.revocations.first.map(Set.init) == [p0, p1])
        #expect(!(joined.assignments.last ?? []).isEmpty)
        let settled = try await eventually(.seconds(45), "the two assignments to split the partitions") {
            () -> (Set<KafkaTopicPartition>, Set<KafkaTopicPartition>)? in
            _ = try await first.poll(timeout: .milliseconds(100))
            _ = try await second.poll(timeout: .milliseconds(100))
            let a = Set(try first.assignment())
            let b = Set(try second.assignment())
            return a.union(b) == [p0, p1] && a.isDisjoint(with: b) ? (a, b) : nil
        }
        #expect(!settled.1.isEmpty)
        try await second.close()
        try await first.close()
    }

    @Test func pausedPartitionDeliversNothingUntilResumed() async throws {
        let broker = try await DevBrokerProcess.start(["--topics", Self.topic, "--partitions", "1"])
        defer { Task { await broker.stop() } }
        let p0 = KafkaTopicPartition(topic: Self.topic, partition: 0)
        let producer = try testProducer(broker.bootstrapServers)
        try await producer.send(topic: Self.topic, key: nil, value: "before".bytes)
        let consumer = try testConsumer(broker.bootstrapServers, group: "g-pause")
        try consumer.subscribe(topics: [Self.topic])
        #expect(try await consumer.messages(1).map(\.value.text) == ["before"])

        try consumer.pause([p0])
        for index in 0..<3 {
            try await producer.send(topic: Self.topic, key: nil, value: "while-paused-\(index)".bytes)
        }
        // The messages are on the broker (delivery reports arrived); keep polling for a while: none may come.
        // (This can only pass wrongly on a slow machine, never fail wrongly.)
        var whilePaused: [KafkaConsumerEvent] = []
        let quietUntil = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < quietUntil {
            whilePaused += try await consumer.poll(timeout: .milliseconds(200))
        }
        #expect(whilePaused.messages.isEmpty)
        #expect(try consumer.assignment() == [p0])  // still a member with its partition

        try consumer.resume([p0])
        let resumed = try await consumer.messages(3)
        #expect(resumed.map(\.value.text) == (0..<3).map { "while-paused-\($0)" })
        try await producer.close()
        try await consumer.close()
    }

    @Test func brokerDownIsSurfacedAndDeliverySucceedsAfterBrokerUp() async throws {
        let broker = try await DevBrokerProcess.start(["--topics", Self.topic, "--partitions", "1"])
        defer { Task { await broker.stop() } }
        let fastReconnect = ["reconnect.backoff.max.ms": "250"]
        let producer = try testProducer(broker.bootstrapServers, fastReconnect)
        #expect(try await producer.send(topic: Self.topic, key: nil, value: "first".bytes).offset == 0)
        let consumer = try testConsumer(broker.bootstrapServers, group: "g-outage", fastReconnect)
        try consumer.subscribe(topics: [Self.topic])
        #expect(try await consumer.messages(1).map(\.value.text) == ["first"])

        try await broker.ok("down 1")
        _ = try await eventually(.seconds(30), "the producer to report all brokers down") {
            producer.health.allBrokersDown ? true : nil
        }
        #expect(producer.health.lastError?.librdkafkaError == .allBrokersDown)
        // The consumer reports it as an event from poll and in its health.
        let outage = try await consumer.poll(until: "an all-brokers-down error event") { events in
            events.contains { event in
                if case .error(let error) = event { error.librdkafkaError == .allBrokersDown } else { false }
            }
        }
        #expect(outage.messages.isEmpty)
        #expect(consumer.health.allBrokersDown)

        // A send during the outage waits (librdkafka retries until message.timeout.ms) ...
        let pending = Task { try await producer.send(topic: Self.topic, key: nil, value: "during".bytes) }
        _ = try await eventually(.seconds(30), "the send to be enqueued") { producer.pendingDeliveries == 1 ? true : nil }

        try await broker.ok("up 1")
        // ... and completes once the broker is back; the consumer, still a member, receives it.
        let report = try await pending.value
        #expect(report.offset == 1)
        #expect(!producer.health.allBrokersDown)
        try await producer.close()
        #expect(try await consumer.messages(1).map(\.value.text) == ["during"])
        #expect(!consumer.health.allBrokersDown)
        try await consumer.close()
    }

    @Test func injectedCommitErrorsAreThrownThenCommitsSucceed() async throws {
        let broker = try await DevBrokerProcess.start(["--topics", Self.topic, "--partitions", "1"])
        defer { Task { await broker.stop() } }
        let p0 = KafkaTopicPartition(topic: Self.topic, partition: 0)
        let producer = try testProducer(broker.bootstrapServers)
        try await producer.send(topic: Self.topic, key: nil, value: "x".bytes)
        try await producer.close()
        let consumer = try testConsumer(broker.bootstrapServers, group: "g-commit-error")
        try consumer.subscribe(topics: [Self.topic])
        let message = try #require(try await consumer.messages(1).first)
        // A non-retriable commit error reaches the caller with librdkafka's code.
        try await broker.ok("error OffsetCommit GROUP_AUTHORIZATION_FAILED 1")
        let error = try await #require(throws: KafkaError.self) { try await consumer.commit([message.nextOffset]) }
        #expect(error.code == .commit)
        #expect(error.librdkafkaError == KafkaErrorCode(name: "GROUP_AUTHORIZATION_FAILED"))
        try await consumer.commit([message.nextOffset])
        #expect(try await consumer.committed([p0]) == [message.nextOffset])
        try await consumer.close()
    }

    @Test(.enabled(if: kcat != nil, "kcat is not installed (apt-get install kcat)"))
    func kcatAndOurClientsInteroperate() async throws {
        let kcat = try #require(Self.kcat)
        let broker = try await DevBrokerProcess.start(["--topics", Self.topic, "--partitions", "1"])
        defer { Task { await broker.stop() } }

        // kcat produces; our consumer reads.
        let produced = try await ProcessRunner.runInBackground(
            kcat.path,
            ["-b", broker.bootstrapServers, "-t", Self.topic, "-P", "-K:", "-p", "0"],
            stdin: Data("model-a:{\"n\":1}\nmodel-b:{\"n\":2}\nmodel-a:{\"n\":3}\n".utf8)
        )
        #expect(produced.status == 0, "kcat -P: \(produced.stderrText)")
        let consumer = try testConsumer(broker.bootstrapServers, group: "g-kcat")
        try consumer.subscribe(topics: [Self.topic])
        let messages = try await consumer.messages(3)
        #expect(messages.map(\.key.text) == ["model-a", "model-b", "model-a"])
        #expect(messages.map(\.value.text) == ["{\"n\":1}", "{\"n\":2}", "{\"n\":3}"])
        try await consumer.commit([messages[2].nextOffset])
        try await consumer.close()

        // Our producer writes; kcat reads everything back, headers included.
        let producer = try testProducer(broker.bootstrapServers)
        try await producer.send(
            topic: Self.topic,
            key: "model-c".bytes,
            value: "{\"n\":4}".bytes,
            headers: [KafkaHeader(key: "reason", value: "schema")]
        )
        try await producer.close()
        let consumed = try await ProcessRunner.runInBackground(
            kcat.path,
            [
                "-b", broker.bootstrapServers, "-t", Self.topic, "-C", "-e", "-q", "-o", "beginning",
                "-f", "%k|%s|%h|%o\\n",
            ]
        )
        #expect(consumed.status == 0, "kcat -C: \(consumed.stderrText)")
        let lines = consumed.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines.last == "model-c|{\"n\":4}|reason=schema|3")
    }

    @Test func consumerLagIsReportedFromStatistics() async throws {
        let broker = try await DevBrokerProcess.start(["--topics", Self.topic, "--partitions", "1"])
        defer { Task { await broker.stop() } }
        let p0 = KafkaTopicPartition(topic: Self.topic, partition: 0)
        let producer = try testProducer(broker.bootstrapServers)
        for index in 0..<10 { try await producer.send(topic: Self.topic, key: nil, value: "m\(index)".bytes) }
        try await producer.close()
        let consumer = try testConsumer(broker.bootstrapServers, group: "g-lag", ["statistics.interval.ms": "200"])
        try consumer.subscribe(topics: [Self.topic])
        let messages = try await consumer.messages(10)
        try await consumer.commit([messages[3].nextOffset])  // 4 of 10 done: lag 6
        let events = try await consumer.poll(until: "statistics with lag 6") { events in
            events.statistics.contains { $0.consumerLag(p0) == 6 }
        }
        let statistics = try #require(events.statistics.last { $0.consumerLag(p0) == 6 })
        #expect(statistics.partitions.first { $0.topicPartition == p0 }?.highWatermark == 10)
        #expect(statistics.partitions.first { $0.topicPartition == p0 }?.committedOffset == 4)
        #expect(consumer.latestStatistics != nil)
        try await consumer.close()
    }

    @Test func devBrokerProtocolAndCleanExits() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kafkalog-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bootstrapFile = directory.appendingPathComponent("bootstrap").path

        // SIGTERM: replies until then, bootstrap file written and removed, exit status 0.
        let broker = try await DevBrokerProcess.start([
            "--brokers", "2", "--partitions", "3", "--bootstrap-file", bootstrapFile, "--ignore-eof",
        ])
        #expect(broker.bootstrapServers.split(separator: ",").count == 2)
        let written = try String(contentsOfFile: bootstrapFile, encoding: .utf8)
        #expect(written == broker.bootstrapServers + "\n")
        #expect(
            try await broker.command("topics")
                == "ok topics unlearn.alerts:3 unlearn.deletions:3 unlearn.deletions.dlq:3")
        #expect(try await broker.command("down 2") == "ok down 2")
        #expect(try await broker.command("down 3").hasPrefix("error: "))
        #expect(
            try await broker.command("error Produce NOT_LEADER_FOR_PARTITION 2")
                == "ok error Produce NOT_LEADER_FOR_PARTITION 2")
        #expect(try await broker.command("no such command").hasPrefix("error: unknown command"))
        // --ignore-eof: closing stdin does not stop it ...
        try broker.child.closeInput()
        #expect(await broker.child.waitForExit(timeout: .seconds(1)) == nil)
        // ... SIGTERM does.
        broker.child.signal(SIGTERM)
        #expect(await broker.child.waitForExit(timeout: .seconds(20)) == 0)
        #expect(!FileManager.default.fileExists(atPath: bootstrapFile))

        // End of input without --ignore-eof stops it, status 0.
        let second = try await DevBrokerProcess.start()
        try second.child.closeInput()
        #expect(await second.child.waitForExit(timeout: .seconds(20)) == 0)

        // `quit` and SIGINT stop it too.
        let third = try await DevBrokerProcess.start()
        #expect(try await third.command("quit") == "ok quit")
        #expect(await third.child.waitForExit(timeout: .seconds(20)) == 0)
        let fourth = try await DevBrokerProcess.start()
        fourth.child.signal(SIGINT)
        let interrupted = await fourth.child.waitForExit(timeout: .seconds(20))
        #expect(interrupted == 0)
    }

    // MARK: kcat

    static let kcat: URL? = ["/usr/bin/kcat", "/usr/local/bin/kcat", "/usr/bin/kafkacat"]
        .map(URL.init(fileURLWithPath:))
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
}
