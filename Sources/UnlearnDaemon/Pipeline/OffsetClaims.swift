import KafkaLog

/// Where the daemon starts reading each deletions partition when it is assigned, from the offsets the models
/// recorded in their snapshots (the Kafka commit only follows them, so they are the truth).
///
/// A model's recorded offset for a partition says that every message below it was done when that snapshot was
/// written: applied in its model's snapshot, recognised as a duplicate or dead-lettered. While every model holds its
/// newest snapshot, the largest recorded offset is therefore safe for all of them. A *replaying* model lost newer
/// versions (quarantined, or re-imported by `unlearnctl recover`): its own lost requests lie above its own offsets,
/// so reading starts at the smallest own offset of the replaying models (the beginning of a partition it has none
/// for). Requests read twice are recognised by request id.
struct OffsetClaims: Sendable, Equatable {
    /// Per partition, the largest offset any model recorded (never decreases while the daemon runs).
    var recorded: [Int32: Int64] = [:]
    /// The recorded offsets of each replaying model.
    var replaying: [[Int32: Int64]] = []

    /// The offset to start `partition` at, or nil for the group's committed offset.
    func start(_ partition: Int32) -> Int64? {
        let safe = recorded[partition]
        guard let replay = replaying.map({ $0[partition] ?? KafkaOffset.beginning }).min() else { return safe }
        return min(replay, safe ?? .max)
    }

    /// Folds in one model's recorded offsets.
    mutating func add(_ offsets: [Int32: Int64], replaying isReplaying: Bool) {
        for (p, o) in offsets { recorded[p] = max(recorded[p] ?? o, o) }
        if isReplaying { replaying.append(offsets) }
    }
}
