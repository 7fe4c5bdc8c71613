import Foundation
import KafkaLog
import ProcessHarness
import TestSupport
import Testing

/// Python's confluent-kafka (which bundles its own, newer librdkafka) against the dev broker. Optional: it runs
/// when `python3` (or `$KAFKALOG_TEST_PYTHON`) can import confluent_kafka; it is not a build dependency.
@Suite(
    "confluent-kafka interop",
    .serialized,
    .timeLimit(.minutes(2)),
    .enabled(if: DevBrokerProcess.executable != nil, DevBrokerProcess.missingReason),
    .enabled(
        if: PythonConfluentKafka.interpreter != nil,
        "Python confluent-kafka is not importable (pip install confluent-kafka, or set KAFKALOG_TEST_PYTHON)"
    ), .blockingWaits
)
struct ConfluentKafkaInteropTests {
    static let topic = "unlearn.deletions"

    // Produces two messages with a header (awaiting delivery), then consumes everything in group g-python and
    // commits after the last message; prints one line per message and the committed offset.
    static let script = """
        import sys, time
        from confluent_kafka import Producer, Consumer, TopicPartition
        bootstrap, topic, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
        p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
        for n in (1, 2):
            p.produce(topic, key=b"model-py", value=b"py-%d" % n, headers=[("src", b"python")], partition=0)
        assert p.flush(30) == 0, "undelivered messages"
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "g-python", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False, "session.timeout.ms": 6000})
        c.subscribe([topic])
        got, deadline = [], time.time() + 60
        while len(got) < expected and time.time() < deadline:
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            got.append(m)
            print("message %d %s %s %s" % (m.offset(), m.key().decode(), m.value().decode(), m.headers()))
        c.commit(offsets=[TopicPartition(topic, 0, got[-1].offset() + 1)], asynchronous=False)
        print("committed %d" % c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset)
        c.close()
        """

    @Test func confluentKafkaProducesConsumesAndCommitsAgainstTheDevBroker() async throws {
        let python = try #require(PythonConfluentKafka.interpreter)
        let broker = try await DevBrokerProcess.start(["--topics", Self.topic, "--partitions", "1"])
        defer { Task { await broker.stop() } }
        let producer = try testProducer(broker.bootstrapServers)
        try await producer.send(
            topic: Self.topic,
            key: "model-swift".bytes,
            value: "swift-0".bytes,
            headers: [KafkaHeader(key: "src", value: "swift")]
        )

        let result = try await ProcessRunner.runInBackground(python.path, ["-c", Self.script, broker.bootstrapServers, Self.topic, "3"])
        #expect(result.status == 0, "python: \(result.stderrText)")
        let lines = result.stdoutText.split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "message 0 model-swift swift-0 [('src', b'swift')]",
                "message 1 model-py py-1 [('src', b'python')]",
                "message 2 model-py py-2 [('src', b'python')]",
                "committed 3",
            ])

        // Our consumer in the same group resumes after Python's commit, and sees Python's headers.
        try await producer.send(topic: Self.topic, key: nil, value: "swift-3".bytes)
        try await producer.close()
        let consumer = try testConsumer(broker.bootstrapServers, group: "g-python")
        try consumer.subscribe(topics: [Self.topic])
        let resumed = try await consumer.messages(1)
        #expect(resumed.map(\.offset) == [3])
        #expect(resumed.map(\.value.text) == ["swift-3"])
        try await consumer.close()
    }
}

/// A Python interpreter that can import confluent_kafka, if there is one: KAFKALOG_TEST_PYTHON, else python3 on
/// PATH (where pip installed it).
enum PythonConfluentKafka {
    static let interpreter: URL? = {
        guard let candidate = ProcessInfo.processInfo.environment["KAFKALOG_TEST_PYTHON"] ?? ProcessRunner.which("python3"),
            FileManager.default.isExecutableFile(atPath: candidate)
        else { return nil }
        let probe = try? ProcessRunner.run(candidate, ["-c", "import confluent_kafka"])
        return probe?.status == 0 ? URL(fileURLWithPath: candidate) : nil
    }()
}
