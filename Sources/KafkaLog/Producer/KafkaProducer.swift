import CRdKafka
import Dispatch
import Logging

/// A producer whose ``send(topic:key:value:headers:partition:)`` returns only once the broker acknowledged the
/// message (its delivery report arrived), so the caller may rely on the message being in the log.
///
/// A dedicated queue polls librdkafka for delivery reports, errors and statistics; flush and close run on a
/// second one. Call ``close(timeout:)`` before dropping the producer.
public final class KafkaProducer: Sendable {
    private let handle: RDKafkaHandle
    private let controlQueue: BlockingExecutor
    private let pollQueue: DispatchQueue
    private let polling = AtomicFlag(true)
    private let logger: Logger

    /// Creates a producer. `configuration` must hold `bootstrap.servers`; anything librdkafka accepts passes
    /// through (librdkafka's defaults already wait for all in-sync replicas: `acks=all`).
    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        let callbacks = RDKafkaCallbacks(logger: logger, collectsEvents: false)
        let handle = try RDKafkaHandle.make(kind: .producer, configuration: configuration, callbacks: callbacks)
        self.handle = handle
        self.logger = logger
        let name = handle.name
        controlQueue = BlockingExecutor(label: "KafkaLog.\(name).control")
        pollQueue = DispatchQueue(label: "KafkaLog.\(name).poll")
        logger.info(
            "Kafka producer created",
            metadata: [
                KafkaLogMetadataKey.client: "\(name)",
                KafkaLogMetadataKey.configuration: "\(configuration)",
                KafkaLogMetadataKey.librdkafkaVersion: "\(LibRdKafka.version)",
            ]
        )
        pollQueue.async { [polling] in
            // Serves delivery reports, errors and statistics until close; each wait is bounded so that close
            // is noticed promptly.
            while polling.isSet {
                rd_kafka_poll(handle.pointer, 100)
            }
        }
    }

    deinit {
        polling.set(false)
    }

    /// The client instance name (`rdkafka#producer-N`).
    public var name: String { handle.name }

    /// Broker health as seen by this producer.
    public var health: KafkaHealth { handle.callbacks.health }

    /// The latest statistics snapshot (with `statistics.interval.ms` > 0).
    public var latestStatistics: KafkaStatistics? { handle.callbacks.statistics }

    /// Messages enqueued whose delivery report has not arrived yet.
    public var pendingDeliveries: Int { handle.callbacks.pendingDeliveries }

    /// Sends one message and returns where it landed once the broker acknowledged it, or throws the delivery
    /// error (e.g. `_MSG_TIMED_OUT` after `message.timeout.ms`). While brokers are down librdkafka keeps
    /// retrying until that timeout, so this call waits through short outages. Not cancellable: the report is
    /// bounded by `message.timeout.ms`.
    ///
    /// - Parameters:
    ///   - partition: a fixed partition, or nil for the configured partitioner (by key).
    @discardableResult
    public func send(
        topic: String,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        partition: Int32? = nil
    ) async throws -> KafkaDeliveryReport {
        let handle = handle
        return try await withCheckedThrowingContinuation { continuation in
            guard let id = handle.callbacks.registerDelivery(continuation) else {
                continuation.resume(throwing: KafkaError(.closed, reason: "send on a closed producer"))
                return
            }
            if let error = Self.produce(
                handle.pointer,
                topic: topic,
                key: key,
                value: value,
                headers: headers,
                partition: partition,
                opaque: UnsafeMutableRawPointer(bitPattern: id)
            ) {
                // Not enqueued: no delivery report will come.
                handle.callbacks.takeDelivery(id)?.resume(throwing: error)
            }
        }
    }

    /// Waits until every enqueued message has its delivery report, or throws ``KafkaError/Code/timeout``.
    public func flush(timeout: Duration) async throws {
        let handle = handle
        let timeoutMilliseconds = KafkaConsumer.milliseconds(timeout)
        try await controlQueue.run {
            let err = rd_kafka_flush(handle.pointer, timeoutMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError.rdkafka(
                    .timeout,
                    err,
                    reason: "\(rd_kafka_outq_len(handle.pointer)) messages or requests still in flight after flush"
                )
            }
        }
    }

    /// Flushes for up to `timeout`, then stops: later sends throw, and sends still waiting fail with
    /// ``KafkaError/Code/closed``. Idempotent. Throws the flush timeout after closing anyway.
    public func close(timeout: Duration = .seconds(10)) async throws {
        var flushError: (any Error)?
        do {
            try await flush(timeout: timeout)
        } catch {
            flushError = error
        }
        let handle = handle
        handle.callbacks.stopAcceptingDeliveries()
        try await controlQueue.run { [polling] in
            guard polling.exchange(false) else { return }
            // Fail what is still queued, and serve the resulting delivery reports.
            _ = rd_kafka_purge(handle.pointer, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            rd_kafka_poll(handle.pointer, 0)
        }
        handle.callbacks.failAllDeliveries(KafkaError(.closed, reason: "the producer was closed before delivery"))
        logger.info("Kafka producer closed", metadata: [KafkaLogMetadataKey.client: "\(handle.name)"])
        if let flushError { throw flushError }
    }

    /// Topic metadata from the brokers.
    public func topics(timeout: Duration = .seconds(10)) async throws -> [KafkaTopicMetadata] {
        let handle = handle
        let timeoutMilliseconds = KafkaConsumer.milliseconds(timeout)
        return try await controlQueue.run { try handle.topics(timeoutMilliseconds: timeoutMilliseconds) }
    }

    // MARK: Internals

    /// Enqueues a message (librdkafka copies key, value and headers); returns the error if it was not enqueued.
    private static func produce(
        _ rk: OpaquePointer,
        topic: String,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [KafkaHeader],
        partition: Int32?,
        opaque: UnsafeMutableRawPointer?
    ) -> KafkaError? {
        var headerList: OpaquePointer?
        if !headers.isEmpty {
            headerList = rd_kafka_headers_new(headers.count)
            for header in headers {
                if let value = header.value {
                    value.withUnsafeBytes { bytes in
                        _ = rd_kafka_header_add(headerList, header.key, -1, bytes.baseAddress, bytes.count)
                    }
                } else {
                    _ = rd_kafka_header_add(headerList, header.key, -1, nil, 0)
                }
            }
        }

        let error: OpaquePointer? = topic.withCString { topicName in
            withOptionalBytes(key) { keyBytes in
                withOptionalBytes(value) { valueBytes in
                    var values: [rd_kafka_vu_t] = []
                    var entry = rd_kafka_vu_t()
                    entry.vtype = RD_KAFKA_VTYPE_TOPIC
                    entry.u.cstr = topicName
                    values.append(entry)

                    entry = rd_kafka_vu_t()
                    entry.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    entry.u.i = RD_KAFKA_MSG_F_COPY
                    values.append(entry)

                    if let partition {
                        entry = rd_kafka_vu_t()
                        entry.vtype = RD_KAFKA_VTYPE_PARTITION
                        entry.u.i32 = partition
                        values.append(entry)
                    }
                    if let keyBytes {
                        entry = rd_kafka_vu_t()
                        entry.vtype = RD_KAFKA_VTYPE_KEY
                        entry.u.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                        entry.u.mem.size = keyBytes.count
                        values.append(entry)
                    }
                    if let valueBytes {
                        entry = rd_kafka_vu_t()
                        entry.vtype = RD_KAFKA_VTYPE_VALUE
                        entry.u.mem.ptr = UnsafeMutableRawPointer(mutating: valueBytes.baseAddress)
                        entry.u.mem.size = valueBytes.count
                        values.append(entry)
                    }
                    if let headerList {
                        entry = rd_kafka_vu_t()
                        entry.vtype = RD_KAFKA_VTYPE_HEADERS
                        entry.u.headers = headerList
                        values.append(entry)
                    }
                    entry = rd_kafka_vu_t()
                    entry.vtype = RD_KAFKA_VTYPE_OPAQUE
                    entry.u.ptr = opaque
                    values.append(entry)

                    return rd_kafka_produceva(rk, values, values.count)
                }
            }
        }
        guard let error else { return nil }  // Enqueued; librdkafka owns the headers now.
        if let headerList { rd_kafka_headers_destroy(headerList) }
        return KafkaError.consuming(.produce, error, reason: "enqueueing a message for \(topic) failed")
    }

    /// librdkafka's delivery report callback: resume the waiting ``send(topic:key:value:headers:partition:)``.
    static func handleDeliveryReport(_ message: UnsafePointer<rd_kafka_message_t>, callbacks: RDKafkaCallbacks) {
        let m = message.pointee
        guard let opaque = m._private,
            let continuation = callbacks.takeDelivery(UInt(bitPattern: opaque))
        else { return }
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            callbacks.markBrokerReachable()
            continuation.resume(returning: KafkaDeliveryReport(topic: topic, partition: m.partition, offset: m.offset))
        } else {
            continuation.resume(
                throwing: KafkaError.rdkafka(.delivery, m.err, reason: "delivery to \(topic) failed")
            )
        }
    }
}

/// Calls `body` with the bytes of `array`, or with nil when `array` is nil. An empty array yields an empty
/// (non-nil) buffer so that an empty value stays distinct from a null one.
private func withOptionalBytes<R>(_ array: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let array else { return body(nil) }
    if array.isEmpty {
        var zero: UInt8 = 0
        return withUnsafeBytes(of: &zero) { body(UnsafeRawBufferPointer(start: $0.baseAddress, count: 0)) }
    }
    return array.withUnsafeBytes { body($0) }
}
