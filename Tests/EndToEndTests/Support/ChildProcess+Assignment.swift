import Foundation
import ProcessHarness
import UnlearnDaemon

extension ChildProcess {
    /// The deletions-topic partitions an `unlearnd` child owns by its own log: its "Partitions assigned" notices
    /// added and its "Partitions revoked" notices taken away, in order (the notices carry the partitions under
    /// `LogKey.partition`).
    var assignedPartitions: Set<Int32> {
        var owned: Set<Int32> = []
        for line in stderr.split(separator: "\n") {
            let assigned = line.hasSuffix("] Partitions assigned")
            guard assigned || line.hasSuffix("] Partitions revoked"), let listed = Self.partitions(in: line) else { continue }
            if assigned { owned.formUnion(listed) } else { owned.subtract(listed) }
        }
        return owned
    }

    /// The list in `unlearnd.kafka.partition=[0, 1]`.
    static func partitions(in line: Substring) -> [Int32]? {
        guard let start = line.range(of: LogKey.partition + "=[")?.upperBound, let end = line[start...].firstIndex(of: "]") else { return nil }
        return line[start..<end].split(separator: ",").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }
}
