import Checkpoints

/// The safetensors reader. Property: a file that decodes re-encodes to bytes that decode to the same file.
enum SafetensorsTarget {
    static func run(_ bytes: [UInt8]) {
        guard let file = Explain.attempt("safetensors", { try SafetensorsFile.decode(bytes) }) else { return }
        let encoded: [UInt8]
        do {
            encoded = try file.encoded()
        } catch {
            fatalError("a decoded safetensors file does not re-encode: \(error)")
        }
        do {
            guard try SafetensorsFile.decode(encoded) == file else { fatalError("re-encoded safetensors file differs") }
        } catch {
            fatalError("re-encoded safetensors file is rejected: \(error)")
        }
    }
}
