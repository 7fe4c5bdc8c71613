import Foundation

/// Why an event was rejected: a stable machine-readable code (the dead-letter `reason` header) and a message
/// that says what is wrong and what to do. Messages never quote identities or request ids.
public struct RejectionReason: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    public static let notJSON = "not_json"
    public static let notUTF8 = "not_utf8"
    public static let duplicateKey = "duplicate_key"
    public static let tooLarge = "too_large"
    public static let unknownSchema = "unknown_schema"
    public static let missingField = "missing_field"
    public static let extraField = "extra_field"
    public static let wrongType = "wrong_type"
    public static let invalidValue = "invalid_value"
    public static let unknownModel = "unknown_model"
    public static let unknownSample = "unknown_sample"
    public static let emptySelection = "empty_selection"
    public static let keyMismatch = "key_mismatch"
}
