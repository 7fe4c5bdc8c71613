/// An invalid input to CODEC or L-FOCI: what was wrong, and what to do about it.
///
/// Shaped like swift-kafka-client's `KafkaError`: an extensible `code` to switch on, a human `reason` that
/// names the offending argument (and row or variable where there is one), and where the error was raised.
public struct SelectionError: Error, Sendable, CustomStringConvertible {
    /// The kind of problem. New kinds may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: Hashable, Sendable {
            case lengthMismatch, nonFinite, tooFewRows, noCandidates, invalidConfiguration
        }

        private let kind: Kind

        /// Two inputs that must describe the same samples have different numbers of values.
        public static let lengthMismatch = Code(kind: .lengthMismatch)
        /// A value is NaN or infinite.
        public static let nonFinite = Code(kind: .nonFinite)
        /// Fewer than 3 samples: nearest neighbours and ranks carry no information.
        public static let tooFewRows = Code(kind: .tooFewRows)
        /// No candidate variable was given.
        public static let noCandidates = Code(kind: .noCandidates)
        /// A configuration value is out of its documented range.
        public static let invalidConfiguration = Code(kind: .invalidConfiguration)

        public var description: String {
            switch kind {
            case .lengthMismatch: "length mismatch"
            case .nonFinite: "non-finite value"
            case .tooFewRows: "too few rows"
            case .noCandidates: "no candidates"
            case .invalidConfiguration: "invalid configuration"
            }
        }
    }

    public let code: Code
    /// What was wrong and what to do about it.
    public let reason: String
    public let file: String
    public let line: UInt

    public init(_ code: Code, _ reason: String, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String {
        "SelectionError(\(code)): \(reason) [\(file):\(line)]"
    }
}

extension SelectionError {
    /// The smallest sample the estimator accepts (ranks and a nearest neighbour other than the point itself).
    static let minimumRows = 3

    static func checkRowCount(_ m: Int, file: String = #fileID, line: UInt = #line) throws(SelectionError) {
        if m < minimumRows {
            throw SelectionError(
                .tooFewRows,
                "got \(m) samples; CODEC needs at least \(minimumRows) (collect more perturbation samples)",
                file: file, line: line
            )
        }
    }

    static func checkFinite(
        _ values: UnsafeBufferPointer<Double>, what: @autoclosure () -> String, rowsPerVariable: Int? = nil,
        file: String = #fileID, line: UInt = #line
    ) throws(SelectionError) {
        for (index, value) in values.enumerated() where !value.isFinite {
            let position: String
            if let m = rowsPerVariable {
                position = "variable \(index / m), row \(index % m)"
            } else {
                position = "row \(index)"
            }
            throw SelectionError(
                .nonFinite,
                "\(what()) has the non-finite value \(value) at \(position); remove or impute such samples first",
                file: file, line: line
            )
        }
    }
}
