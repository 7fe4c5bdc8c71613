import Foundation

/// A validated request waiting in a batch, with where it came from in the log.
public struct PendingRequest: Sendable {
    public var request: DeletionRequest
    /// Training rows it selects (removed or not).
    public var rows: [Int]
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Monotonic arrival time (nanoseconds), for batch age and latency.
    public var receivedAt: UInt64

    public init(request: DeletionRequest, rows: [Int], topic: String, partition: Int32, offset: Int64, receivedAt: UInt64) {
        self.request = request
        self.rows = rows
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.receivedAt = receivedAt
    }
}

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
