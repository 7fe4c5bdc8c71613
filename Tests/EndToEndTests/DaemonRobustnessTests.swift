import Checkpoints
import Foundation
import KafkaLog
import Logging
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

@Suite("unlearnd robustness", .serialized, .enabled(if: Kcat.path != nil, "kcat is not installed (apt-get install kcat)"), .blockingWaits)
struct DaemonRobustnessTests {
    static func request(_ fields: [String: Any]) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]))
    }

    static func base(_ id: String, model: String = "digits-a") -> [String: Any] {
        [
            "schema": "unlearn.deletion.v1", "request_id": id, "model": model, "scope": "subject", "subject": "dg-s0001",
            "requested_at": "2026-11-27T12:00:00Z",
        ]
    }

    /// Every rule of the deletion schema (docs/ARCHITECTURE.md, section 2.3) broken at least once, plus binary garbage and a 10 MB value:
    /// (name, key, value, expected reason code).
    static func corpus(sample: String) -> [(String, String?, [UInt8]?, String)] {
        func with(_ changes: [String: Any?]) -> [UInt8] {
            var f = base("bad")
            for (k, v) in changes { f[k] = v }
            return request(f)
        }
        /// The same JSON text in another encoding (no byte order mark).
        func encoded(_ utf8: [UInt8], _ encoding: String.Encoding) -> [UInt8] {
            Array(String(decoding: utf8, as: UTF8.self).data(using: encoding)!)
        }
        /// The JSON text with the first occurrence of `target` replaced (for syntax JSONSerialization cannot write).
        func replacing(_ utf8: [UInt8], _ target: String, _ replacement: String) -> [UInt8] {
            let text = String(decoding: utf8, as: UTF8.self)
            let range = text.range(of: target)!
            return Array(text.replacingCharacters(in: range, with: replacement).utf8)
        }
        let k = "digits-a"
        var cases: [(String, String?, [UInt8]?, String)] = [
            ("not JSON", k, Array("hello".utf8), "not_json"),
            ("no value", k, nil, "not_json"),
            ("truncated JSON", k, Array("{\"schema\":".utf8), "not_json"),
            ("invalid UTF-8", k, [0x7B, 0xFF, 0xFE, 0x7D], "not_utf8"),
            // Holds a zero byte (at 145) and stray continuation bytes: refused as not UTF-8 before any parsing.
            ("binary garbage", k, (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }, "not_utf8"),
            ("array", k, Array("[]".utf8), "wrong_type"),
            ("string", k, Array("\"x\"".utf8), "wrong_type"),
            ("number", k, Array("42".utf8), "wrong_type"),
            ("unknown schema version", k, with(["schema": "unlearn.deletion.v2"]), "unknown_schema"),
            ("schema wrong type", k, with(["schema": 1]), "wrong_type"),
            ("schema missing", k, with(["schema": nil]), "missing_field"),
            ("request_id missing", k, with(["request_id": nil]), "missing_field"),
            ("request_id empty", k, with(["request_id": ""]), "invalid_value"),
            ("request_id too long", k, with(["request_id": String(repeating: "x", count: 129)]), "invalid_value"),
            ("request_id number", k, with(["request_id": 7]), "wrong_type"),
            ("model missing", k, with(["model": nil]), "missing_field"),
            ("model invalid", k, with(["model": "Bad Model!"]), "invalid_value"),
            ("unknown model", "nope", with(["model": "nope"]), "unknown_model"),
            ("key mismatch", "digits-b", with([:]), "key_mismatch"),
            ("scope missing", k, with(["scope": nil]), "missing_field"),
            ("scope invalid", k, with(["scope": "user"]), "invalid_value"),
            ("sample_ids missing", k, with(["scope": "sample", "subject": nil]), "missing_field"),
            ("sample_ids empty", k, with(["scope": "sample", "subject": nil, "sample_ids": [String]()]), "invalid_value"),
            ("sample_ids > 1000", k, with(["scope": "sample", "subject": nil, "sample_ids": (0...1000).map { "s\($0)" }]), "invalid_value"),
            ("sample_ids not strings", k, with(["scope": "sample", "subject": nil, "sample_ids": [sample, 5]]), "wrong_type"),
            ("sample_ids a string", k, with(["scope": "sample", "subject": nil, "sample_ids": sample]), "wrong_type"),
            ("unknown sample id", k, with(["scope": "sample", "subject": nil, "sample_ids": [sample, "dg-99999"]]), "unknown_sample"),
            ("subject missing", k, with(["subject": nil]), "missing_field"),
            ("subject empty", k, with(["subject": ""]), "invalid_value"),
            ("subject unknown", k, with(["subject": "nobody"]), "empty_selection"),
            ("subject number", k, with(["subject": 5]), "wrong_type"),
            ("class missing", k, with(["scope": "class", "subject": nil]), "missing_field"),
            ("class string", k, with(["scope": "class", "subject": nil, "class": "3"]), "wrong_type"),
            ("class fraction", k, with(["scope": "class", "subject": nil, "class": 3.5]), "wrong_type"),
            ("class out of range", k, with(["scope": "class", "subject": nil, "class": 12]), "invalid_value"),
            ("extra field", k, with(["note": "hi"]), "extra_field"),
            ("field of another scope", k, with(["class": 3]), "extra_field"),
            ("requested_at missing", k, with(["requested_at": nil]), "missing_field"),
            ("requested_at invalid", k, with(["requested_at": "yesterday"]), "invalid_value"),
            ("over 64 KiB", k, with(["subject": String(repeating: "y", count: 70_000)]), "too_large"),
            // RFC 8259 strictly. Each of these was accepted before (Foundation's decoder reads UTF-16/32,
            // skips a BOM and a trailing comma, keeps the first duplicate key and rounds numbers through Double).
            ("UTF-16LE", k, encoded(with([:]), .utf16LittleEndian), "not_utf8"),
            ("UTF-16BE", k, encoded(with([:]), .utf16BigEndian), "not_utf8"),
            ("UTF-32LE", k, encoded(with([:]), .utf32LittleEndian), "not_utf8"),
            ("UTF-8 BOM", k, [0xEF, 0xBB, 0xBF] + with([:]), "not_utf8"),
            ("NUL in a string", k, replacing(with([:]), "\"bad\"", "\"b\u{0}d\""), "not_utf8"),
            ("trailing comma", k, replacing(with([:]), "}", ",}"), "not_json"),
            ("duplicate key", k, replacing(with([:]), "{", "{\"request_id\":\"bad-2\","), "duplicate_key"),
            ("class 1e-400", k, replacing(with(["scope": "class", "subject": nil, "class": 0]), "\"class\":0", "\"class\":1e-400"), "wrong_type"),
            (
                "class 0.99999999999999999999", k,
                replacing(with(["scope": "class", "subject": nil, "class": 0]), "\"class\":0", "\"class\":0.99999999999999999999"), "wrong_type"
            ),
            ("model with a final newline", k, with(["model": "digits-a\n"]), "invalid_value"),
        ]
        // The issue asks for a 10 MB value. librdkafka 2.0.2's mock broker cannot keep one: measured here, a value
        // of 6 MB or more empties the partition's log (its start offset jumps to the end), so nothing behind it could
        // be consumed. 4 MB (64x the limit) exercises the same path end to end; DeletionRequestTests decodes 10 MB.
        cases.append(("4 MB value", k, [UInt8](repeating: 0x41, count: 4 * 1024 * 1024), "too_large"))
        return cases
    }

    /// On the mock cluster and on Tansu; on Tansu the records go through Python's confluent-kafka (the test process's
    /// librdkafka 2.0.2 cannot talk to it), in the same order.
    @Test(
        "malformed events go to the dead-letter topic with their reason; valid ones are applied; the daemon keeps running",
        .timeLimit(.minutes(5)), arguments: Broker.allCases)
    func deadLetters(broker: Broker) async throws {
        let fixture = try await DaemonFixture(label: "dlq", models: ["digits-a", "digits-b"], broker: broker)
        do {
            let config = try fixture.writeConfig()
            let notify = try NotifySocket(directory: fixture.directory)
            let daemon = try fixture.startDaemon(config: config, notify: notify)
            try await daemon.waitUntilReady(notify: notify, timeout: .seconds(60))
            let bundle = try fixture.bundle("digits-a")
            let corpus = Self.corpus(sample: bundle.train.sampleIDs[0])
            #expect(corpus.count >= 30)

            var subjects = Array(Set(bundle.train.subjects.compactMap { $0 })).sorted()
            subjects.removeAll { $0 == "dg-s0001" }
            var valid: [String] = []
            var records: [PythonProducer.Record] = []
            for (i, bad) in corpus.enumerated() {
                records.append(PythonProducer.Record(key: bad.1.map { Array($0.utf8) }, value: bad.2))
                let id = "valid-\(i)"
                valid.append(id)
                records.append(
                    PythonProducer.Record(
                        key: Array("digits-a".utf8), value: Array(Requests.json(id: id, model: "digits-a", scope: .subject(subjects[i])).utf8)))
            }
            let properties = ["message.max.bytes": "16000000"]
            switch broker {
            case .mock:
                var logger = Logger(label: "test")
                logger.logLevel = .error
                let producer = try KafkaProducer(
                    configuration: KafkaConfiguration(bootstrapServers: fixture.broker.bootstrapServers, properties), logger: logger)
                for record in records { try await producer.send(topic: "unlearn.deletions", key: record.key, value: record.value) }
                try await producer.close()
            case .tansu:
                try PythonProducer.send(
                    records, topic: "unlearn.deletions", bootstrap: fixture.broker.bootstrapServers, properties: properties,
                    directory: fixture.directory)
            }

            _ = try await fixture.waitForLedger("digits-a", contains: Set(valid))
            let dead = try await eventually(.seconds(60), "\(corpus.count) dead letters") {
                let records = try fixture.consume(topic: "unlearn.deletions.dlq")
                return records.count >= corpus.count ? records : nil
            }
            #expect(dead.count == corpus.count)
            let reasons = dead.compactMap { record -> String? in
                let headers = record.components(separatedBy: "\u{1}").dropFirst().first ?? ""
                return headers.split(separator: ",").first { $0.hasPrefix("reason=") }.map { String($0.dropFirst("reason=".count)) }
            }
            #expect(reasons.sorted() == corpus.map(\.3).sorted(), "dead-letter reasons: \(reasons)")
            #expect(daemon.isRunning, "the daemon exited: \(fixture.logs)")
            #expect(!daemon.stderr.contains("nobody"), "an identity leaked into the logs")
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    @Test("SIGTERM during a batch: exit 0 within 10 s, state durable, READY and STOPPING sent", .timeLimit(.minutes(3)))
    func sigterm() async throws {
        let fixture = try await DaemonFixture(label: "sigterm", models: ["digits-a"])
        do {
            // Long batch wait: the requests are still batched when SIGTERM arrives, so shutdown must flush them.
            let config = try fixture.writeConfig(["batch": ["max_wait_ms": 60_000, "max_rows": 100_000]])
            let notify = try NotifySocket(directory: fixture.directory)
            let daemon = try fixture.startDaemon(config: config, notify: notify)
            try await daemon.waitUntilReady(notify: notify, timeout: .seconds(60))
            let bundle = try fixture.bundle("digits-a")
            let subjects = Array(Set(bundle.train.subjects.compactMap { $0 })).sorted().prefix(20)
            let ids = subjects.indices.map { "term-\($0)" }
            try Kcat.produce(
                bootstrap: fixture.broker.bootstrapServers, topic: "unlearn.deletions",
                lines: zip(ids, subjects).map { Requests.line(id: $0, model: "digits-a", scope: .subject($1)) }
            )
            // Wait until the daemon has consumed them (the consumed counter in its metrics), then stop it.
            let metrics = fixture.stateDirectory + "/metrics/unlearnd.prom"
            _ = try await eventually(.seconds(60), "20 requests consumed") {
                let text = (try? String(contentsOfFile: metrics, encoding: .utf8)) ?? ""
                return text.contains("unlearnd_requests_consumed_total 20") ? true : nil
            }
            // Well inside the unit's TimeoutStopSec=30 (Deploy/systemd/unlearnd.service); nil (still running) fails below.
            daemon.signal(SIGTERM)
            let status = await daemon.waitForExit(timeout: .seconds(10))
            #expect(status == 0, "exit status \(String(describing: status)): \(fixture.logs)")
            #expect(notify.saw("READY=1"))
            #expect(notify.saw("STOPPING=1"))
            let newest = try #require(try fixture.newest("digits-a"))
            #expect(Set(ids).isSubset(of: Set(newest.manifest.appliedRequestIds)), "batched requests were not made durable at shutdown")
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }
}
