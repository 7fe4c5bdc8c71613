import Foundation
import KafkaLog
import Logging
import ProcessHarness
import UnlearnSupport

/// Log records kept in memory, so tests can check what reached swift-log.
final class LogCapture: Sendable {
    struct Record: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let records = LockedValue<[Record]>([])

    var all: [Record] { records.value }

    func append(_ record: Record) { records.withLock { $0.append(record) } }

    /// A logger writing here (and to stderr when KAFKALOG_TEST_VERBOSE is set).
    func logger(_ label: String = "KafkaLogTests", level: Logger.Level = .debug) -> Logger {
        let verbose = ProcessInfo.processInfo.environment["KAFKALOG_TEST_VERBOSE"] != nil
        var logger = Logger(label: label) { label in
            let capturing = CapturingHandler(capture: self)
            guard verbose else { return capturing }
            return MultiplexLogHandler([capturing, StreamLogHandler.standardError(label: label)])
        }
        logger.logLevel = level
        return logger
    }
}

private struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        for (key, value) in event.metadata ?? [:] { merged[key] = value }
        capture.append(
            LogCapture.Record(
                level: event.level,
                message: "\(event.message)",
                metadata: merged.mapValues { "\($0)" }
            )
        )
    }
}

/// A logger for tests that do not inspect logs: quiet unless KAFKALOG_TEST_VERBOSE is set.
func testLogger(_ label: String = "KafkaLogTests") -> Logger {
    LogCapture().logger(label, level: ProcessInfo.processInfo.environment["KAFKALOG_TEST_DEBUG"] == nil ? .info : .debug)
}

/// Consumer settings for tests. A short session timeout, because librdkafka 2.0.2's mock coordinator delays
/// every rebalance after a member left by (session.timeout.ms - 1 s). The metadata refresh interval stays at its
/// default: with `topic.metadata.refresh.interval.ms=1000`, 2.0.2 consumers often logged "Metadata for
/// subscribed topic(s) has changed" right after joining and rejoined, each rejoin costing that delay again
/// (5 s loops, up to 50 s to an assignment); with the default, 8 of 8 restarts joined at the first attempt.
func consumerConfiguration(_ bootstrap: String, _ extra: [String: String] = [:]) -> KafkaConfiguration {
    var properties = [
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "500",
    ]
    // KAFKALOG_TEST_DEBUG=cgrp,protocol (with KAFKALOG_TEST_VERBOSE) shows librdkafka's debug lines.
    if let debug = ProcessInfo.processInfo.environment["KAFKALOG_TEST_DEBUG"] { properties["debug"] = debug }
    properties.merge(extra) { $1 }
    return KafkaConfiguration(bootstrapServers: bootstrap, properties)
}

func producerConfiguration(_ bootstrap: String, _ extra: [String: String] = [:]) -> KafkaConfiguration {
    var properties = ["linger.ms": "0"]
    properties.merge(extra) { $1 }
    return KafkaConfiguration(bootstrapServers: bootstrap, properties)
}

/// A producer with the test settings and logger.
func testProducer(_ bootstrap: String, _ extra: [String: String] = [:]) throws -> KafkaProducer {
    try KafkaProducer(configuration: producerConfiguration(bootstrap, extra), logger: testLogger())
}

/// A consumer of `group` with the test settings and logger.
func testConsumer(_ bootstrap: String, group: String, _ extra: [String: String] = [:]) throws -> KafkaConsumer {
    try KafkaConsumer(configuration: consumerConfiguration(bootstrap, extra), groupID: group, logger: testLogger())
}

extension KafkaConsumer {
    /// Polls until `done` holds for everything collected so far, or throws at the deadline.
    @discardableResult
    func poll(
        timeout: Duration = .seconds(45),
        until what: String,
        _ done: ([KafkaConsumerEvent]) -> Bool
    ) async throws -> [KafkaConsumerEvent] {
        var collected: [KafkaConsumerEvent] = []
        let deadline = ContinuousClock.now + timeout
        while !done(collected) {
            guard ContinuousClock.now < deadline else {
                throw HarnessError(
                    "timed out after \(timeout) waiting for \(what); got \(collected.summary)"
                )
            }
            collected += try await poll(timeout: .milliseconds(200))
        }
        return collected
    }

    /// Polls until `count` messages arrived; returns them.
    func messages(_ count: Int, timeout: Duration = .seconds(45)) async throws -> [KafkaMessage] {
        try await poll(timeout: timeout, until: "\(count) messages") { $0.messages.count >= count }.messages
    }
}

extension [KafkaConsumerEvent] {
    var messages: [KafkaMessage] {
        compactMap { if case .message(let message) = $0 { message } else { nil } }
    }

    var assignments: [[KafkaTopicPartitionOffset]] {
        compactMap { if case .assigned(let partitions) = $0 { partitions } else { nil } }
    }

    var revocations: [[KafkaTopicPartition]] {
        compactMap { if case .revoked(let partitions) = $0 { partitions } else { nil } }
    }

    var statistics: [KafkaStatistics] {
        compactMap { if case .statistics(let statistics) = $0 { statistics } else { nil } }
    }

    var summary: String {
        "\(messages.count) messages, assignments \(assignments), revocations \(revocations), "
            + "\(statistics.count) statistics"
    }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

extension Optional where Wrapped == [UInt8] {
    var text: String? { map { String(decoding: $0, as: UTF8.self) } }
}
