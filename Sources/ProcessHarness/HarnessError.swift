/// Why a harness step failed: what was wrong, said so that the reader knows what to look at.
public struct HarnessError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) { self.description = description }
}
