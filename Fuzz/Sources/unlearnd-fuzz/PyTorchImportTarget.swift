import Checkpoints
import Foundation
import UnlearningCore

/// `unlearnctl import`'s reader of a PyTorch network: an architecture JSON and a safetensors state dict. The input is
/// the JSON, a NUL byte, then the safetensors bytes (JSON text holds no raw NUL).
enum PyTorchImportTarget {
    static func run(_ bytes: [UInt8]) {
        let split = bytes.firstIndex(of: 0) ?? bytes.endIndex
        let json = Data(bytes[..<split])
        let rest = split < bytes.endIndex ? Array(bytes[(split + 1)...]) : []
        guard let weights = Explain.attempt("weights", { try SafetensorsFile.decode(rest) }) else { return }
        guard let imported = Explain.attempt("import", { try PyTorchImport(architectureJSON: json, tensors: weights.tensors) }) else {
            return
        }
        guard imported.theta.count == imported.architecture.parameterCount, imported.theta.allSatisfy(\.isFinite) else {
            fatalError("an import holds \(imported.theta.count) values for \(imported.architecture.parameterCount) parameters")
        }
    }
}
