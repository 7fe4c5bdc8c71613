import Foundation

/// A validated deletion request (docs/ARCHITECTURE.md, section 2.3, schema `unlearn.deletion.v1`).
public struct DeletionRequest: Sendable, Equatable, Codable {
    public enum Scope: Sendable, Equatable, Codable, Hashable {
        case samples([String])
        case subject(String)
        case `class`(Int)

        public var name: String {
            switch self {
            case .samples: "sample"
            case .subject: "subject"
            case .class: "class"
            }
        }
    }

    public static let schema = "unlearn.deletion.v1"
    public static let maxBytes = 64 * 1024
    public static let maxRequestIDLength = 128
    public static let maxSampleIDs = 1000

    public var requestID: String
    public var model: String
    public var scope: Scope
    public var requestedAt: String

    public init(requestID: String, model: String, scope: Scope, requestedAt: String) {
        self.requestID = requestID
        self.model = model
        self.scope = scope
        self.requestedAt = requestedAt
    }

    /// The JSON form published on the deletions topic.
    public func encoded() -> [UInt8] {
        var object: [String: Any] = [
            "schema": Self.schema, "request_id": requestID, "model": model, "scope": scope.name, "requested_at": requestedAt,
        ]
        switch scope {
        case .samples(let ids): object["sample_ids"] = ids
        case .subject(let s): object["subject"] = s
        case .class(let c): object["class"] = c
        }
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }
}
