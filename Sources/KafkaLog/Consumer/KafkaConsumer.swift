import CRdKafka
import Logging

/// A high-level (group) consumer with manual offsets: nothing is committed or stored unless the owner says so.
///
/// - Offsets: `enable.auto.commit` and `enable.auto.offset.store` are forced off; commit with ``commit(_:)``
///   after the work for a message is durable.
/// - Rebalances: librdkafka's rebalance callback assigns partitions at the offsets returned by the `startOffsets`
///   closure (the owner's own stored offsets; missing partitions start at the committed offset), then reports
///   ``KafkaConsumerEvent/assigned(_:)`` / ``KafkaConsumerEvent/revoked(_:)`` from ``poll(timeout:maxMessages:)``.
/// - Threading: polls and `close` run on one dedicated queue, commits and metadata on another; no call blocks
///   Swift's cooperative pool.
/// - Call ``close()`` before dropping the consumer so it leaves the group cleanly (otherwise `deinit` does it,
///   blocking the releasing thread).
public final class KafkaConsumer: Sendable {
    /// Where each newly assigned partition starts. Called on the poll queue inside librdkafka's rebalance
    /// callback, so it may block briefly (e.g. read a snapshot index) but must not call back into the consumer.
    public typealias StartOffsets = @Sendable (_ assigned: [KafkaTopicPartition]) -> [KafkaTopicPartition: Int64]

    private let handle: RDKafkaHandle
    private let pollQueue: BlockingExecutor
    private let controlQueue: BlockingExecutor
    private let isClosed = AtomicFlag(false)
    private let logger: Logger

    /// The consumer's group id.
    public let groupID: String

    /// Creates a consumer in `groupID`. `configuration` must hold `bootstrap.servers`; anything librdkafka
    /// accepts passes through. `auto.offset.reset` defaults to `earliest` (a deletion log must not skip).
    public init(
        configuration: KafkaConfiguration,
        groupID: String,
        logger: Logger,
        startOffsets: StartOffsets? = nil
    ) throws {
        var properties = configuration.properties
        for key in ["enable.auto.commit", "enable.auto.offset.store"] {
            if let value = properties[key], value.lowercased() != "false" {
                throw KafkaError(
                    .configuration,
                    reason: "property \"\(key)\" must be false: this consumer commits offsets only when told to"
                )
            }
            properties[key] = "false"
        }
        properties["group.id"] = groupID
        if properties["auto.offset.reset"] == nil { properties["auto.offset.reset"] = "earliest" }

        let callbacks = RDKafkaCallbacks(logger: logger, collectsEvents: true, startOffsets: startOffsets)
        let handle = try RDKafkaHandle.make(
            kind: .consumer,
            configuration: KafkaConfiguration(properties),
            callbacks: callbacks
        )
        // Serve the main queue (errors, statistics, rebalances) from rd_kafka_consumer_poll.
        let err = rd_kafka_poll_set_consumer(handle.pointer)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.clientCreation, err, reason: "redirecting the main queue failed")
        }
        self.handle = handle
        self.groupID = groupID
        self.logger = logger
        let name = handle.name
        pollQueue = BlockingExecutor(label: "KafkaLog.\(name).poll")
        controlQueue = BlockingExecutor(label: "KafkaLog.\(name).control")
        logger.info(
            "Kafka consumer created",
            metadata: [
                KafkaLogMetadataKey.client: "\(name)",
                KafkaLogMetadataKey.configuration: "\(KafkaConfiguration(properties))",
                KafkaLogMetadataKey.librdkafkaVersion: "\(LibRdKafka.version)",
            ]
        )
    }

    /// The client instance name (`rdkafka#consumer-N`).
    public var name: String { handle.name }

    /// Broker health as seen by this consumer.
    public var health: KafkaHealth { handle.callbacks.health }

    /// The latest statistics snapshot (with `statistics.interval.ms` > 0).
    public var latestStatistics: KafkaStatistics? { handle.callbacks.statistics }

    /// Joins the group for these topics (replaces any previous subscription). Returns at once; the assignment
    /// arrives later as an ``KafkaConsumerEvent/assigned(_:)`` event from ``poll(timeout:maxMessages:)``.
    public func subscribe(topics: [String]) throws {
        try checkOpen()
        let list = RDKafkaTopicPartitionList(topics: topics)
        let err = rd_kafka_subscribe(handle.pointer, list.pointer)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.partitions, err, reason: "subscribing to \(topics) failed")
        }
    }

    /// Waits up to `timeout` for the first message or event, then takes what else is ready without waiting, up
    /// to `maxMessages` messages. Returns an empty array when nothing arrived in time.
    public func poll(
        timeout: Duration = .milliseconds(100),
        maxMessages: Int = 500
    ) async throws -> [KafkaConsumerEvent] {
        let handle = handle
        let timeoutMilliseconds = Self.milliseconds(timeout)
        return try await pollQueue.run { [isClosed] in
            guard !isClosed.isSet else {
                throw KafkaError(.closed, reason: "poll on a closed consumer")
            }
            var events: [KafkaConsumerEvent] = []
            var wait = timeoutMilliseconds
            var taken = 0
            while taken < maxMessages, let message = rd_kafka_consumer_poll(handle.pointer, wait) {
                defer { rd_kafka_message_destroy(message) }
                // Callbacks served by this poll happened before the message was handed out.
                events += handle.callbacks.drainEvents()
                events.append(Self.event(from: message, callbacks: handle.callbacks))
                taken += 1
                wait = 0
            }
            events += handle.callbacks.drainEvents()
            return events
        }
    }

    /// Commits these offsets (each the *next* offset to consume) and waits for the broker's answer.
    public func commit(_ offsets: [KafkaTopicPartitionOffset]) async throws {
        guard !offsets.isEmpty else { return }
        try checkOpen()
        let handle = handle
        try await controlQueue.run {
            let list = RDKafkaTopicPartitionList(offsets)
            let err = rd_kafka_commit(handle.pointer, list.pointer, 0)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.rdkafka(.commit, err, reason: "committing \(offsets) failed")
            }
            if let (partition, partitionError) = list.firstError {
                throw KafkaError.rdkafka(.commit, partitionError, reason: "committing \(partition) failed")
            }
            handle.callbacks.markBrokerReachable()
        }
    }

    /// The group's committed offsets for these partitions (``KafkaOffset/invalid`` where none), from the broker.
    public func committed(
        _ partitions: [KafkaTopicPartition],
        timeout: Duration = .seconds(10)
    ) async throws -> [KafkaTopicPartitionOffset] {
        try checkOpen()
        let handle = handle
        let timeoutMilliseconds = Self.milliseconds(timeout)
        return try await controlQueue.run {
            let list = RDKafkaTopicPartitionList(partitions)
            let err = rd_kafka_committed(handle.pointer, list.pointer, timeoutMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.rdkafka(.commit, err, reason: "fetching committed offsets failed")
            }
            return list.entries.map(\.offset)
        }
    }

    /// Stops fetching these (assigned) partitions until ``resume(_:)``; group membership is unaffected, so the
    /// owner keeps polling while busy.
    public func pause(_ partitions: [KafkaTopicPartition]) throws {
        try checkOpen()
        let list = RDKafkaTopicPartitionList(partitions)
        let err = rd_kafka_pause_partitions(handle.pointer, list.pointer)
        try Self.check(err, list, action: "pausing")
    }

    /// Resumes fetching partitions paused with ``pause(_:)``.
    public func resume(_ partitions: [KafkaTopicPartition]) throws {
        try checkOpen()
        let list = RDKafkaTopicPartitionList(partitions)
        let err = rd_kafka_resume_partitions(handle.pointer, list.pointer)
        try Self.check(err, list, action: "resuming")
    }

    /// The partitions currently assigned to this member.
    public func assignment() throws -> [KafkaTopicPartition] {
        try checkOpen()
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(handle.pointer, &list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            throw KafkaError.rdkafka(.partitions, err, reason: "reading the assignment failed")
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return RDKafkaTopicPartitionList.entries(of: list).map(\.offset.topicPartition).sorted()
    }

    /// Topic metadata from the brokers.
    public func topics(timeout: Duration = .seconds(10)) async throws -> [KafkaTopicMetadata] {
        let handle = handle
        let timeoutMilliseconds = Self.milliseconds(timeout)
        return try await controlQueue.run { try handle.topics(timeoutMilliseconds: timeoutMilliseconds) }
    }

    /// Leaves the group (revoking the assignment) and stops the consumer. Nothing is committed. Idempotent.
    public func close() async throws {
        let handle = handle
        let logger = logger
        try await pollQueue.run { [isClosed] in
            guard !isClosed.exchange(true) else { return }
            let err = rd_kafka_consumer_close(handle.pointer)
            _ = handle.callbacks.drainEvents()
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.rdkafka(.client, err, reason: "closing the consumer failed")
            }
            logger.info("Kafka consumer closed", metadata: [KafkaLogMetadataKey.client: "\(handle.name)"])
        }
    }

    // MARK: Internals

    private func checkOpen() throws {
        if isClosed.isSet {
            throw KafkaError(.closed, reason: "the consumer is closed")
        }
    }

    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(milliseconds, 0))
    }

    private static func check(
        _ err: rd_kafka_resp_err_t,
        _ list: RDKafkaTopicPartitionList,
        action: String
    ) throws {
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError.rdkafka(.partitions, err, reason: "\(action) partitions failed")
        }
        if let (partition, partitionError) = list.firstError {
            throw KafkaError.rdkafka(.partitions, partitionError, reason: "\(action) \(partition) failed")
        }
    }

    private static func event(
        from message: UnsafeMutablePointer<rd_kafka_message_t>,
        callbacks: RDKafkaCallbacks
    ) -> KafkaConsumerEvent {
        let m = message.pointee
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        switch m.err {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            callbacks.markBrokerReachable()
            return .message(Self.message(message, topic: topic))
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
            return .partitionEOF(KafkaTopicPartitionOffset(topic: topic, partition: m.partition, offset: m.offset))
        default:
            // For errors the payload holds librdkafka's error text.
            let text = m.payload.map {
                String(decoding: UnsafeRawBufferPointer(start: $0, count: m.len), as: UTF8.self)
            }
            let location = topic.isEmpty ? "consumer" : "\(topic)[\(m.partition)]"
            return .error(KafkaError.rdkafka(.consume, m.err, reason: "\(location): \(text ?? "consume error")"))
        }
    }

    private static func message(_ message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) -> KafkaMessage {
        let m = message.pointee
        func bytes(_ pointer: UnsafeMutableRawPointer?, _ count: Int) -> [UInt8]? {
            guard let pointer else { return nil }
            return Array(UnsafeRawBufferPointer(start: pointer, count: count))
        }
        var headers: [KafkaHeader] = []
        var headerList: OpaquePointer?
        if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(
                    KafkaHeader(
                        key: name.map { String(cString: $0) } ?? "",
                        value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
                    )
                )
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return KafkaMessage(
            topic: topic,
            partition: m.partition,
            offset: m.offset,
            key: bytes(m.key, m.key_len),
            value: bytes(m.payload, m.len),
            headers: headers,
            timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
        )
    }

    /// librdkafka's rebalance callback: assign (at the owner's start offsets) or revoke, then report it.
    static func handleRebalance(
        _ rk: OpaquePointer,
        _ err: rd_kafka_resp_err_t,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        callbacks: RDKafkaCallbacks
    ) {
        let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) } == "COOPERATIVE"
        let client = String(cString: rd_kafka_name(rk))
        let listed = partitions.map { RDKafkaTopicPartitionList.entries(of: $0).map(\.offset.topicPartition) } ?? []

        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let offsets = callbacks.startOffsets?(listed) ?? [:]
            var assigned: [KafkaTopicPartitionOffset] = []
            if let partitions, let elements = partitions.pointee.elems {
                for index in 0..<Int(partitions.pointee.cnt) {
                    let topicPartition = listed[index]
                    let offset = offsets[topicPartition] ?? KafkaOffset.invalid
                    elements[index].offset = offset
                    assigned.append(
                        KafkaTopicPartitionOffset(
                            topicPartition,
                            offset: offset == KafkaOffset.invalid ? KafkaOffset.stored : offset
                        )
                    )
                }
            }
            var failure: KafkaError?
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, partitions) {
                    failure = KafkaError.consuming(.partitions, error, reason: "incremental assign failed")
                }
            } else {
                let result = rd_kafka_assign(rk, partitions)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    failure = KafkaError.rdkafka(.partitions, result, reason: "assign failed")
                }
            }
            callbacks.logger.info(
                "Kafka partitions assigned",
                metadata: [
                    KafkaLogMetadataKey.client: "\(client)",
                    KafkaLogMetadataKey.partitions: "\(assigned.map(\.description).joined(separator: ","))",
                ]
            )
            callbacks.append(.assigned(assigned))
            if let failure { callbacks.error(failure, client: client) }

        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            callbacks.append(.revoked(listed))
            var failure: KafkaError?
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, partitions) {
                    failure = KafkaError.consuming(.partitions, error, reason: "incremental unassign failed")
                }
            } else {
                let result = rd_kafka_assign(rk, nil)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    failure = KafkaError.rdkafka(.partitions, result, reason: "unassign failed")
                }
            }
            callbacks.logger.info(
                "Kafka partitions revoked",
                metadata: [
                    KafkaLogMetadataKey.client: "\(client)",
                    KafkaLogMetadataKey.partitions: "\(listed.map(\.description).joined(separator: ","))",
                ]
            )
            if let failure { callbacks.error(failure, client: client) }

        default:
            // librdkafka's rule: on any other rebalance error, drop the assignment and let the group recover.
            _ = rd_kafka_assign(rk, nil)
            callbacks.error(KafkaError.rdkafka(.partitions, err, reason: "rebalance failed"), client: client)
        }
    }
}
