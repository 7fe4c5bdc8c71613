import KafkaLog
import Logging
import ProcessHarness
import Testing

@Suite("Mock cluster, in process", .serialized, .timeLimit(.minutes(2)))
struct MockClusterTests {
    @Test func consoleRunsCommandsAndRejectsMalformedOnes() async throws {
        let cluster = try MockCluster(brokers: 2, logger: testLogger())
        try cluster.createTopic("t", partitions: 3, replicationFactor: 2)
        let console = MockClusterConsole(cluster: cluster, logger: testLogger())
        #expect(await console.execute("down 2") == .reply("ok down 2"))
        #expect(await console.execute("up 2") == .reply("ok up 2"))
        #expect(await console.execute("rtt 1 25") == .reply("ok rtt 1 25"))
        #expect(
            await console.execute("error OffsetCommit REQUEST_TIMED_OUT 2")
                == .reply("ok error OffsetCommit REQUEST_TIMED_OUT 2"))
        #expect(await console.execute("clear 8") == .reply("ok clear OffsetCommit"))
        #expect(await console.execute("topics") == .reply("ok topics t:3"))
        #expect(await console.execute("bootstrap") == .reply("ok bootstrap=\(cluster.bootstrapServers)"))
        #expect(await console.execute("quit") == .quit("ok quit"))
        for bad in [
            "down", "down x", "down 7", "rtt 1", "error Produce", "error Bogus 7", "error Produce NOPE",
            "error Produce 7 0", "frobnicate", "",
        ] {
            let outcome = await console.execute(bad)
            #expect(outcome.line.hasPrefix("error: "), "\(bad) -> \(outcome.line)")
        }
        #expect(throws: KafkaError.self) { try cluster.createTopic("t2", partitions: 1, replicationFactor: 3) }
    }

    @Test func librdkafkaLogLinesAndBrokerOutageReachSwiftLogAndHealth() async throws {
        let cluster = try MockCluster(brokers: 1, logger: testLogger())
        try cluster.createTopic("t", partitions: 1)
        try cluster.setBrokerDown(1)
        let capture = LogCapture()
        let producer = try KafkaProducer(
            configuration: producerConfiguration(cluster.bootstrapServers, ["reconnect.backoff.max.ms": "200"]),
            logger: capture.logger()
        )
        let health = try await eventually(.seconds(30), "all brokers down in producer health") {
            producer.health.allBrokersDown ? producer.health : nil
        }
        // lastError is the newest client error: the all-brokers-down one, or (on a loaded machine, where polling
        // comes later) the transport error of a reconnect attempt made after it; allBrokersDown stays set by both.
        #expect([KafkaErrorCode.allBrokersDown, .transport].contains(health.lastError?.librdkafkaError))
        // librdkafka's own lines arrive with their facility and a mapped level.
        let records = capture.all
        #expect(records.contains { $0.message.contains("all Kafka brokers are down") && $0.level == .error })
        #expect(records.contains { $0.metadata[KafkaLogMetadataKey.facility] != nil })
        // Recovery is tested against the dev broker process (DevBrokerEndToEndTests, DaemonFaultTests): a librdkafka
        // 2.0.2 mock broker that fails to re-create its listener aborts its process (an assertion in
        // rd_kafka_mock_broker_cmd, seen once in a clean CI run while this test kept a broker down for seconds); in
        // this process that would end the whole test run, in the dev broker's only the test that uses it.
        try await producer.close()
    }

    @Test func closedProducerRefusesSends() async throws {
        let cluster = try MockCluster(brokers: 1, logger: testLogger())
        try cluster.createTopic("t", partitions: 1)
        let producer = try testProducer(cluster.bootstrapServers)
        try await producer.send(topic: "t", key: "k".bytes, value: [])
        try await producer.close()
        let error = try await #require(throws: KafkaError.self) {
            try await producer.send(topic: "t", key: nil, value: "late".bytes)
        }
        #expect(error.code == .closed)
    }
}
