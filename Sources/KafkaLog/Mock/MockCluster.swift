import CRdKafka
import Logging

/// librdkafka's built-in mock Kafka cluster: real brokers speaking the wire protocol on loopback ports, with
/// fault injection. It lives as long as this object (and its process), so clients may come and go while topics
/// and committed offsets survive. For tests and development only (`unlearnctl dev-broker`).
///
/// librdkafka 2.0.2 gives no control over the listen ports: each broker binds a random loopback port, so read
/// ``bootstrapServers`` after creation. The mock API is marked experimental by librdkafka.
public final class MockCluster: Sendable {
    private let cluster: MockClusterPointer
    private let logger: Logger

    /// `host:port,...` of the brokers, for `bootstrap.servers`.
    public let bootstrapServers: String
    /// Broker ids run from 1 through this count.
    public let brokerCount: Int

    /// Starts a cluster of `brokers` brokers (ids 1...brokers).
    public init(brokers: Int = 1, logger: Logger) throws {
        guard (1...64).contains(brokers) else {
            throw KafkaError(.invalidArgument, reason: "a mock cluster needs 1 to 64 brokers, not \(brokers)")
        }
        // The host handle never connects anywhere; keep its own start-up notices quiet.
        let host = try RDKafkaHandle.make(
            kind: .producer,
            configuration: KafkaConfiguration(["log_level": "4", "client.id": "unlearn-mock-cluster"]),
            callbacks: RDKafkaCallbacks(logger: logger, collectsEvents: false)
        )
        guard let cluster = rd_kafka_mock_cluster_new(host.pointer, Int32(brokers)) else {
            throw KafkaError(
                .mockCluster,
                reason: "librdkafka could not start a mock cluster of \(brokers) brokers (see its log lines)"
            )
        }
        self.cluster = MockClusterPointer(cluster, host: host)
        self.logger = logger
        self.brokerCount = brokers
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        logger.info(
            "mock Kafka cluster started",
            metadata: [
                KafkaLogMetadataKey.bootstrapServers: "\(bootstrapServers)",
                KafkaLogMetadataKey.librdkafkaVersion: "\(LibRdKafka.version)",
            ]
        )
    }

    /// Creates a topic. Fails if it exists.
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws {
        guard partitions > 0, replicationFactor > 0, Int(replicationFactor) <= brokerCount else {
            throw KafkaError(
                .invalidArgument,
                reason: "topic \(name): need partitions >= 1 and 1 <= replication factor <= \(brokerCount)"
            )
        }
        let err = rd_kafka_mock_topic_create(cluster.pointer, name, partitions, replicationFactor)
        try check(err, "creating topic \(name)")
    }

    /// Takes a broker down: its connections are closed and new ones are refused until ``setBrokerUp(_:)``.
    public func setBrokerDown(_ brokerID: Int32) throws {
        try check(rd_kafka_mock_broker_set_down(cluster.pointer, brokerID), "taking broker \(brokerID) down")
        logger.notice("mock broker down", metadata: [KafkaLogMetadataKey.brokerID: "\(brokerID)"])
    }

    /// Brings a broker back up.
    public func setBrokerUp(_ brokerID: Int32) throws {
        try check(rd_kafka_mock_broker_set_up(cluster.pointer, brokerID), "bringing broker \(brokerID) up")
        logger.notice("mock broker up", metadata: [KafkaLogMetadataKey.brokerID: "\(brokerID)"])
    }

    /// Delays every response of a broker by `milliseconds`.
    public func setBrokerRTT(_ brokerID: Int32, milliseconds: Int32) throws {
        guard milliseconds >= 0 else {
            throw KafkaError(.invalidArgument, reason: "round-trip time must be >= 0 ms, not \(milliseconds)")
        }
        try check(
            rd_kafka_mock_broker_set_rtt(cluster.pointer, brokerID, milliseconds),
            "setting the rtt of broker \(brokerID)"
        )
    }

    /// Makes the next requests of this API type (on any broker) fail, one error per request, in order.
    public func pushRequestErrors(_ apiKey: KafkaAPIKey, errors: [KafkaErrorCode]) {
        guard !errors.isEmpty else { return }
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.rawValue) }
        codes.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster.pointer, apiKey.rawValue, buffer.count, buffer.baseAddress)
        }
    }

    /// Drops errors pushed for this API type that have not fired yet.
    public func clearRequestErrors(_ apiKey: KafkaAPIKey) {
        rd_kafka_mock_clear_request_errors(cluster.pointer, apiKey.rawValue)
    }

    private func check(_ err: rd_kafka_resp_err_t, _ action: String) throws {
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.mockCluster, err, reason: "\(action) failed")
        }
    }
}

/// Owns one `rd_kafka_mock_cluster_t` and the host client it was created on. librdkafka aborts if the host is
/// destroyed first, so the cluster is destroyed in `deinit` and the host released only afterwards.
/// `@unchecked Sendable`: the pointer never changes and the mock API hands every call to the cluster's thread.
private final class MockClusterPointer: @unchecked Sendable {
    let pointer: OpaquePointer
    private let host: RDKafkaHandle

    init(_ pointer: OpaquePointer, host: RDKafkaHandle) {
        self.pointer = pointer
        self.host = host
    }

    deinit { rd_kafka_mock_cluster_destroy(pointer) }
}
