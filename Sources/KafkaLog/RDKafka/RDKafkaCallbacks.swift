import CRdKafka
import Logging
import Synchronization

/// The state librdkafka's callbacks write to. One per client handle; librdkafka gets it as the unretained
/// `opaque` pointer, and the owning ``RDKafkaHandle`` keeps it alive until after `rd_kafka_destroy`.
///
/// Callbacks run on librdkafka's threads (log lines) or on whichever thread polls (everything else), so all
/// mutable state sits behind one mutex, and continuations are resumed outside it.
final class RDKafkaCallbacks: Sendable {
    typealias StartOffsets = @Sendable ([KafkaTopicPartition]) -> [KafkaTopicPartition: Int64]

    struct State: ~Copyable {
        var health = KafkaHealth()
        var statistics: KafkaStatistics?
        /// Consumer events raised by callbacks during a poll, drained by that poll.
        var pendingEvents: [KafkaConsumerEvent] = []
        var deliveries: [UInt: CheckedContinuation<KafkaDeliveryReport, any Error>] = [:]
        var nextDeliveryID: UInt = 1
        var acceptsDeliveries = true
    }

    /// Set once the "librdkafka too old for this broker" error was logged, by any client of the process: the
    /// consumer and the producers of one daemon meet the same broker, and one clear line is enough.
    static let processTooOldReport = AtomicFlag(false)

    let logger: Logger
    let collectsEvents: Bool
    let startOffsets: StartOffsets?
    let tooOldReport: AtomicFlag
    private let state = Mutex(State())

    init(logger: Logger, collectsEvents: Bool, startOffsets: StartOffsets? = nil, tooOldReport: AtomicFlag = processTooOldReport) {
        self.logger = logger
        self.collectsEvents = collectsEvents
        self.startOffsets = startOffsets
        self.tooOldReport = tooOldReport
    }

    deinit {
        // Only reached after rd_kafka_destroy: no delivery report can arrive any more.
        failAllDeliveries(KafkaError(.closed, reason: "the producer was destroyed before the delivery report arrived"))
    }

    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaCallbacks? {
        opaque.map { Unmanaged<RDKafkaCallbacks>.fromOpaque($0).takeUnretainedValue() }
    }

    // MARK: State access

    var health: KafkaHealth { state.withLock { $0.health } }
    var statistics: KafkaStatistics? { state.withLock { $0.statistics } }

    func drainEvents() -> [KafkaConsumerEvent] {
        state.withLock { state in
            defer { state.pendingEvents.removeAll() }
            return state.pendingEvents
        }
    }

    func append(_ event: KafkaConsumerEvent) {
        guard collectsEvents else { return }
        state.withLock { $0.pendingEvents.append(event) }
    }

    /// Something reached a broker: the outage (if any) is over.
    func markBrokerReachable() {
        state.withLock { $0.health.allBrokersDown = false }
    }

    func registerDelivery(_ continuation: CheckedContinuation<KafkaDeliveryReport, any Error>) -> UInt? {
        state.withLock { state in
            guard state.acceptsDeliveries else { return nil }
            let id = state.nextDeliveryID
            state.nextDeliveryID &+= 1
            if state.nextDeliveryID == 0 { state.nextDeliveryID = 1 }
            state.deliveries[id] = continuation
            return id
        }
    }

    func takeDelivery(_ id: UInt) -> CheckedContinuation<KafkaDeliveryReport, any Error>? {
        state.withLock { $0.deliveries.removeValue(forKey: id) }
    }

    var pendingDeliveries: Int { state.withLock { $0.deliveries.count } }

    func stopAcceptingDeliveries() {
        state.withLock { $0.acceptsDeliveries = false }
    }

    func failAllDeliveries(_ error: KafkaError) {
        let waiting = state.withLock { state in
            defer { state.deliveries.removeAll() }
            return Array(state.deliveries.values)
        }
        for continuation in waiting { continuation.resume(throwing: error) }
    }

    // MARK: Callback bodies

    func log(level: Int32, facility: String, message: String, client: String) {
        defer { reportIfTooOld(message, client: client) }
        logger.log(
            level: Self.logLevel(syslog: level),
            "\(message)",
            metadata: [
                KafkaLogMetadataKey.client: "\(client)",
                KafkaLogMetadataKey.facility: "\(facility)",
                KafkaLogMetadataKey.syslogLevel: "\(level)",
            ]
        )
    }

    /// librdkafka logs with syslog levels (0 emergency ... 7 debug).
    static func logLevel(syslog level: Int32) -> Logger.Level {
        switch level {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    }

    /// Logs one error naming the librdkafka version a broker needs when `text` is the way librdkafka before 2.2
    /// fails against brokers with tagged fields (``LibRdKafka/isTaggedFieldsUnderflow(_:versionNumber:)``).
    /// librdkafka itself keeps reconnecting and repeating its own, misleading, line.
    func reportIfTooOld(_ text: String, client: String) {
        guard LibRdKafka.isTaggedFieldsUnderflow(text), !tooOldReport.exchange(true) else { return }
        logger.error(
            "librdkafka is too old for this broker: its ApiVersions response has tagged fields, which librdkafka before 2.2 cannot read",
            metadata: [
                KafkaLogMetadataKey.client: "\(client)",
                KafkaLogMetadataKey.librdkafkaVersion: "\(LibRdKafka.version)",
                KafkaLogMetadataKey.reason: """
                install librdkafka >= \(LibRdKafka.minimumProductionVersion) (see the README, \
                "\(LibRdKafka.realBrokerReadmeSection)"); librdkafka's own message blames the broker version wrongly
                """,
            ]
        )
    }

    func error(_ error: KafkaError, client: String) {
        defer { reportIfTooOld(error.reason, client: client) }
        let isAllBrokersDown = error.librdkafkaError == .allBrokersDown
        state.withLock { state in
            state.health.lastError = error
            state.health.errorCount += 1
            if isAllBrokersDown { state.health.allBrokersDown = true }
            if error.code == .fatal { state.health.fatalError = error }
        }
        let metadata: Logger.Metadata = [
            KafkaLogMetadataKey.client: "\(client)",
            KafkaLogMetadataKey.errorCode: "\(error.librdkafkaError?.name ?? "unknown")",
            KafkaLogMetadataKey.reason: "\(error.reason)",
        ]
        if error.code == .fatal {
            logger.critical("librdkafka fatal error; the client must be recreated", metadata: metadata)
        } else if isAllBrokersDown {
            logger.error("all Kafka brokers are down; librdkafka keeps retrying", metadata: metadata)
        } else {
            logger.warning("librdkafka client error", metadata: metadata)
        }
        append(.error(error))
    }

    func statistics(json: UnsafeBufferPointer<UInt8>) {
        do {
            let statistics = try KafkaStatistics(json: json)
            state.withLock { state in
                state.statistics = statistics
                if statistics.anyBrokerUp { state.health.allBrokersDown = false }
            }
            append(.statistics(statistics))
        } catch {
            logger.warning(
                "cannot parse librdkafka statistics JSON",
                metadata: [KafkaLogMetadataKey.reason: "\(error)"]
            )
        }
    }
}
