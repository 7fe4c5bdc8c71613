import Checkpoints
import Foundation
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// The JSON Schemas in Config/schemas against their examples and against the daemon's own code: every example is
/// valid or invalid as its file name says (checked with Python's `jsonschema`, an implementation nobody here wrote),
/// the daemon's decoder agrees with the schema on every example and on generated boundary cases, and what the Swift
/// code encodes validates. Deploy/python/receipts.py, which checks receipts without a schema library, agrees with the
/// release schema on its examples.
@Suite("Event JSON Schemas", .serialized, .timeLimit(.minutes(2)), .blockingWaits)
struct EventSchemaTests {
    static let deletionSchema = "deletion-request.schema.json"
    static let retrainSchema = "retrain-event.schema.json"
    static let releaseSchema = "release-event.schema.json"
    static let missingPython = "python3 with the jsonschema package is not available (pip install jsonschema; ./dev test installs it)"

    // MARK: Examples

    @Test("every schema is a valid draft 2020-12 schema", .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
    func schemasAreWellFormed() throws {
        // check_schema runs inside the validator for each schema used; one trivial instance per schema suffices.
        let results = try JSONSchemaValidator.validate([
            (Self.deletionSchema, try Examples.text("deletion-request.valid.subject.json")),
            (Self.retrainSchema, try Examples.text("retrain-event.valid.privacy-budget.json")),
            (Self.releaseSchema, try Examples.text("release-event.valid.certified-release.json")),
        ])
        #expect(results.allSatisfy { $0.valid }, "\(results)")
        for name in [Self.deletionSchema, Self.retrainSchema, Self.releaseSchema] {
            let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: Examples.schemaURL(name))) as? [String: Any]
            #expect(schema?["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema", "\(name)")
        }
    }

    @Test(
        "every example is valid or invalid as its file name says", .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
    func examplesMatchTheirNames() throws {
        let examples = try Examples.all()
        #expect(examples.filter { $0.kind == .deletion && $0.valid }.count >= 3)
        #expect(examples.filter { $0.kind == .deletion && !$0.valid }.count >= 15)
        #expect(examples.filter { $0.kind == .retrain }.count >= 4)
        #expect(examples.filter { $0.kind == .release && $0.valid }.count >= 2)
        #expect(examples.filter { $0.kind == .release && !$0.valid }.count >= 5)
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

    @Test("valid release examples decode as ReleaseEvent and encode back to the same JSON")
    func releaseExamplesDecode() throws {
        let valid = try Examples.all().filter { $0.kind == .release && $0.valid }
        try #require(!valid.isEmpty)
        for example in valid {
            let event = try JSONDecoder().decode(ReleaseEvent.self, from: Data(example.text.utf8))
            #expect(event.schema == ReleaseEvent.schema)
            #expect(event.eventID == ReleaseEvent.eventID(model: event.model, version: UInt64(event.version)), "\(example.name)")
            #expect(try Self.jsonObject(event.encoded()) == Self.jsonObject(Array(example.text.utf8)), "\(example.name)")
        }
    }

    // MARK: What the Swift code encodes

    @Test(
        "requests encoded by DeletionRequest.encoded() validate, at every boundary the daemon allows",
        .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
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

    /// Receipts as ReleaseEvent makes them, at the edges of each field: the longest model id, a long request list,
    /// no noise and no epsilon spent yet, the smallest budget, and the daemon's own timestamps.
    static func encodedReleaseEvents() throws -> [ReleaseEvent] {
        // ReleaseEvent has no public memberwise init: start from an example and set every field.
        let template = try JSONDecoder().decode(ReleaseEvent.self, from: Data(try Examples.text("release-event.valid.certified-release.json").utf8))
        var first = template
        first.eventID = ReleaseEvent.eventID(model: "digits", version: 1)
        first.version = 1
        first.requestIDs = (0..<10_000).map { "r-\($0)" }
        first.sigma = 0
        first.epsilonRelease = 0
        first.epsilonSpent = 0
        first.releasedAt = RFC3339.format(Date())
        var second = template
        let longModel = "0" + String(repeating: "a._-", count: 15) + "xyz"
        second.model = longModel
        second.eventID = ReleaseEvent.eventID(model: longModel, version: UInt64(Int.max))
        second.version = Int.max
        second.budgetEpoch = 12
        second.sha256 = String(repeating: "0123456789abcdef", count: 4)
        second.file = "state/released/\(longModel)/current.safetensors"
        second.requestIDs = ["ünïcödé ✓", String(repeating: "x", count: DeletionRequest.maxRequestIDLength)]
        second.mode = BudgetPolicy.Mode.adaptive.rawValue
        second.certified = false
        second.sigma = 1e-300
        second.epsilonRelease = 0.1
        second.epsilonSpent = 9.9e-4
        second.epsilonBudget = 1e-3
        second.delta = 0.999
        second.releasedAt = RFC3339.format(Date(timeIntervalSince1970: 0))
        return [first, second]
    }

    @Test("receipts encoded by ReleaseEvent.encoded() validate", .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
    func encodedReleaseEventsValidate() throws {
        let events = try Self.encodedReleaseEvents()
        #expect(events[1].model.count == 64, "the second receipt should carry the longest model id")
        let results = try JSONSchemaValidator.validate(try events.map { (Self.releaseSchema, String(decoding: try $0.encoded(), as: UTF8.self)) })
        for (event, result) in zip(events, results) {
            #expect(result.valid, "\(event.eventID): \(result.error ?? "")")
        }
    }

    // MARK: Deploy/python/receipts.py

    @Test(
        "receipts.py accepts exactly the release examples the schema accepts, and what ReleaseEvent encodes",
        .enabled(if: ReceiptsScript.available, Comment(rawValue: ReceiptsScript.missing))
    )
    func receiptsScriptAgreesWithTheSchema() throws {
        let examples = try Examples.all().filter { $0.kind == .release }
        try #require(examples.count >= 7)
        for example in examples {
            let result = try ReceiptsScript.run(["--input", Examples.directory.appendingPathComponent("examples/\(example.name)").path])
            #expect(result.status == 0, "\(example.name): \(result.stderr)")
            let printed = result.stdout.split(separator: "\n")
            if example.valid {
                #expect(printed.count == 1, "\(example.name): \(result.stderr)")
                // The receipt is printed as published: the same JSON value.
                let echoed = try printed.first.map { try Self.jsonObject(Array($0.utf8)) }
                #expect(try echoed == Self.jsonObject(Array(example.text.utf8)), "\(example.name)")
            } else {
                #expect(printed.isEmpty, "\(example.name) was accepted by receipts.py")
                #expect(result.stderr.contains("not an unlearn.released.v1 receipt"), "\(example.name): \(result.stderr)")
            }
        }
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let encoded = root.appendingPathComponent("encoded.jsonl")
        let events = try Self.encodedReleaseEvents()
        try Data(try events.map { String(decoding: try $0.encoded(), as: UTF8.self) }.joined(separator: "\n").utf8).write(to: encoded)
        let result = try ReceiptsScript.run(["--input", encoded.path])
        #expect(result.status == 0 && result.stdout.split(separator: "\n").count == events.count, "\(result.stderr)")
    }

    @Test(
        "receipts.py skips re-sent receipts and answers whether a request was released",
        .enabled(if: ReceiptsScript.available, Comment(rawValue: ReceiptsScript.missing))
    )
    func receiptsScriptDeduplicatesAndFindsRequests() throws {
        let certified = Examples.directory.appendingPathComponent("examples/release-event.valid.certified-release.json").path
        let adaptive = Examples.directory.appendingPathComponent("examples/release-event.valid.adaptive-second-epoch.json").path
        // The daemon re-sends the newest receipt at start: the second copy of digits:7 is not printed again.
        let all = try ReceiptsScript.run(["--input", certified, "--input", adaptive, "--input", certified])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.split(separator: "\n").count == 2, "\(all.stdout)")
        #expect(all.stderr.contains("duplicate of receipt digits:7"), "\(all.stderr)")

        let found = try ReceiptsScript.run(["--input", certified, "--input", adaptive, "--request-id", "drop-class-7"])
        #expect(found.status == 0, "\(found.stderr)")
        #expect(found.stdout == "31\n", "prints the version of the release that made the request effective")
        let missing = try ReceiptsScript.run(["--input", certified, "--input", adaptive, "--request-id", "r-43"])
        #expect(missing.status == 1, "\(missing.stderr)")
        #expect(missing.stdout.isEmpty)
    }

    @Test(
        "receipts.py --verify checks a released file's SHA-256 and tells a replaced file from a wrong one",
        .enabled(if: ReceiptsScript.available, Comment(rawValue: ReceiptsScript.missing))
    )
    func receiptsScriptVerifies() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        // A released file as the daemon writes it (SnapshotCodec.exportSafetensors, as ModelRuntime does), of version 7.
        let architecture = Architecture(inputs: 2, hidden: [], classes: 2)
        let manifest = SnapshotManifest(
            modelId: "digits", version: 7, parentVersion: 6, parentSHA256: nil, budgetEpoch: 1, baseVersion: 1,
            createdAt: "2026-11-27T12:00:00Z", architecture: architecture, lambda: 1e-4, n0: 10, residualN: 9
        )
        let parameters = try ModelParameters(architecture: architecture, theta: (0..<architecture.parameterCount).map { Double($0) / 8 })
        let bytes = try SnapshotCodec.exportSafetensors(try Snapshot(manifest: manifest, parameters: parameters))
        let file = root.appendingPathComponent("released/digits/current.safetensors")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)

        var receipt = try JSONDecoder().decode(ReleaseEvent.self, from: Data(try Examples.text("release-event.valid.certified-release.json").utf8))
        receipt.file = file.path
        receipt.sha256 = SHA256.hash(bytes).description
        func verify(_ receipt: ReleaseEvent, _ extra: [String] = []) throws -> ReceiptsScript.Result {
            let input = root.appendingPathComponent("receipt-\(UUID().uuidString).json")
            try Data(try receipt.encoded()).write(to: input)
            return try ReceiptsScript.run(["--input", input.path, "--verify"] + extra)
        }
        let matching = try verify(receipt)
        #expect(matching.status == 0 && matching.stderr.contains("verified"), "\(matching.stderr)")
        #expect(matching.stdout.split(separator: "\n").count == 1)

        var wrong = receipt
        wrong.sha256 = String(repeating: "0", count: 64)
        let mismatch = try verify(wrong)
        #expect(mismatch.status == 5, "a file of the receipt's version with another digest: \(mismatch.stderr)")
        #expect(mismatch.stdout.isEmpty, "a receipt whose file does not match is not printed")

        // A receipt of version 6 read after release 7 replaced the file: not checkable, and not a mismatch.
        var older = wrong
        older.version = 6
        older.eventID = ReleaseEvent.eventID(model: "digits", version: 6)
        let replaced = try verify(older)
        #expect(replaced.status == 0 && replaced.stderr.contains("now holds version 7"), "\(replaced.stderr)")

        // The consumer's machine mounts the released directory elsewhere.
        var elsewhere = receipt
        elsewhere.file = "/var/lib/unlearnd/released/digits/current.safetensors"
        let mapped = try verify(elsewhere, ["--released-dir", root.appendingPathComponent("released").path])
        #expect(mapped.status == 0 && mapped.stderr.contains("verified"), "\(mapped.stderr)")
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("event-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
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

    @Test(
        "the schema and the decoder agree on boundary cases of every rule",
        .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
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

    @Test(
        "the schema and the daemon's parser both reject non-RFC 3339 timestamps",
        .enabled(if: JSONSchemaValidator.python != nil, Comment(rawValue: missingPython)))
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
    enum Kind { case deletion, retrain, release }

    struct Example: CustomStringConvertible {
        var name: String
        var kind: Kind
        var valid: Bool
        var expectedReason: String?
        var text: String
        var schema: String {
            switch kind {
            case .deletion: EventSchemaTests.deletionSchema
            case .retrain: EventSchemaTests.retrainSchema
            case .release: EventSchemaTests.releaseSchema
            }
        }
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

    /// The package's root directory (above Config/schemas).
    static var packageRoot: URL { directory.deletingLastPathComponent().deletingLastPathComponent() }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent("examples/\(name)"), encoding: .utf8)
    }

    static func all() throws -> [Example] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("examples").path)
            .filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let parts = name.split(separator: ".").map(String.init)
            let kinds: [String: Kind] = ["deletion-request": .deletion, "retrain-event": .retrain, "release-event": .release]
            guard parts.count >= 4, let kind = kinds[parts[0]], ["valid", "invalid"].contains(parts[1]) else {
                throw ExampleNameError(name: name)
            }
            let valid = parts[1] == "valid"
            let reason = kind == .deletion && !valid ? parts[2] : nil
            return Example(name: name, kind: kind, valid: valid, expectedReason: reason, text: try text(name))
        }
    }

    struct ExampleNameError: Error, CustomStringConvertible {
        var name: String
        var description: String {
            "example \(name) is not named <deletion-request|retrain-event|release-event>.<valid|invalid>[.<reason>].<what>.json"
        }
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
    static func run(_ arguments: [String]) throws -> ProcessOutput {
        try ProcessRunner.run("/usr/bin/env", ["python3"] + arguments)
    }
}

/// Deploy/python/receipts.py run with `python3` from PATH on files (`--input`), which needs no Kafka client.
enum ReceiptsScript {
    typealias Result = (status: Int32, stdout: String, stderr: String)

    static let missing = "python3 is not available"
    static let available: Bool = (try? JSONSchemaValidator.run(["-c", "pass"]))?.status == 0

    static func run(_ arguments: [String]) throws -> Result {
        let output = try JSONSchemaValidator.run([Examples.packageRoot.appendingPathComponent("Deploy/python/receipts.py").path] + arguments)
        return (output.status, output.stdoutText, output.stderrText)
    }
}
