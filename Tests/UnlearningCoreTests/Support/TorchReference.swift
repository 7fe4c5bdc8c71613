import Checkpoints
import Foundation
import ProcessHarness
import Testing
import UnlearningCore

/// PyTorch (Debian's `python3-torch`) as the independent reference: `Tests/python/torch_network.py`, run with the
/// interpreter `./dev torch` prepares. A test that needs it fails, naming the fix, when no interpreter imports torch.
enum TorchReference {
    static func python() throws -> String {
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment["UNLEARND_TORCH_PYTHON"], !configured.isEmpty {
            candidates.append(configured)
        }
        candidates.append("\(BundledData.repositoryRoot)/.build/torch-venv/bin/python3")
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            if try ProcessRunner.run(candidate, ["-c", "import torch, safetensors.torch"]).status == 0 { return candidate }
        }
        let tried = candidates.joined(separator: ", ")
        Issue.record(
            Comment(
                rawValue: "no Python interpreter imports torch and safetensors (tried \(tried)); run `./dev torch` (Debian's "
                    + "python3-torch plus safetensors in .build/torch-venv) or set UNLEARND_TORCH_PYTHON"))
        throw CancellationError()
    }

    static var script: String { "\(BundledData.repositoryRoot)/Tests/python/torch_network.py" }

    /// What PyTorch's autograd computes for one network, weights, rows and direction.
    struct Derivatives {
        var logits: [Double]
        var loss: Double
        /// Per parameter, in the engine's flat layout.
        var gradient: [Double]
        var gaussNewtonProduct: [Double]
        var squaredGradients: [Double]
    }

    static func derivatives(_ model: Network, x: Matrix, labels: [Int], v: [Double]) throws -> Derivatives {
        let python = try python()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let arch = model.architecture
        try JSONEncoder().encode(arch).write(to: directory.appendingPathComponent("architecture.json"))
        var weights: [String: SafetensorsTensor] = [:]
        var inputs: [String: SafetensorsTensor] = [
            "x": try SafetensorsTensor(float64: x.storage, shape: [x.rows, x.cols]),
            "labels": try SafetensorsTensor(int64: labels.map(Int64.init), shape: [labels.count]),
            "lambda": try SafetensorsTensor(float64: [model.lambda], shape: [1]),
        ]
        for tensor in arch.parameterTensors {
            weights[tensor.name] = try SafetensorsTensor(float64: arch.values(of: tensor, in: model.theta), shape: tensor.shape)
            inputs["v." + tensor.name] = try SafetensorsTensor(float64: arch.values(of: tensor, in: v), shape: tensor.shape)
        }
        try Data(SafetensorsFile(metadata: [:], tensors: weights).encoded()).write(to: directory.appendingPathComponent("w.safetensors"))
        try Data(SafetensorsFile(metadata: [:], tensors: inputs).encoded()).write(to: directory.appendingPathComponent("i.safetensors"))
        let out = directory.appendingPathComponent("o.safetensors")
        let run = try ProcessRunner.run(
            python,
            [
                script, "derivatives", "--architecture", directory.appendingPathComponent("architecture.json").path,
                "--weights", directory.appendingPathComponent("w.safetensors").path, "--inputs",
                directory.appendingPathComponent("i.safetensors").path, "--out", out.path,
            ])
        try #require(run.status == 0, "torch_network.py derivatives failed: \(run.stderrText)")
        let result = try SafetensorsFile.decode([UInt8](Data(contentsOf: out))).tensors
        func flat(_ prefix: String) throws -> [Double] {
            var theta = [Double](repeating: 0, count: model.parameterCount)
            for tensor in arch.parameterTensors {
                arch.store(try result[prefix + tensor.name]!.float64Values(), of: tensor, into: &theta)
            }
            return theta
        }
        return Derivatives(
            logits: try result["logits"]!.float64Values(), loss: try result["loss"]!.float64Values()[0],
            gradient: try flat("grad."), gaussNewtonProduct: try flat("ggn_v."), squaredGradients: try flat("sqgrad."))
    }
}
