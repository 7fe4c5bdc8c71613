import Checkpoints
import Foundation
import TestSupport
import Testing
import UnlearningCore

/// `unlearnctl train` run as a real process.
@Suite("unlearnctl train", .serialized, .blockingWaits)
struct TrainCommandTests {
    @Test("trains logistic regression on the bundled digits and writes a loadable bundle")
    func trainsDigits() throws {
        let dir = try Binaries.temporaryDirectory("train")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("bundle").path
        let result = try Binaries.run("unlearnctl", ["train", "--data", "data/digits.csv.zst", "--hidden", "0", "--lambda", "0.01", "--out", out])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        // Not a terminal: exactly one summary line, no progress redraws.
        #expect(result.stdout.split(separator: "\n").count == 1)
        #expect(!result.stderr.contains("\r"))
        let bundle = try ModelBundle.read(from: out)
        #expect(bundle.train.count + bundle.validation.count == 1797)
        #expect(Set(bundle.train.subjects).isDisjoint(with: Set(bundle.validation.subjects)))
        let accuracy = bundle.model.accuracy(bundle.validationFeatures, labels: bundle.validation.labels)
        #expect(accuracy >= 0.95)
        #expect(bundle.descriptor.training?.gradientNorm ?? 1 < 1e-8)
    }

    /// The `cnn` preset with every default (30 epochs of Adam, lambda 1e-4, seed 1) on the MNIST extract.
    @Test("the cnn preset reaches >= 96.5% validation accuracy on the MNIST extract")
    func cnnPreset() throws {
        let dir = try Binaries.temporaryDirectory("train-cnn")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("bundle").path
        let result = try Binaries.run("unlearnctl", ["train", "--data", "data/mnist5k.csv.zst", "--architecture", "cnn", "--out", out])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        print(result.stdout)
        let bundle = try ModelBundle.read(from: out)
        #expect(bundle.model.architecture.parameterCount == 28_938)
        #expect(bundle.model.lambda == 1e-4)
        let accuracy = bundle.model.accuracy(bundle.validationFeatures, labels: bundle.validation.labels)
        #expect(accuracy >= 0.965, "validation accuracy \(accuracy)")
        #expect(bundle.descriptor.validationAccuracy == accuracy)
    }

    /// Same seed, same machine and OpenBLAS threads: the same weights, bit for bit; another seed: other weights.
    @Test("training a CNN is deterministic for a given seed")
    func deterministic() throws {
        let dir = try Binaries.temporaryDirectory("train-seed")
        defer { try? FileManager.default.removeItem(at: dir) }
        var weights: [Data] = []
        for (name, seed) in [("a", "7"), ("b", "7"), ("c", "8")] {
            let out = dir.appendingPathComponent(name).path
            let result = try Binaries.run(
                "unlearnctl",
                [
                    "train", "--data", "data/digits.csv.zst", "--architecture", "Config/architectures/digits-cnn.json", "--epochs", "2", "--seed",
                    seed, "--out", out,
                ])
            try #require(result.status == 0, "stderr: \(result.stderr)")
            weights.append(try Data(contentsOf: URL(fileURLWithPath: out + "/model.safetensors")))
        }
        #expect(weights[0] == weights[1])
        #expect(weights[0] != weights[2])
    }

    @Test("unlearnctl import turns weights + architecture + training CSV into a bundle with the same model")
    func importBundle() throws {
        let dir = try Binaries.temporaryDirectory("import")
        defer { try? FileManager.default.removeItem(at: dir) }
        let trained = dir.appendingPathComponent("trained").path
        #expect(try Binaries.run("unlearnctl", ["train", "--data", "data/digits.csv.zst", "--out", trained]).status == 0)
        let architecture = dir.appendingPathComponent("arch.json").path
        try #"{"inputs": 64, "layers": [{"units": 10, "activation": "identity"}], "lambda": 0.01}"#.write(
            toFile: architecture, atomically: true, encoding: .utf8)
        let imported = dir.appendingPathComponent("imported").path
        let result = try Binaries.run(
            "unlearnctl",
            [
                "import", "--weights", trained + "/model.safetensors", "--architecture", architecture,
                "--train", trained + "/train.csv.zst", "--validation", trained + "/validation.csv.zst", "--out", imported,
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let a = try ModelBundle.read(from: trained)
        let b = try ModelBundle.read(from: imported)
        #expect(a.model == b.model)
        #expect(a.descriptor.standardization == b.descriptor.standardization)
        #expect(a.train == b.train)
        #expect(a.validation == b.validation)
    }

    static let header = "sample_id,subject,label,x0,x1,x2\n"

    /// Each bad file, and what the one-line error must name (file, line, column).
    static let badInputs: [(name: String, csv: String?, expected: [String])] = [
        ("missing", nil, ["does not exist"]),
        ("ragged", header + "a,s1,0,1,2,3\nb,s1,1,1,2\n", [":3", "5 cells", "header has 6"]),
        ("non-numeric", header + "a,s1,0,1,2,3\nb,s2,1,1,two,3\n", [":3:5", "x1", "not a number"]),
        ("label", header + "a,s1,0,1,2,3\nb,s2,12,1,2,3\n", [":3:3", "label", "out of range"]),
        ("nan", header + "a,s1,0,1,2,3\nb,s2,1,1,2,NaN\n", [":3:6", "x2", "finite"]),
    ]

    @Test("bad input ends with a one-line error naming file, row and column, and leaves no bundle", arguments: 0..<5)
    func badInput(index: Int) throws {
        let (name, csv, expected) = Self.badInputs[index]
        let dir = try Binaries.temporaryDirectory("bad-\(name)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("\(name).csv").path
        if let csv { try csv.write(toFile: data, atomically: true, encoding: .utf8) }
        let out = dir.appendingPathComponent("bundle").path
        let result = try Binaries.run("unlearnctl", ["train", "--data", data, "--classes", "10", "--out", out])
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(data))
        for fragment in expected {
            #expect(result.stderr.contains(fragment), "missing \"\(fragment)\" in: \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("bundle") }
        #expect(leftovers.isEmpty, "partial bundle left behind: \(leftovers)")
    }
}
