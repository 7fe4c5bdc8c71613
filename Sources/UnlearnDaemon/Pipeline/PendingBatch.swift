import Foundation

/// Requests of one model and one group (a subject, a class, or sample lists) applied as one update.
public struct PendingBatch: Sendable {
    public enum GroupKey: Hashable, Sendable, CustomStringConvertible {
        case subject(ExactText)
        case `class`(Int)
        case samples
        case request(ExactText)

        /// No identity in the description: it is logged.
        public var description: String {
            switch self {
            case .subject: "subject"
            case .class(let c): "class \(c)"
            case .samples: "samples"
            case .request: "request"
            }
        }
    }

    public var model: String
    public var key: GroupKey
    public var requests: [PendingRequest] = []
    public var rowCount: Int = 0

    public init(model: String, key: GroupKey) {
        self.model = model
        self.key = key
    }

    public var requestIDs: [String] { requests.map(\.request.requestID) }
    public var oldestArrival: UInt64 { requests.map(\.receivedAt).min() ?? 0 }
}
