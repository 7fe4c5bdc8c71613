import Foundation
import TestSupport
import Testing
import UnlearningCore

@testable import Checkpoints

@Suite("PyTorchImport", .computeBound)
struct PyTorchImportTests {
    /// A fuzz finding's input: the architecture JSON, a NUL byte, the safetensors bytes (Fuzz/, target pytorch-import).
    static func input(_ name: String) throws -> (json: Data, tensors: [String: SafetensorsTensor]) {
        let path = TestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/fuzz/\(name)").path
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        let split = try #require(bytes.firstIndex(of: 0))
        return (Data(bytes[..<split]), try SafetensorsFile.decode(Array(bytes[(split + 1)...])).tensors)
    }

    @Test("the weights are checked before the parameter vector is allocated")
    func weightsCheckedBeforeAllocation() throws {
        // Found by the fuzz harness's allocation bound: 95 bytes (a 16,777,216-input, 127-class logistic regression
        // and an empty state dict) made the import allocate and zero 2.1e9 doubles (17 GB) before it looked for
        // the first tensor. To see this test fail without the fix, run it under an address-space limit (prlimit
        // --as=4294967296 swift test ...), or the machine spends 17 GB on it.
        let (json, tensors) = try Self.input("pytorch-import-2e9-parameters")
        #expect(tensors.isEmpty)
        let error = try #require(throws: CheckpointError.self) { try PyTorchImport(architectureJSON: json, tensors: tensors) }
        #expect(error.code == .shapeMismatch)
        #expect(error.reason.contains("no tensor \"layers.0.weight\""))
    }

    @Test("a logistic regression imports with its weights in place")
    func logisticRegression() throws {
        let json = Data(#"{"lambda": 0.5, "inputs": 2, "layers": [{"units": 2, "activation": "identity"}]}"#.utf8)
        let tensors = [
            "layers.0.weight": try SafetensorsTensor(float64: [1, 2, 3, 4], shape: [2, 2]),
            "layers.0.bias": try SafetensorsTensor(float32: [5, 6], shape: [2]),
        ]
        let imported = try PyTorchImport(architectureJSON: json, tensors: tensors)
        #expect(imported.lambda == 0.5)
        // theta holds each unit's weights then its bias (docs/NETWORKS.md, "Parameters and slices").
        #expect(imported.theta == [1, 2, 5, 3, 4, 6])
        let wrongShape = try #require(throws: CheckpointError.self) {
            try PyTorchImport(architectureJSON: json, tensors: ["layers.0.weight": try SafetensorsTensor(float64: [1, 2, 3], shape: [3])])
        }
        #expect(wrongShape.reason.contains("has shape [3], the architecture needs [2, 2]"))
    }
}
