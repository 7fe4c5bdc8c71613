import Foundation
import UnlearningCore

/// The retrain-required event (docs/ARCHITECTURE.md, section 2.3, schema `unlearn.retrain.v1`), published on the alerts topic
/// with the model id as key. `alertID` is `<model>:<budget epoch>`, so re-sends after a crash de-duplicate.
public struct RetrainEvent: Codable, Sendable, Equatable {
    public static let schema = "unlearn.retrain.v1"

    public var schema: String = RetrainEvent.schema
    public var alertID: String
    public var model: String
    public var reasons: [String]
    public var epsilonSpent: Double
    public var epsilonBudget: Double
    public var removalsSinceBase: Int
    public var residualRows: Int
    public var snapshotVersion: Int
    public var snapshotSHA256: String
    public var tombstonesFile: String
    public var emittedAt: String

    enum CodingKeys: String, CodingKey {
        case schema
        case alertID = "alert_id"
        case model, reasons
        case epsilonSpent = "epsilon_spent"
        case epsilonBudget = "epsilon_budget"
        case removalsSinceBase = "removals_since_base"
        case residualRows = "residual_rows"
        case snapshotVersion = "snapshot_version"
        case snapshotSHA256 = "snapshot_sha256"
        case tombstonesFile = "tombstones_file"
        case emittedAt = "emitted_at"
    }

    public static func alertID(model: String, epoch: Int) -> String { "\(model):\(epoch)" }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }
}
