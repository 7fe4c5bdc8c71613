import Checkpoints
import Foundation
import UnlearningCore

/// The architecture JSON reader (bundles, snapshot manifests, `unlearnctl import`): decode, validate as a snapshot
/// architecture, and walk its parameter layout. Property: a valid architecture re-encodes to JSON that decodes to it.
enum ArchitectureTarget {
    static func run(_ bytes: [UInt8]) {
        guard let architecture = Explain.attempt("architecture", { try JSONDecoder().decode(Architecture.self, from: Data(bytes)) }) else {
            return
        }
        guard Explain.attempt("snapshot architecture", { try architecture.validateForSnapshot() }) != nil else { return }
        var total = 0
        for tensor in architecture.parameterTensors { total += tensor.shape.reduce(1, *) }
        guard total == architecture.parameterCount else {
            fatalError("parameter tensors hold \(total) values, parameterCount is \(architecture.parameterCount)")
        }
        do {
            let again = try JSONDecoder().decode(Architecture.self, from: JSONEncoder().encode(architecture))
            guard again == architecture else { fatalError("a re-encoded architecture decodes to another architecture") }
        } catch {
            fatalError("a valid architecture does not re-encode and decode: \(error)")
        }
    }
}
