import KafkaLog
import Testing

@Suite("Statistics parsing")
struct StatisticsTests {
    // Shape of librdkafka 2.0.2's statistics JSON (STATISTICS.md), trimmed to the fields read.
    static let json = """
        {"name":"rdkafka#consumer-1","type":"consumer","ts":1,
         "brokers":{
           "127.0.0.1:9092/bootstrap":{"name":"127.0.0.1:9092/bootstrap","nodeid":-1,"state":"UP"},
           "127.0.0.1:9092/1":{"name":"127.0.0.1:9092/1","nodeid":1,"state":"UP"}},
         "topics":{"unlearn.deletions":{"topic":"unlearn.deletions","partitions":{
           "0":{"partition":0,"fetch_state":"active","hi_offset":10,"committed_offset":4,
                "consumer_lag":6,"consumer_lag_stored":-1},
           "1":{"partition":1,"fetch_state":"active","hi_offset":3,"committed_offset":-1001,
                "consumer_lag":-1,"consumer_lag_stored":-1},
           "-1":{"partition":-1,"fetch_state":"none","hi_offset":-1001,"committed_offset":-1001,
                 "consumer_lag":-1,"consumer_lag_stored":-1}}}}}
        """

    @Test func consumerLagPerPartitionIsRead() throws {
        let statistics = try KafkaStatistics(json: Array(Self.json.utf8))
        #expect(statistics.clientName == "rdkafka#consumer-1")
        #expect(statistics.partitions.count == 2)  // the internal partition -1 is left out
        let p0 = KafkaTopicPartition(topic: "unlearn.deletions", partition: 0)
        let p1 = KafkaTopicPartition(topic: "unlearn.deletions", partition: 1)
        #expect(statistics.consumerLag(p0) == 6)
        #expect(statistics.consumerLag(p1) == nil)  // nothing committed yet: unknown, not 0
        #expect(statistics.partitions.first?.highWatermark == 10)
        #expect(statistics.partitions.first?.committedOffset == 4)
        #expect(statistics.totalConsumerLag == 6)
        #expect(statistics.anyBrokerUp)
    }

    @Test func malformedStatisticsThrow() {
        #expect(throws: (any Error).self) { try KafkaStatistics(json: Array("{\"nope\":1}".utf8)) }
    }
}
