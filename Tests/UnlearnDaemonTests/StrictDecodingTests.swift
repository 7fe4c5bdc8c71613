import Foundation
import Testing
import UnlearningCore

@testable import UnlearnDaemon

/// The decoder's input rules: RFC 8259 JSON in UTF-8 only, no trailing commas, no duplicate keys, integers exact,
/// model ids matched to the true end of the string, and messages that never quote what the producer sent.
@Suite("Strict deletion request decoding")
struct StrictDecodingTests {
    static let fields =
        #""schema":"unlearn.deletion.v1","request_id":"r-1","model":"digits","scope":"subject","subject":"s1","requested_at":"2026-11-27T12:00:00Z""#
    static let valid = "{" + fields + "}"

    static func reason(_ bytes: [UInt8]) -> String? {
        if case .failure(let r) = DeletionRequestDecoder.decode(bytes) { return r.code }
        return nil
    }

    static func reason(_ text: String) -> String? { reason(Array(text.utf8)) }

    static func classRequest(_ literal: String) -> String {
        #"{"schema":"unlearn.deletion.v1","request_id":"r-1","model":"digits","scope":"class","class":"# + literal
            + #","requested_at":"2026-11-27T12:00:00Z"}"#
    }

    /// UTF-16 and UTF-32 code units of `text` in the given byte order, optionally with a byte order mark.
    static func encode(_ text: String, width: Int, bigEndian: Bool, bom: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        func put(_ unit: UInt32) {
            let bytes = (0..<width).map { UInt8(truncatingIfNeeded: unit >> (8 * UInt32($0))) }
            out += bigEndian ? bytes.reversed() : bytes
        }
        if bom { put(0xFEFF) }
        if width == 2 {
            for unit in text.utf16 { put(UInt32(unit)) }
        } else {
            for scalar in text.unicodeScalars { put(scalar.value) }
        }
        return out
    }

    @Test("the valid request still decodes, with insignificant whitespace anywhere RFC 8259 allows it")
    func valid() throws {
        #expect(Self.reason(Self.valid) == nil)
        let spaced =
            " \t\r\n{ \"schema\" : \"unlearn.deletion.v1\" ,\n\"request_id\":\"r-1\",\"model\":\"digits\",\"scope\":\"subject\",\"subject\":\"s1\",\"requested_at\":\"2026-11-27T12:00:00Z\" }\n"
        #expect(try DeletionRequestDecoder.decode(Array(spaced.utf8)).get().scope == .subject("s1"))
        let escaped = Self.valid.replacingOccurrences(of: #""subject":"s1""#, with: #""subject":"\u0073\ud83d\ude00\/""#)
        #expect(try DeletionRequestDecoder.decode(Array(escaped.utf8)).get().scope == .subject("s\u{1F600}/"))
    }

    @Test(
        "UTF-16, UTF-32, byte order marks, NUL and invalid UTF-8 are not_utf8",
        arguments: [
            (2, false, false), (2, true, false), (4, false, false), (4, true, false), (2, false, true), (2, true, true),
            (4, false, true), (4, true, true),
        ])
    func encodings(width: Int, bigEndian: Bool, bom: Bool) {
        #expect(Self.reason(Self.encode(Self.valid, width: width, bigEndian: bigEndian, bom: bom)) == RejectionReason.notUTF8)
    }

    @Test("a UTF-8 byte order mark, a NUL byte and invalid sequences are not_utf8")
    func utf8Faults() {
        #expect(Self.reason([0xEF, 0xBB, 0xBF] + Array(Self.valid.utf8)) == RejectionReason.notUTF8)
        #expect(Self.reason(Array(Self.valid.utf8) + [0]) == RejectionReason.notUTF8)
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF]] {
            let text = Array(Self.valid.utf8.prefix(Self.valid.utf8.count - 1)) + Array(#","x":""#.utf8) + bad + Array("\"}".utf8)
            #expect(Self.reason(text) == RejectionReason.notUTF8, "bytes \(bad)")
        }
    }

    @Test(
        "grammar faults are not_json",
        arguments: [
            "{" + fields + ",}", "{" + fields + ",,}", #"{"schema":"unlearn.deletion.v1",}"#, "[1,]", "{" + fields + "} x",
            "{" + fields + "}{}", "{'schema':1}", "{schema:1}", #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#, #"{"a":1e}"#,
            #"{"a":NaN}"#, #"{"a":tru}"#, #"{"a":"\x"}"#, #"{"a":"\ud800"}"#, #"{"a":"\udc00"}"#, "{\"a\":\"\u{1}\"}",
            "{\"a\":\"line\nbreak\"}", "{\"a\":1}\u{0B}", #"{"a":"unterminated}"#, "/* c */{}", "",
            String(repeating: "[", count: 40) + String(repeating: "]", count: 40),
        ])
    func grammar(_ text: String) {
        #expect(Self.reason(text) == RejectionReason.notJSON, "\(text.debugDescription)")
    }

    @Test("a key twice in one object is duplicate_key, also spelled with an escape; NFC and NFD keys are distinct")
    func duplicateKeys() {
        #expect(Self.reason("{" + Self.fields + #","subject":"s2"}"#) == RejectionReason.duplicateKey)
        #expect(Self.reason("{" + Self.fields + #","\u0073ubject":"s2"}"#) == RejectionReason.duplicateKey)
        // Two spellings of one key name are two keys (as for Python's json): the second one is simply extra.
        #expect(Self.reason("{" + Self.fields + ",\"caf\u{E9}\":1,\"cafe\u{301}\":2}") == RejectionReason.extraField)
    }

    @Test("class must be an exact integer: 7, 7.0, 70e-1 and 0.7e1 are class 7; 1e-400 and 0.99999999999999999999 are not integers")
    func exactIntegers() throws {
        for literal in ["7", "7.0", "70e-1", "0.7e1", "7.000000000000000000000000", "700E-2"] {
            let request = try DeletionRequestDecoder.decode(Array(Self.classRequest(literal).utf8)).get()
            #expect(request.scope == .class(7), "\(literal)")
        }
        #expect(try DeletionRequestDecoder.decode(Array(Self.classRequest("-0").utf8)).get().scope == .class(0))
        for literal in ["1e-400", "0.99999999999999999999", "1.5", "7.0000000000000000001", "1e-1"] {
            #expect(Self.reason(Self.classRequest(literal)) == RejectionReason.wrongType, "\(literal)")
        }
        for literal in ["99999999999999999999", "1e400", "-9223372036854775809", "1e19"] {
            #expect(Self.reason(Self.classRequest(literal)) == RejectionReason.invalidValue, "\(literal)")
        }
        #expect(StrictJSON.exactInteger(literal: "-9223372036854775808") == .value(Int.min))
        #expect(StrictJSON.exactInteger(literal: "9223372036854775807") == .value(Int.max))
        #expect(StrictJSON.exactInteger(literal: "9223372036854775808") == .outOfRange)
    }

    @Test(
        "model ids are matched to the true end of the string (a final newline is not allowed)",
        arguments: [
            "digits\n", "digits\r", "digits\u{0}", "Digits", "-digits", "digits\u{301}", String(repeating: "a", count: 65), "",
        ])
    func modelIDs(_ id: String) {
        #expect(!DeletionRequestDecoder.isValidModelID(id))
        let text = Self.valid.replacingOccurrences(of: #""model":"digits""#, with: "\"model\":" + Self.jsonString(id))
        #expect(Self.reason(text) == RejectionReason.invalidValue)
    }

    @Test("valid model ids pass", arguments: ["digits", "a", "0", "m.v2_b-1", String(repeating: "a", count: 64)])
    func validModelIDs(_ id: String) { #expect(DeletionRequestDecoder.isValidModelID(id)) }

    @Test("request_id length counts Unicode code points, as JSON Schema's maxLength does")
    func requestIDLength() {
        // 128 code points, but 64 grapheme clusters ("e" + combining acute each): valid.
        let combining = String(repeating: "e\u{301}", count: 64)
        #expect(Self.reason(Self.valid.replacingOccurrences(of: #""r-1""#, with: Self.jsonString(combining))) == nil)
        let over = String(repeating: "e\u{301}", count: 64) + "x"
        #expect(Self.reason(Self.valid.replacingOccurrences(of: #""r-1""#, with: Self.jsonString(over))) == RejectionReason.invalidValue)
    }

    @Test("no message quotes a value or a field name that the producer chose")
    func messagesCarryNoProducerText() {
        let secret = "alice@example.com"
        let texts = [
            Self.valid.replacingOccurrences(of: "unlearn.deletion.v1", with: secret),
            "{" + Self.fields + ",\"\(secret)\":1}",
            Self.valid.replacingOccurrences(of: #""model":"digits""#, with: "\"model\":\"\(secret)\""),
            Self.valid.replacingOccurrences(of: #""scope":"subject""#, with: "\"scope\":\"\(secret)\""),
            Self.valid.replacingOccurrences(of: #""2026-11-27T12:00:00Z""#, with: "\"\(secret)\""),
            "{" + Self.fields + ",\"subject\":\"\(secret)\"}",
        ]
        for text in texts {
            guard case .failure(let r) = DeletionRequestDecoder.decode(Array(text.utf8)) else {
                Issue.record("accepted: \(text)")
                continue
            }
            #expect(!r.message.contains("alice"), "\(r)")
        }
    }

    static func jsonString(_ s: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed]), as: UTF8.self).dropFirst().dropLast()
            .description
    }
}

@Suite("Exact identifiers")
struct ExactTextTests {
    @Test("NFC and NFD spellings are different identifiers; Swift's String equality would merge them")
    func canonicalEquivalents() {
        let nfc = "ok-caf\u{E9}"
        let nfd = "ok-cafe\u{301}"
        #expect(nfc == nfd)  // canonical equivalence: why the ledger cannot use String
        #expect(ExactText(nfc) != ExactText(nfd))
        #expect(Set([ExactText(nfc), ExactText(nfd)]).count == 2)
        #expect(ExactText(nfc) == ExactText("ok-caf\u{E9}"))
    }

    @Test("the batcher keeps NFC and NFD request ids apart")
    func batcher() {
        var batcher = Batcher(maxRows: 100, maxWaitMilliseconds: 1000, groupByRequest: false)
        let request = DeletionRequest(requestID: "ok-caf\u{E9}", model: "m", scope: .subject("s"), requestedAt: "2026-11-27T12:00:00Z")
        _ = batcher.add(PendingRequest(request: request, rows: [1], topic: "t", partition: 0, offset: 0, receivedAt: 0))
        #expect(batcher.contains(requestID: "ok-caf\u{E9}", model: "m"))
        #expect(!batcher.contains(requestID: "ok-cafe\u{301}", model: "m"))
    }

    @Test("the row index resolves NFC and NFD subjects and sample ids to their own rows")
    func rowIndex() throws {
        let nfc = "caf\u{E9}"
        let nfd = "cafe\u{301}"
        let data = Dataset(
            features: Matrix(rows: 2, cols: 1, storage: [0, 1]), labels: [0, 1], sampleIDs: [nfc, nfd], subjects: [nfc, nfd], featureNames: ["x"]
        )
        let index = RowIndex(data, classes: 2)
        #expect(try index.rows(for: .subject(nfc)).get() == [0])
        #expect(try index.rows(for: .subject(nfd)).get() == [1])
        #expect(try index.rows(for: .samples([nfd])).get() == [1])
    }
}
