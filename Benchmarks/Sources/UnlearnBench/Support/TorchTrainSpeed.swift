import ArgumentParser
import Foundation

/// PyTorch as the training-speed reference: `Tests/python/torch_network.py train-speed`, run with the interpreter
/// `./dev torch` prepares (`UNLEARND_TORCH_PYTHON`, else `.build/torch-venv/bin/python3`), as the tests find it.
struct TorchTrainSpeed {
    var python: String
    /// `torch.__version__` and `torch.get_num_threads()` before the script sets them.
    var version: String

    /// The repository root: this file is Benchmarks/Sources/UnlearnBench/Support/TorchTrainSpeed.swift.
    static var repositoryRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { url.deleteLastPathComponent() }
        return url
    }

    static var script: String { repositoryRoot.appendingPathComponent("Tests/python/torch_network.py").path }

    /// The first interpreter that imports torch: `UNLEARND_TORCH_PYTHON` if set, else the venv of `./dev torch`.
    static func locate() throws -> TorchTrainSpeed {
        var candidates: [String] = []
        if let configured = ProcessInfo.processInfo.environment["UNLEARND_TORCH_PYTHON"], !configured.isEmpty {
            candidates.append(configured)
        }
        candidates.append(repositoryRoot.appendingPathComponent(".build/torch-venv/bin/python3").path)
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            if let out = try? run(candidate, ["-c", "import torch; print(torch.__version__)"]), out.status == 0 {
                return TorchTrainSpeed(python: candidate, version: out.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        throw ValidationError(
            "no Python interpreter imports torch (tried \(candidates.joined(separator: ", "))); run `./dev torch` (Debian's "
                + "python3-torch in .build/torch-venv) or set UNLEARND_TORCH_PYTHON to a python3 that imports torch")
    }

    struct Result: Codable {
        var secondsPerEpoch: Double
        var epochs: Int
        var finalTrainAccuracy: Double

        enum CodingKeys: String, CodingKey {
            case secondsPerEpoch = "seconds_per_epoch"
            case epochs
            case finalTrainAccuracy = "final_train_accuracy"
        }
    }

    /// `train-speed` on the architecture JSON and CSV: PyTorch's default initialisation, Float32, Adam (lr 1e-3),
    /// the L2 term `lambda` in the loss, `threads` intra-op threads; the script times the epochs only.
    func trainSpeed(architecture: String, csv: String, epochs: Int, batchSize: Int, threads: Int, seed: UInt64, lambda: Double) throws -> Result {
        let arguments = [
            Self.script, "train-speed", "--architecture", architecture, "--csv", csv, "--epochs", "\(epochs)", "--batch-size",
            "\(batchSize)", "--threads", "\(threads)", "--seed", "\(seed)", "--lambda", "\(lambda)",
        ]
        let out = try Self.run(python, arguments)
        guard out.status == 0 else {
            throw ValidationError("torch_network.py train-speed exited with status \(out.status): \(out.stderr.suffix(2000))")
        }
        guard let line = out.stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw ValidationError("torch_network.py train-speed printed no JSON: \(out.stdout.suffix(2000))")
        }
        return try JSONDecoder().decode(Result.self, from: Data(line.utf8))
    }

    /// Runs `executable` to completion; its stderr goes to a temporary file so that neither pipe can fill up.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdout = Pipe()
        let errorPath = FileManager.default.temporaryDirectory.appendingPathComponent("unlearn-bench-torch-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errorPath.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorPath) }
        let errorHandle = try FileHandle(forWritingTo: errorPath)
        process.standardOutput = stdout
        process.standardError = errorHandle
        try process.run()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try? errorHandle.close()
        let errors = (try? String(contentsOf: errorPath, encoding: .utf8)) ?? ""
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), errors)
    }
}
