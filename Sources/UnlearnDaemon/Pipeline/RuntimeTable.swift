import Checkpoints
import Foundation
import KafkaLog
import Logging
import ServiceLifecycle
import UnlearningCore

/// The model runtimes by id. Only the engine queue touches the runtimes themselves.
final class RuntimeTable: @unchecked Sendable {
    private let lock = NSLock()
    private var table: [String: ModelRuntime] = [:]

    func set(_ runtime: ModelRuntime, for id: String) {
        lock.lock()
        defer { lock.unlock() }
        table[id] = runtime
    }

    func get(_ id: String) -> ModelRuntime? {
        lock.lock()
        defer { lock.unlock() }
        return table[id]
    }

    var all: [ModelRuntime] {
        lock.lock()
        defer { lock.unlock() }
        return table.keys.sorted().compactMap { table[$0] }
    }

    var ids: Set<String> {
        lock.lock()
        defer { lock.unlock() }
        return Set(table.keys)
    }
}
