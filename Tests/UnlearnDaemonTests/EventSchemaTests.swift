import Foundation
import ProcessHarness
import Testing
import UnlearnDaemon

/// The JSON Schemas in Config/schemas against their examples and against the daemon's own code: every example is
/// valid or invalid as its file name says (checked with Python's `jsonschema`, an implementation nobody here wrote),
/// the daemon's decoder agrees with the schema on every example and on generated boundary cases, and what the Swift
/// code encodes validates.
@Suite("Event JSON Schemas", .serialized, .timeLimit(.minutes(2)))
struct EventSchemaTests {
    static let deletionSchema = "deletion-request.schema.json"
    static let retrainSchema = "retrain-event.schema.json"
    static let missingPython = "python3 with the jsonschema package is not available (pip install jsonschema; ./dev test installs it)"

    // MARK: Examples

    @Test("both schemas are valid draft 2020-12 schemas", .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
    func schemasAreWellFormed() throws {
        // check_schema runs inside the validator for each schema used; one trivial instance per schema suffices.
        let results = try JSONSchemaValidator.validate([
            (Self.deletionSchema, try Examples.text("deletion-request.valid.subject.json")),
            (Self.retrainSchema, try Examples.text("retrain-event.valid.privacy-budget.json")),
        ])
        #expect(results.allSatisfy { $0.valid }, "\(results)")
        for name in [Self.deletionSchema, Self.retrainSchema] {
            let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: Examples.schemaURL(name))) as? [String: Any]
            #expect(schema?["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema", "\(name)")
        }
    }

    @Test("every example is valid or invalid as its file name says", .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
    func examplesMatchTheirNames() throws {
        let examples = try Examples.all()
        #expect(examples.filter { $0.kind == .deletion && $0.valid }.count >= 3)
        #expect(examples.filter { $0.kind == .deletion && !$0.valid }.count >= 15)
        #expect(examples.filter { $0.kind == .retrain }.count >= 4)
        let results = try JSONSchemaValidator.validate(examples.map { ($0.schema, $0.text) })
        for (example, result) in zip(examples, results) {
            #expect(result.valid == example.valid, "\(example.name): schema says \(result.valid ? "valid" : "invalid: \(result.error ?? "")")")
        }
    }

    @Test("valid deletion examples decode; invalid ones are rejected with the reason code in their name")
    func decoderAgreesWithTheDeletionExamples() throws {
        for example in try Examples.all() where example.kind == .deletion {
            let result = DeletionRequestDecoder.decode(Array(example.text.utf8))
            if example.valid {
                #expect(throws: Never.self, "\(example.name)") { _ = try result.get() }
                // Decoding and encoding again gives the same JSON value (key order and spacing aside).
                if case .success(let request) = result {
                    #expect(try Self.jsonObject(request.encoded()) == Self.jsonObject(Array(example.text.utf8)), "\(example.name)")
                }
            } else {
                guard case .failure(let reason) = result else {
                    Issue.record("\(example.name) was accepted by the decoder")
                    continue
                }
                #expect(reason.code == example.expectedReason, "\(example.name): \(reason)")
            }
        }
    }

    @Test("valid retrain examples decode as RetrainEvent and encode back to the same JSON")
    func retrainExamplesDecode() throws {
        for example in try Examples.all() where example.kind == .retrain && example.valid {
            let event = try JSONDecoder().decode(RetrainEvent.self, from: Data(example.text.utf8))
            #expect(event.schema == RetrainEvent.schema)
            #expect(event.alertID == "\(event.model):\(event.alertID.split(separator: ":").last ?? "")")
            #expect(try Self.jsonObject(event.encoded()) == Self.jsonObject(Array(example.text.utf8)), "\(example.name)")
        }
    }

    // MARK: What the Swift code encodes

    @Test("requests encoded by DeletionRequest.encoded() validate, at every boundary the daemon allows", .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
    func encodedRequestsValidate() throws {
        let longID = String(repeating: "x", count: DeletionRequest.maxRequestIDLength)
        let requests = [
            DeletionRequest(requestID: "r-1", model: "digits", scope: .subject("dg-s0007"), requestedAt: "2026-11-27T12:00:00Z"),
            DeletionRequest(requestID: longID, model: "m", scope: .samples(["a"]), requestedAt: RFC3339.format(Date())),
            DeletionRequest(
                requestID: "r-2", model: String(repeating: "a", count: 64), scope: .samples((0..<DeletionRequest.maxSampleIDs).map { "s\($0)" }),
                requestedAt: "2026-11-27T12:00:00.5-08:00"
            ),
            DeletionRequest(requestID: "r-3", model: "0.a_b-c", scope: .class(0), requestedAt: "2026-11-27T23:59:59.999999+14:00"),
            DeletionRequest(requestID: "r-4", model: "digits", scope: .class(-3), requestedAt: "2026-11-27T12:00:00Z"),
            DeletionRequest(requestID: "r-5", model: "digits", scope: .class(Int.max), requestedAt: "2026-11-27T12:00:00Z"),
            DeletionRequest(requestID: "r-6", model: "digits", scope: .class(Int.min), requestedAt: "2026-11-27T12:00:00Z"),
            DeletionRequest(requestID: "ünïcödé ✓", model: "digits", scope: .subject("Zoë"), requestedAt: "2026-02-28T00:00:00Z"),
        ]
        let results = try JSONSchemaValidator.validate(requests.map { (Self.deletionSchema, String(decoding: $0.encoded(), as: UTF8.self)) })
        for (request, result) in zip(requests, results) {
            #expect(result.valid, "\(request.scope.name) \(request.requestID.prefix(16)): \(result.error ?? "")")
            #expect(try DeletionRequestDecoder.decode(request.encoded()).get() == request)
        }
    }

    @Test("events encoded by RetrainEvent.encoded() validate", .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
    func encodedRetrainEventsValidate() throws {
        // RetrainEvent has no public memberwise init: start from an example and set every field.
        let template = try JSONDecoder().decode(RetrainEvent.self, from: Data(try Examples.text("retrain-event.valid.privacy-budget.json").utf8))
        var first = template
        first.alertID = RetrainEvent.alertID(model: "digits", epoch: 1)
        first.epsilonSpent = 28.6
        first.emittedAt = RFC3339.format(Date())
        var second = template
        second.model = "m-2.b"
        second.alertID = RetrainEvent.alertID(model: "m-2.b", epoch: 12)
        second.reasons = ["privacy_budget", "removal_limit", "accuracy_drop", "max_removals"]
        second.epsilonSpent = 0
        second.epsilonBudget = 1e-3
        second.removalsSinceBase = 0
        second.residualRows = 0
        second.snapshotVersion = 1
        second.snapshotSHA256 = String(repeating: "0123456789abcdef", count: 4)
        second.tombstonesFile = "state/models/m-2.b/exclusions-epoch-12.txt"
        second.emittedAt = RFC3339.format(Date(timeIntervalSince1970: 0))
        let events = [first, second]
        let results = try JSONSchemaValidator.validate(try events.map { (Self.retrainSchema, String(decoding: try $0.encoded(), as: UTF8.self)) })
        for (event, result) in zip(events, results) {
            #expect(result.valid, "\(event.alertID): \(result.error ?? "")")
        }
    }

    // MARK: Differential: schema versus decoder on boundary cases

    /// Values just inside and just outside each rule; the schema and the decoder must agree on every one.
    static func boundaryCases() -> [(name: String, json: String)] {
        func request(_ fields: [String: String], removing: [String] = []) -> String {
            var all = [
                "schema": #""unlearn.deletion.v1""#, "request_id": #""r-1""#, "model": #""digits""#,
                "scope": #""subject""#, "subject": #""s1""#, "requested_at": #""2026-11-27T12:00:00Z""#,
            ]
            all.merge(fields) { $1 }
            for key in removing { all[key] = nil }
            return "{" + all.keys.sorted().map { "\"\($0)\":\(all[$0]!)" }.joined(separator: ",") + "}"
        }
        func ids(_ n: Int) -> String { "[" + (0..<n).map { "\"s\($0)\"" }.joined(separator: ",") + "]" }
        let sample: [String: String] = ["scope": #""sample""#]
        let byClass: [String: String] = ["scope": #""class""#]
        var cases: [(String, String)] = [
            ("request_id 128 chars", request(["request_id": "\"\(String(repeating: "r", count: 128))\""])),
            ("request_id 129 chars", request(["request_id": "\"\(String(repeating: "r", count: 129))\""])),
            ("request_id 1 char", request(["request_id": #""r""#])),
            ("request_id empty", request(["request_id": #""""#])),
            ("request_id null", request(["request_id": "null"])),
            ("model 64 chars", request(["model": "\"\(String(repeating: "m", count: 64))\""])),
            ("model 65 chars", request(["model": "\"\(String(repeating: "m", count: 65))\""])),
            ("model starting with a dot", request(["model": #"".digits""#])),
            ("model with a slash", request(["model": #""a/b""#])),
            ("model with a space", request(["model": #""a b""#])),
            ("model empty", request(["model": #""""#])),
            ("schema v1", request([:])),
            ("schema missing", request([:], removing: ["schema"])),
            ("schema as a number", request(["schema": "1"])),
            ("scope missing", request([:], removing: ["scope"])),
            ("scope uppercase", request(["scope": #""Subject""#])),
            ("1 sample id", request(sample.merging(["sample_ids": ids(1)]) { $1 }, removing: ["subject"])),
            ("1000 sample ids", request(sample.merging(["sample_ids": ids(1000)]) { $1 }, removing: ["subject"])),
            ("1001 sample ids", request(sample.merging(["sample_ids": ids(1001)]) { $1 }, removing: ["subject"])),
            ("repeated sample ids", request(sample.merging(["sample_ids": #"["a","a"]"#]) { $1 }, removing: ["subject"])),
            ("sample id null", request(sample.merging(["sample_ids": #"["a",null]"#]) { $1 }, removing: ["subject"])),
            ("sample scope with class", request(sample.merging(["sample_ids": ids(1), "class": "1"]) { $1 }, removing: ["subject"])),
            ("subject null", request(["subject": "null"])),
            ("subject scope with class", request(["class": "1"])),
            ("class 0", request(byClass.merging(["class": "0"]) { $1 }, removing: ["subject"])),
            ("class -1", request(byClass.merging(["class": "-1"]) { $1 }, removing: ["subject"])),
            ("class 7.0", request(byClass.merging(["class": "7.0"]) { $1 }, removing: ["subject"])),
            ("class 1e2", request(byClass.merging(["class": "1e2"]) { $1 }, removing: ["subject"])),
            ("class 7.5", request(byClass.merging(["class": "7.5"]) { $1 }, removing: ["subject"])),
            ("class Int64.max", request(byClass.merging(["class": "9223372036854775807"]) { $1 }, removing: ["subject"])),
            ("class Int64.max + 1", request(byClass.merging(["class": "9223372036854775808"]) { $1 }, removing: ["subject"])),
            ("class Int64.min", request(byClass.merging(["class": "-9223372036854775808"]) { $1 }, removing: ["subject"])),
            ("class 1e30", request(byClass.merging(["class": "1e30"]) { $1 }, removing: ["subject"])),
            ("class true", request(byClass.merging(["class": "true"]) { $1 }, removing: ["subject"])),
            ("class [7]", request(byClass.merging(["class": "[7]"]) { $1 }, removing: ["subject"])),
            ("class scope with subject", request(byClass.merging(["class": "7"]) { $1 })),
            ("extra null field", request(["note": "null"])),
            ("not JSON", #"{"schema": "#),
            ("a JSON string", #""unlearn.deletion.v1""#),
            ("null", "null"),
        ]
        for (name, time) in [
            ("Z", "2026-11-27T12:00:00Z"), ("fraction", "2026-11-27T12:00:00.5Z"), ("nanoseconds", "2026-11-27T12:00:00.123456789Z"),
            ("offset", "2026-11-27T12:00:00+01:00"), ("negative offset", "2026-11-27T12:00:00-05:30"), ("-00:00", "2026-11-27T12:00:00-00:00"),
            ("29 February of a leap year", "2028-02-29T12:00:00Z"), ("31 December 23:59:59", "2026-12-31T23:59:59Z"),
            ("no offset", "2026-11-27T12:00:00"), ("date only", "2026-11-27"), ("no seconds", "2026-11-27T12:00Z"),
            ("space separator", "2026-11-27 12:00:00Z"), ("basic format", "20261127T120000Z"), ("month 13", "2026-13-01T12:00:00Z"),
            ("minute 60", "2026-11-27T12:60:00Z"), ("empty fraction", "2026-11-27T12:00:00.Z"), ("comma fraction", "2026-11-27T12:00:00,5Z"),
            ("leap second", "2026-12-31T23:59:60Z"), ("lowercase t and z", "2026-11-27t12:00:00z"), ("signed year", "+2026-11-27T12:00:00Z"),
        ] {
            cases.append(("requested_at \(name)", request(["requested_at": "\"\(time)\""])))
        }
        return cases
    }

    @Test("the schema and the decoder agree on boundary cases of every rule", .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
    func schemaAndDecoderAgree() throws {
        let cases = Self.boundaryCases()
        let results = try JSONSchemaValidator.validate(cases.map { (Self.deletionSchema, $0.json) })
        var accepted = 0
        for (c, schema) in zip(cases, results) {
            let decoder = DeletionRequestDecoder.decode(Array(c.json.utf8))
            let decoderValid = (try? decoder.get()) != nil
            if decoderValid { accepted += 1 }
            #expect(
                schema.valid == decoderValid,
                "\(c.name): schema \(schema.valid ? "accepts" : "rejects (\(schema.error ?? ""))"), decoder \(decoderValid ? "accepts" : "rejects (\(decoder))")"
            )
        }
        #expect(accepted >= 15 && accepted <= cases.count - 20, "the cases should sit on both sides of the rules")
    }

    /// ISO 8601 forms that RFC 3339 excludes (Foundation's ISO8601DateFormatter, which the daemon used before its
    /// strict parser, accepted all of them); the schema's pattern rejects them.
    static let nonRFC3339Timestamps = [
        "2026-11-27T12:00:00+0100", "2026-11-27T12:00:00+01", "2026-11-27T12:00:00Z ", "2026-1-27T12:00:00Z",
        "2026-11-27T1:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T12:00:00+25:00",
    ]
    /// Well-formed but not real calendar days: the schema rejects them through `format: date-time`, which Python's
    /// jsonschema checks only when the rfc3339-validator package is installed.
    static let impossibleDays = ["2026-02-30T12:00:00Z", "2027-02-29T12:00:00Z", "2026-04-31T12:00:00Z"]

    @Test("the schema and the daemon's parser both reject non-RFC 3339 timestamps", .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
    func nonRFC3339Timestamps() throws {
        let times = Self.nonRFC3339Timestamps + Self.impossibleDays
        let texts = times.map {
            #"{"schema":"unlearn.deletion.v1","request_id":"r","model":"m","scope":"class","class":1,"requested_at":"\#($0)"}"#
        }
        let results = try JSONSchemaValidator.validate(texts.map { (Self.deletionSchema, $0) })
        for (time, result) in zip(times, results) where Self.nonRFC3339Timestamps.contains(time) || JSONSchemaValidator.checksDateTime {
            #expect(!result.valid, "schema accepts \(time)")
        }
        for (time, text) in zip(times, texts) {
            #expect((try? DeletionRequestDecoder.decode(Array(text.utf8)).get()) == nil, "decoder accepts \(time)")
        }
    }

    static func jsonObject(_ bytes: [UInt8]) throws -> NSObject {
        try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) as! NSObject
    }
}

/// The example events in Config/schemas/examples, named `<kind>.<valid|invalid>[.<reason code>].<what>.json`.
/// Invalid deletion requests carry the daemon's dead-letter reason code in their name.
enum Examples {
    enum Kind { case deletion, retrain }

    struct Example: CustomStringConvertible {
        var name: String
        var kind: Kind
        var valid: Bool
        var expectedReason: String?
        var text: String
        var schema: String { kind == .deletion ? EventSchemaTests.deletionSchema : EventSchemaTests.retrainSchema }
        var description: String { name }
    }

    static let directory: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url.appendingPathComponent("Config/schemas")
            }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    static func schemaURL(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent("examples/\(name)"), encoding: .utf8)
    }

    static func all() throws -> [Example] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("examples").path)
            .filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let parts = name.split(separator: ".").map(String.init)
            guard parts.count >= 4, ["deletion-request", "retrain-event"].contains(parts[0]), ["valid", "invalid"].contains(parts[1]) else {
                throw ExampleNameError(name: name)
            }
            let kind: Kind = parts[0] == "deletion-request" ? .deletion : .retrain
            let valid = parts[1] == "valid"
            let reason = kind == .deletion && !valid ? parts[2] : nil
            return Example(name: name, kind: kind, valid: valid, expectedReason: reason, text: try text(name))
        }
    }

    struct ExampleNameError: Error, CustomStringConvertible {
        var name: String
        var description: String { "example \(name) is not named <deletion-request|retrain-event>.<valid|invalid>[.<reason>].<what>.json" }
    }
}

/// Python's `jsonschema` (Draft202012Validator with its format checker) run as a subprocess over a batch of
/// instances; one process per batch keeps the suite fast.
enum JSONSchemaValidator {
    struct Result: CustomStringConvertible {
        var valid: Bool
        var error: String?
        var description: String { valid ? "valid" : "invalid: \(error ?? "")" }
    }

    static let script = """
        import json, sys
        import jsonschema
        from jsonschema import Draft202012Validator
        cases = json.load(open(sys.argv[1]))
        validators, out = {}, []
        for schema_path, text in cases:
            if schema_path not in validators:
                schema = json.load(open(schema_path))
                Draft202012Validator.check_schema(schema)
                validators[schema_path] = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
            try:
                instance = json.loads(text)
            except ValueError as e:
                out.append({"valid": False, "error": "not JSON: %s" % e})
                continue
            errors = sorted(validators[schema_path].iter_errors(instance), key=lambda e: list(e.absolute_path))
            out.append({"valid": not errors, "error": errors[0].message[:300] if errors else None})
        json.dump(out, sys.stdout)
        """

    /// `python3` on PATH when it imports jsonschema with draft 2020-12 support; nil otherwise.
    static let python: String? = {
        guard let result = try? run(["-c", "from jsonschema import Draft202012Validator"]), result.status == 0 else { return nil }
        return "python3"
    }()

    /// Whether the validator enforces `format: date-time` (jsonschema does with rfc3339-validator installed).
    static let checksDateTime: Bool = {
        let probe = "import sys; from jsonschema import Draft202012Validator as V; sys.exit(0 if 'date-time' in V.FORMAT_CHECKER.checkers else 1)"
        return (try? run(["-c", probe]))?.status == 0
    }()

    /// Validates each (schema file name, JSON text) pair.
    static func validate(_ cases: [(schema: String, text: String)]) throws -> [Result] {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("schema-cases-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: input) }
        let payload = cases.map { [Examples.schemaURL($0.schema).path, $0.text] }
        try JSONSerialization.data(withJSONObject: payload).write(to: input)
        let result = try run(["-c", script, input.path])
        guard result.status == 0 else {
            throw ValidatorFailure(description: "python3 jsonschema exited with \(result.status): \(result.stderrText)")
        }
        let decoded = try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]] ?? []
        guard decoded.count == cases.count else {
            throw ValidatorFailure(description: "python3 returned \(decoded.count) results for \(cases.count) cases")
        }
        return decoded.map { Result(valid: $0["valid"] as? Bool ?? false, error: $0["error"] as? String) }
    }

    struct ValidatorFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// `python3 arguments...` from PATH, to completion.
    private static func run(_ arguments: [String]) throws -> ProcessOutput {
        try ProcessRunner.run("/usr/bin/env", ["python3"] + arguments)
    }
}
