import Foundation
import ProcessHarness

/// Publishes raw records (any bytes, absent keys and values) with Python's confluent-kafka, which loads its wheel's
/// librdkafka: for Tansu, which the test process's own librdkafka 2.0.2 cannot talk to.
enum PythonProducer {
    struct Record {
        var key: [UInt8]?
        var value: [UInt8]?
    }

    /// Sends the records in order and waits until every one is delivered; a failed delivery fails the call.
    static func send(
        _ records: [Record], topic: String, bootstrap: String, properties: [String: String] = [:], directory: URL
    ) throws {
        let input: [String: Any] = [
            "config": properties.merging(["bootstrap.servers": bootstrap]) { $1 },
            "topic": topic,
            "records": records.map { r in [r.key, r.value].map { $0.map { Data($0).base64EncodedString() } ?? NSNull() as Any } },
        ]
        let path = directory.appendingPathComponent("records-\(UUID().uuidString.prefix(8)).json").path
        try JSONSerialization.data(withJSONObject: input).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try ProcessRunner.run("/usr/bin/env", ["python3", "-c", script, path])
        guard result.status == 0 else { throw HarnessError("python3 confluent-kafka producer exited with \(result.status): \(result.stderrText)") }
    }

    /// Starts a producer that sends each `key<TAB>value` line written to its stdin (`ChildProcess.send`) as it
    /// arrives, and on end of input waits until every one is delivered, exiting 0 only then. Unlike kcat, which
    /// gives up when all brokers are down, it keeps the messages queued through an outage (message.timeout.ms, 300 s).
    static func stream(topic: String, bootstrap: String, name: String, directory: URL) throws -> ChildProcess {
        let config = String(decoding: try JSONSerialization.data(withJSONObject: ["bootstrap.servers": bootstrap]), as: UTF8.self)
        return try ChildProcess(
            executable: "/usr/bin/env", arguments: ["python3", "-c", streamScript, config, topic], name: name, stdout: .discard,
            stderr: .file(directory.appendingPathComponent("\(name).stderr").path)
        )
    }

    static let streamScript = #"""
        import json, sys
        from confluent_kafka import Producer

        failures = []
        def delivered(error, message):
            if error is not None:
                failures.append(str(error))
        producer = Producer({**json.loads(sys.argv[1]), "error_cb": lambda error: print(error, file=sys.stderr, flush=True)})
        while True:
            line = sys.stdin.readline()
            if not line:
                break
            key, _, value = line.rstrip("\n").partition("\t")
            producer.produce(sys.argv[2], key=key.encode(), value=value.encode(), on_delivery=delivered)
            producer.poll(0)
        left = producer.flush(120)
        if left or failures:
            sys.exit(f"{left} undelivered, failures: {failures[:5]}")
        """#

    static let script = #"""
        import base64, json, sys
        from confluent_kafka import Producer

        with open(sys.argv[1], encoding="utf-8") as f:
            spec = json.load(f)
        failures = []
        def delivered(error, message):
            if error is not None:
                failures.append(str(error))
        producer = Producer(spec["config"])
        decode = lambda b: None if b is None else base64.b64decode(b)
        for key, value in spec["records"]:
            producer.produce(spec["topic"], key=decode(key), value=decode(value), on_delivery=delivered)
            producer.poll(0)
        left = producer.flush(120)
        if left or failures:
            sys.exit(f"{left} undelivered, failures: {failures[:5]}")
        """#
}
