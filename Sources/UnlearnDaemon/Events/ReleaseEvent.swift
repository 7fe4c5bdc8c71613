import Foundation

/// The release receipt (docs/ARCHITECTURE.md, section 2.4, schema `unlearn.released.v1`), published on the receipts
/// topic with the model id as key after every release: which weights were published (version, file, SHA-256), which
/// requests they make effective, and the privacy spent. `eventID` is `<model>:<version>`, so the re-send after a
/// crash carries the same id and consumers de-duplicate.
public struct ReleaseEvent: Codable, Sendable, Equatable {
    public static let schema = "unlearn.released.v1"

    public var schema: String = ReleaseEvent.schema
    public var eventID: String
    public var model: String
    public var version: Int
    public var budgetEpoch: Int
    /// SHA-256 (hex) of the released safetensors file.
    public var sha256: String
    /// `released/<model>/current.safetensors` under the daemon's state directory.
    public var file: String
    /// Every request id this release makes effective (applied since the previous release), in applied order.
    public var requestIDs: [String]
    public var mode: String
    public var certified: Bool
    public var sigma: Double
    public var epsilonRelease: Double
    public var epsilonSpent: Double
    public var epsilonBudget: Double
    public var delta: Double
    public var releasedAt: String

    enum CodingKeys: String, CodingKey {
        case schema
        case eventID = "event_id"
        case model, version
        case budgetEpoch = "budget_epoch"
        case sha256, file
        case requestIDs = "request_ids"
        case mode, certified, sigma
        case epsilonRelease = "epsilon_release"
        case epsilonSpent = "epsilon_spent"
        case epsilonBudget = "epsilon_budget"
        case delta
        case releasedAt = "released_at"
    }

    public static func eventID(model: String, version: UInt64) -> String { "\(model):\(version)" }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }
}
