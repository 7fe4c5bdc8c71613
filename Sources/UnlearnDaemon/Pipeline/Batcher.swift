/// Groups validated requests per model and per group key (subject, class, or sample lists) and says when a
/// group is due: when it holds `maxRows` rows or its oldest request waited `maxWait`.
struct Batcher {
    private var open: [String: [PendingBatch.GroupKey: PendingBatch]] = [:]
    let maxRows: Int
    let maxWaitNanoseconds: UInt64
    let groupByRequest: Bool

    init(maxRows: Int, maxWaitMilliseconds: Int, groupByRequest: Bool) {
        self.maxRows = maxRows
        self.maxWaitNanoseconds = UInt64(max(0, maxWaitMilliseconds)) * 1_000_000
        self.groupByRequest = groupByRequest
    }

    func key(for request: DeletionRequest) -> PendingBatch.GroupKey {
        if groupByRequest { return .request(ExactText(request.requestID)) }
        switch request.scope {
        case .subject(let s): return .subject(ExactText(s))
        case .class(let c): return .class(c)
        case .samples: return .samples
        }
    }

    /// Adds a request; returns its batch if that is now full (and removes it from the open set).
    mutating func add(_ pending: PendingRequest) -> PendingBatch? {
        let model = pending.request.model
        let k = key(for: pending.request)
        var batch = open[model]?[k] ?? PendingBatch(model: model, key: k)
        batch.requests.append(pending)
        batch.rowCount += pending.rows.count
        if batch.rowCount >= maxRows {
            open[model]?[k] = nil
            return batch
        }
        open[model, default: [:]][k] = batch
        return nil
    }

    /// True when a request with this id waits in an open batch.
    func contains(requestID: String, model: String) -> Bool {
        let id = ExactText(requestID)
        return open[model]?.values.contains { $0.requests.contains { ExactText($0.request.requestID) == id } } ?? false
    }

    /// Removes and returns the batches whose oldest request is at least `maxWait` old.
    mutating func takeDue(now: UInt64) -> [PendingBatch] {
        var due: [PendingBatch] = []
        for (model, groups) in open {
            for (k, batch) in groups where now &- batch.oldestArrival >= maxWaitNanoseconds {
                due.append(batch)
                open[model]?[k] = nil
            }
        }
        return due.sorted { $0.oldestArrival < $1.oldestArrival }
    }

    /// Removes and returns every open batch.
    mutating func takeAll() -> [PendingBatch] {
        let all = open.values.flatMap(\.values).sorted { $0.oldestArrival < $1.oldestArrival }
        open.removeAll()
        return all
    }

    /// Drops the requests that came from `partitions` (revoked: the next owner replays them).
    mutating func drop(partitions: Set<Int32>) -> Int {
        var dropped = 0
        for (model, groups) in open {
            for (k, var batch) in groups {
                let before = batch.requests.count
                batch.requests.removeAll { partitions.contains($0.partition) }
                dropped += before - batch.requests.count
                batch.rowCount = batch.requests.reduce(0) { $0 + $1.rows.count }
                open[model]?[k] = batch.requests.isEmpty ? nil : batch
            }
        }
        return dropped
    }

    var pendingRequests: Int { open.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.requests.count } } }
}
