import Foundation
import TestSupport
import Testing
import UnlearningCore

@Suite("TrainingSetCSV", .computeBound)
struct TrainingSetCSVTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz", isDirectory: true)

    @Test("line and column counts do not size an allocation before the cells parse")
    func countsDoNotDriveAllocation() throws {
        // Found by the fuzz harness's allocation bound: 16 KB (a header of 4,003 columns over 8,000 empty lines)
        // made the parser allocate 4,000 x 7,999 doubles (256 MB) before reading row 2.
        let found = [UInt8](
            try #require(FileManager.default.contents(atPath: Self.fixtures.appendingPathComponent("training-csv-cells-from-counts.csv").path)))
        let error = try #require(throws: TrainingSetCSV.ParseError.self) { try TrainingSetCSV.parse(found, file: "found.csv") }
        #expect(error.line == 2 && error.reason.contains("row has 1 cells"))
        // The same shape at 5,000,000 x 5,000,000: 10 MB whose counts multiply to 200 TB of doubles, beyond any
        // address space, so sizing storage from the counts cannot pass this test (it traps in the allocator).
        let columns = 5_000_000
        let big =
            Array("sample_id,subject,label".utf8) + [UInt8](repeating: UInt8(ascii: ","), count: columns)
            + [UInt8](repeating: UInt8(ascii: "\n"), count: columns + 1)
        let bigError = try #require(throws: TrainingSetCSV.ParseError.self) { try TrainingSetCSV.parse(big, file: "big.csv") }
        #expect(bigError.line == 2 && bigError.reason.contains("the header has \(columns + 3)"))
    }

    @Test("a parsed set renders to CSV that parses to the same set")
    func renderRoundTrip() throws {
        let text = "sample_id,subject,label,x0,x1\ns1,alice,0,0.5,-1e3\ns2,,2,2,3.25\n"
        let data = try TrainingSetCSV.parse(Array(text.utf8), file: "small.csv")
        #expect(data.features == Matrix(rows: 2, cols: 2, storage: [0.5, -1000, 2, 3.25]))
        #expect(data.subjects == ["alice", nil])
        #expect(try TrainingSetCSV.parse(TrainingSetCSV.render(data), file: "rendered.csv") == data)
    }
}
