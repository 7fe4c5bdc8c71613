import Testing
import UnlearningCore

@testable import UnlearnDaemon

@Suite("Row index")
struct RowIndexTests {
    /// Five rows: subjects alice (rows 0 and 2, NFC "é"), bob (row 3), an NFD spelling (row 4), one row without one.
    static let index: RowIndex = {
        let train = Dataset(
            features: Matrix(rows: 5, cols: 1, repeating: 0), labels: [0, 1, 0, 1, 1],
            sampleIDs: ["s0", "s1", "s2", "s3", "s4"], subjects: ["al\u{E9}", nil, "al\u{E9}", "bob", "ale\u{301}"],
            featureNames: ["x"]
        )
        return RowIndex(train, classes: 3)
    }()

    static func code(_ result: Result<[Int], RejectionReason>) -> String? {
        if case .failure(let reason) = result { reason.code } else { nil }
    }

    @Test("sample ids select their rows, sorted and once each")
    func samples() throws {
        #expect(try Self.index.rows(for: .samples(["s3", "s0", "s3"])).get() == [0, 3])
    }

    @Test("an unknown sample id rejects the whole request and names its position, not its text")
    func unknownSample() {
        let result = Self.index.rows(for: .samples(["s0", "secret-id"]))
        #expect(Self.code(result) == RejectionReason.unknownSample)
        if case .failure(let reason) = result {
            #expect(reason.message.contains("sample_ids[1]") && !reason.message.contains("secret-id"))
        }
    }

    @Test("subjects match by exact UTF-8 bytes")
    func subjects() throws {
        #expect(try Self.index.rows(for: .subject("al\u{E9}")).get() == [0, 2])
        #expect(try Self.index.rows(for: .subject("ale\u{301}")).get() == [4])
        #expect(Self.code(Self.index.rows(for: .subject("carol"))) == RejectionReason.emptySelection)
    }

    @Test("a class selects its rows; one outside the labels is invalid, one without rows selects nothing")
    func classes() throws {
        #expect(try Self.index.rows(for: .class(1)).get() == [1, 3, 4])
        #expect(Self.code(Self.index.rows(for: .class(3))) == RejectionReason.invalidValue)
        #expect(Self.code(Self.index.rows(for: .class(-1))) == RejectionReason.invalidValue)
        #expect(Self.code(Self.index.rows(for: .class(2))) == RejectionReason.emptySelection)
    }
}
