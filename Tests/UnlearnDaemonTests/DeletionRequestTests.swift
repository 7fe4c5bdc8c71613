import Foundation
import Testing
import UnlearnDaemon

@Suite("Deletion request decoding")
struct DeletionRequestTests {
    static let valid = #"{"schema":"unlearn.deletion.v1","request_id":"r-1","model":"digits","scope":"subject","subject":"s1","requested_at":"2026-11-27T12:00:00Z"}"#

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
        let value = [UInt8](repeating: 0x7B, count: 10 * 1024 * 1024)
        let start = ContinuousClock.now
        guard case .failure(let reason) = DeletionRequestDecoder.decode(value) else {
            Issue.record("a 10 MB value was accepted")
            return
        }
        #expect(reason.code == RejectionReason.tooLarge)
        #expect(reason.message.contains("64 KiB"))
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test("messages name the field and never quote an identity")
    func messages() {
        let text = Self.valid.replacingOccurrences(of: #""subject":"s1""#, with: #""subject":"alice","extra":1"#)
        guard case .failure(let reason) = DeletionRequestDecoder.decode(Array(text.utf8)) else {
            Issue.record("an extra field was accepted")
            return
        }
        #expect(reason.code == RejectionReason.extraField)
        #expect(reason.message.contains("\"extra\""))
        #expect(!reason.message.contains("alice"))
    }
}
