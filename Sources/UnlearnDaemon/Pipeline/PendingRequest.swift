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
