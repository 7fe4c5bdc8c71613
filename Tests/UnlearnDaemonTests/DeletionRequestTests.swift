import Foundation
import Testing
import UnlearnDaemon

@Suite("Deletion request decoding")
struct DeletionRequestTests {
    static let valid =
        #"{"schema":"unlearn.deletion.v1","request_id":"r-1","model":"digits","scope":"subject","subject":"s1","requested_at":"2026-11-27T12:00:00Z"}"#

    @Test("a valid request of each scope decodes")
    func valid() throws {
        let subject = try DeletionRequestDecoder.decode(Array(Self.valid.utf8)).get()
        #expect(subject.scope == .subject("s1"))
        let request = DeletionRequest(requestID: "r-2", model: "m", scope: .samples(["a", "b"]), requestedAt: "2026-11-27T12:00:00.5Z")
        #expect(try DeletionRequestDecoder.decode(request.encoded()).get() == request)
        let byClass = DeletionRequest(requestID: "r-3", model: "m", scope: .class(7), requestedAt: "2026-11-27T12:00:00+01:00")
        #expect(try DeletionRequestDecoder.decode(byClass.encoded()).get() == byClass)
    }

    @Test("a 10 MB value is rejected as too large without being parsed")
    func tenMegabytes() {
        // Ten million "{": parsing would fail on nesting depth or syntax, so `too_large` shows the size check ran
        // before the parser.
        let value = [UInt8](repeating: 0x7B, count: 10 * 1024 * 1024)
        guard case .failure(let reason) = DeletionRequestDecoder.decode(value) else {
            Issue.record("a 10 MB value was accepted")
            return
        }
        #expect(reason.code == RejectionReason.tooLarge)
        #expect(reason.message.contains("64 KiB"))
    }

    @Test("messages name the field and never quote an identity")
    func messages() {
        let text = Self.valid.replacingOccurrences(of: #""subject":"s1""#, with: #""subject":"alice","extra":1"#)
        guard case .failure(let reason) = DeletionRequestDecoder.decode(Array(text.utf8)) else {
            Issue.record("an extra field was accepted")
            return
        }
        #expect(reason.code == RejectionReason.extraField)
        #expect(reason.message.contains("allowed: model, request_id, requested_at, schema, scope, subject"))
        #expect(!reason.message.contains("alice"))
        #expect(!reason.message.contains("extra"), "a field name chosen by the producer is not quoted")
    }
}

@Suite("RFC 3339 timestamps")
struct RFC3339Tests {
    @Test(
        "valid forms parse to the same instant as Foundation's ISO 8601 parser",
        arguments: [
            "2026-11-27T12:00:00Z", "2026-11-27T12:00:00.25Z", "2026-11-27T13:30:00+01:30",
            "2024-02-29T23:59:59-08:00", "1970-01-01T00:00:00Z", "2000-03-01T00:00:00.000001Z",
        ])
    func valid(_ text: String) throws {
        let parsed = try #require(RFC3339.parse(text))
        let reference = ISO8601DateFormatter()
        reference.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        let expected = try #require(reference.date(from: text) ?? plain.date(from: text))
        #expect(abs(parsed.timeIntervalSince(expected)) < 1e-3)
    }

    @Test(
        "non-RFC 3339 forms are rejected",
        arguments: [
            "2026-11-27T12:00:00+0100", "2026-11-27T12:00:00+01", "2026-11-27T12:00:00Z ", "2026-1-27T12:00:00Z",
            "2026-11-27T1:00:00Z", "2026-02-30T12:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T12:00:00+25:00",
            "2026-11-27 12:00:00Z", "2026-11-27T12:00:00", "2026-11-27T12:00:00.Z", "yesterday", "",
            "2026-11-27t12:00:00z", "2026-12-31T23:59:60Z",
        ])
    func invalid(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }
}
