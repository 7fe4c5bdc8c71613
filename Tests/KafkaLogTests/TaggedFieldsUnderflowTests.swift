import Logging
import Testing

@testable import KafkaLog

/// The "librdkafka too old for this broker" error. The strings are what librdkafka 2.0.2 (Debian 12) reported
/// against Tansu 0.6, a broker that sends tagged fields in ApiVersions as KRaft-mode Kafka does: the log line as
/// the log callback receives it (thread name first, `log.thread.name=true` by default), and the reason of the
/// `_TRANSPORT` error the error callback receives.
@Suite("librdkafka older than 2.2 against a tagged-fields broker")
struct TaggedFieldsUnderflowTests {
    static let version202: Int32 = 0x0200_02ff
    static let version216: Int32 = 0x0210_00ff

    static let logLine =
        "[thrd:127.0.0.1:19092/bootstrap]: 127.0.0.1:19092/bootstrap: ApiVersionRequest failed: "
        + "Local: Read underflow: probably due to broker version < 0.10 (see api.version.request configuration) "
        + "(after 27ms in state APIVERSION_QUERY)"
    static let suppressedLogLine =
        "[thrd:127.0.0.1:19092/bootstrap]: 127.0.0.1:19092/bootstrap: ApiVersionRequest "
        + "failed: Local: Read underflow: probably due to broker version < 0.10 (see api.version.request "
        + "configuration) (after 8ms in state APIVERSION_QUERY, 1 identical error(s) suppressed)"
    static let errorReason =
        "127.0.0.1:19092/bootstrap: ApiVersionRequest failed: Local: Read underflow: probably "
        + "due to broker version < 0.10 (see api.version.request configuration) (after 4ms in state APIVERSION_QUERY)"
        + ": Local: Broker transport failure"

    @Test("2.0.2's log line and error reason are recognised", arguments: [logLine, suppressedLogLine, errorReason])
    func recognisesTheRealStrings(text: String) {
        #expect(LibRdKafka.isTaggedFieldsUnderflow(text, versionNumber: Self.version202))
    }

    @Test("the same text from librdkafka >= 2.2 is not blamed on the version")
    func newerVersionsAreNotBlamed() {
        #expect(!LibRdKafka.isTaggedFieldsUnderflow(Self.logLine, versionNumber: 0x0202_0000))
        #expect(!LibRdKafka.isTaggedFieldsUnderflow(Self.logLine, versionNumber: Self.version216))
    }

    @Test(
        "other connection failures are not this one",
        arguments: [
            "[thrd:127.0.0.1:9/bootstrap]: 127.0.0.1:9/bootstrap: Connect to ipv4#127.0.0.1:9 failed: Connection refused "
                + "(after 0ms in state CONNECT)",
            "1/1 brokers are down: Local: All broker connections are down",
            // An underflow in another response is a broker or protocol bug, not the ApiVersions tagged fields.
            "[thrd:main]: 127.0.0.1:19092/1: Protocol parse failure for Metadata v9 (corrid 5): Local: Read underflow",
            "[thrd:127.0.0.1:19092/bootstrap]: 127.0.0.1:19092/bootstrap: ApiVersionRequest failed: Local: Timed out",
        ])
    func otherFailuresAreNotMatched(text: String) {
        #expect(!LibRdKafka.isTaggedFieldsUnderflow(text, versionNumber: Self.version202))
    }

    @Test("the callbacks log one error naming 2.2 and the README section, however often librdkafka repeats itself")
    func callbacksLogOneClearError() throws {
        // The check uses the linked version; with >= 2.2 on LD_LIBRARY_PATH nothing may be logged at all.
        let capture = LogCapture()
        let callbacks = RDKafkaCallbacks(logger: capture.logger(), collectsEvents: false, tooOldReport: AtomicFlag(false))
        callbacks.log(level: 4, facility: "FAIL", message: Self.logLine, client: "rdkafka#consumer-1")
        callbacks.log(level: 4, facility: "FAIL", message: Self.suppressedLogLine, client: "rdkafka#consumer-1")
        callbacks.error(KafkaError(.client, reason: Self.errorReason), client: "rdkafka#consumer-1")
        let clear = capture.all.filter { $0.message.contains("librdkafka is too old for this broker") }
        guard !LibRdKafka.meetsProductionMinimum else {
            #expect(clear.isEmpty, "librdkafka \(LibRdKafka.version) was blamed")
            return
        }
        try #require(clear.count == 1, "\(capture.all.map(\.message))")
        #expect(clear[0].level == .error)
        let reason = try #require(clear[0].metadata[KafkaLogMetadataKey.reason])
        #expect(reason.contains("librdkafka >= 2.2"))
        #expect(reason.contains("\"Against a real broker\""))
        #expect(clear[0].metadata[KafkaLogMetadataKey.librdkafkaVersion] == LibRdKafka.version)
    }
}
