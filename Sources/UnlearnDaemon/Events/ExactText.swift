/// A string that is equal to another only when their UTF-8 bytes are equal.
///
/// Swift's `String ==` is canonical equivalence: "café" spelled with U+00E9 equals "cafe" + U+0301. Request ids,
/// subjects and sample ids are identifiers chosen by producers, so two spellings are two identifiers (as they are
/// for Kafka, Python and JSON Schema). Every ledger, index and batch key of the daemon compares them with this type.
public struct ExactText: Hashable, Sendable, CustomStringConvertible {
    public let string: String
    public let bytes: [UInt8]

    public init(_ string: String) {
        self.string = string
        self.bytes = Array(string.utf8)
    }

    public static func == (a: ExactText, b: ExactText) -> Bool { a.bytes == b.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
    public var description: String { string }
}
