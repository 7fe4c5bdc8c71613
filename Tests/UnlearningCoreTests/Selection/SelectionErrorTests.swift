import TestSupport
import Testing

@testable import UnlearningCore

// Invalid input throws a typed error with a clear message, never crashes.
@Suite("Selection input validation", .computeBound)
struct SelectionErrorTests {
    private func expectError(
        _ code: SelectionError.Code, mentioning words: [String], _ body: () throws -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            try body()
            Issue.record("expected a \(code) error, got none", sourceLocation: sourceLocation)
        } catch let error as SelectionError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            for word in words {
                #expect(error.reason.contains(word), "\(error.reason) should mention \(word)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("expected a SelectionError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    private let columns: [[Double]] = [[1, 2, 3, 4], [4, 3, 1, 2]]

    @Test("mismatched lengths")
    func lengths() {
        expectError(.lengthMismatch, mentioning: ["3 values", "4 samples"]) {
            _ = try LFOCI.select(response: [1, 2, 3], candidates: try CandidateMatrix(columns: columns))
        }
        expectError(.lengthMismatch, mentioning: ["candidate 1", "3 values"]) {
            _ = try CandidateMatrix(columns: [[1, 2, 3, 4], [1, 2, 3]])
        }
        expectError(.lengthMismatch, mentioning: ["z[0]", "3 values"]) {
            _ = try codec([1, 2, 3, 4], [[1, 2, 3]])
        }
        expectError(.lengthMismatch, mentioning: ["x[0]"]) {
            _ = try codec([1, 2, 3, 4], [[1, 2, 3, 4]], given: [[1, 2]])
        }
        expectError(.lengthMismatch, mentioning: ["3 costs", "2 candidates"]) {
            _ = try LFOCI.select(
                response: [1, 2, 3, 4], candidates: try CandidateMatrix(columns: columns),
                configuration: .init(costCap: .init(costs: [1, 1, 1], budget: 5))
            )
        }
    }

    @Test("NaN and infinity")
    func nonFinite() {
        expectError(.nonFinite, mentioning: ["response", "row 2"]) {
            _ = try LFOCI.select(response: [1, 2, .nan, 4], candidates: try CandidateMatrix(columns: columns))
        }
        expectError(.nonFinite, mentioning: ["variable 1", "row 3"]) {
            _ = try LFOCI.select(
                response: [1, 2, 3, 4], candidates: try CandidateMatrix(columns: [[1, 2, 3, 4], [1, 2, 3, .infinity]])
            )
        }
        expectError(.nonFinite, mentioning: ["z[0]", "row 0"]) {
            _ = try codec([1, 2, 3, 4], [[-.infinity, 2, 3, 4]])
        }
        expectError(.nonFinite, mentioning: ["y"]) {
            _ = try codec([1, .nan, 3, 4], [[1, 2, 3, 4]])
        }
    }

    @Test("fewer than 3 rows")
    func tooFewRows() {
        expectError(.tooFewRows, mentioning: ["2 samples", "at least 3"]) {
            _ = try LFOCI.select(response: [1, 2], candidates: try CandidateMatrix(columns: [[1, 2]]))
        }
        expectError(.tooFewRows, mentioning: ["2 samples"]) {
            _ = try codec([1, 2], [[1, 2]])
        }
    }

    @Test("empty candidate set")
    func noCandidates() {
        expectError(.noCandidates, mentioning: ["at least one"]) {
            _ = try LFOCI.select(response: [1, 2, 3, 4], candidates: try CandidateMatrix(columns: []))
        }
        expectError(.noCandidates, mentioning: ["at least one"]) {
            _ = try codec([1, 2, 3, 4], [])
        }
    }

    @Test("out-of-range configuration")
    func configuration() {
        let candidates = try! CandidateMatrix(columns: columns)
        expectError(.invalidConfiguration, mentioning: ["maxSelected"]) {
            _ = try LFOCI.select(response: [1, 2, 3, 4], candidates: candidates, configuration: .init(maxSelected: 0))
        }
        expectError(.invalidConfiguration, mentioning: ["noise fraction"]) {
            _ = try LFOCI.select(
                response: [1, 2, 3, 4], candidates: candidates, configuration: .init(tieBreaking: .noise(fraction: -1))
            )
        }
        expectError(.invalidConfiguration, mentioning: ["negative cost"]) {
            _ = try LFOCI.select(
                response: [1, 2, 3, 4], candidates: candidates,
                configuration: .init(costCap: .init(costs: [1, -1], budget: 5))
            )
        }
        for gate in [LFOCI.NoiseGate(level: 0), .init(level: 0.5), .init(level: .nan)] {
            expectError(.invalidConfiguration, mentioning: ["noise gate's level"]) {
                _ = try LFOCI.select(response: [1, 2, 3, 4], candidates: candidates, configuration: .init(noiseGate: gate))
            }
        }
        expectError(.invalidConfiguration, mentioning: ["probes", "32...1024"]) {
            _ = try LFOCI.select(
                response: [1, 2, 3, 4], candidates: candidates, configuration: .init(noiseGate: .init(probes: 31))
            )
        }
    }
}
