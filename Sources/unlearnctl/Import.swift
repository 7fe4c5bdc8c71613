import ArgumentParser
import Checkpoints
import Foundation
import UnlearningCore

/// `unlearnctl import`: brings a model trained elsewhere into a snapshot store as the base of epoch 1.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import safetensors weights + a JSON architecture + the training-set CSV as a base snapshot.",
        discussion: """
            Weights: layers.{l}.weight [out, in] and layers.{l}.bias [out] (F64 or F32; F32 is widened exactly), \
            optional input.mean / input.std [d]. Architecture JSON: {"inputs": 784, "layers": [{"units": 128, \
            "activation": "relu"}, {"units": 10, "activation": "identity"}], "lambda": 0.0001}. The training set \
            (CSV or CSV.zst: sample_id,subject,label,x0,...) gives n0 and is checked against the model: its feature \
            count must match and the imported weights' accuracy on it is printed. Writes version 1 of the store in \
            --out (a model directory), which must not hold snapshots yet.
            """
    )

    @Option(help: "Safetensors file with the weights.")
    var weights: String

    @Option(help: "JSON architecture description (with lambda).")
    var architecture: String

    @Option(help: "Training-set CSV (.csv or .csv.zst) the model was trained on.")
    var train: String

    @Option(help: "Model id, [a-z0-9][a-z0-9._-]{0,63}.")
    var modelId: String

    @Option(help: "Model directory to create the store in.")
    var out: String

    struct ArchitectureFile: Decodable {
        var inputs: Int
        var layers: [SnapshotArchitecture.Layer]
        var lambda: Double
    }

    func run() throws {
        let description = try JSONDecoder().decode(ArchitectureFile.self, from: Data(contentsOf: URL(fileURLWithPath: architecture)))
        let shape = SnapshotArchitecture(inputs: description.inputs, layers: description.layers)
        try shape.validate()
        guard description.lambda > 0, description.lambda.isFinite else {
            throw CheckpointError(.invalidArgument, "lambda must be positive and finite, got \(description.lambda)")
        }
        let file = try SafetensorsFile.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: weights))))
        let parameters = try ModelParameters(architecture: shape, tensors: file.tensors)
        guard parameters.theta.allSatisfy(\.isFinite) else {
            throw CheckpointError(.invalidArgument, "the weights contain NaN or infinite values")
        }
        let data = try TrainingSetFile.read(train, classes: shape.layers.last!.units)
        guard data.features.cols == shape.inputs else {
            throw CheckpointError(
                .shapeMismatch, "the training set has \(data.features.cols) features, the architecture \(shape.inputs) inputs")
        }
        var correct = 0
        for row in 0..<data.count {
            let logits = parameters.logits(data.features.row(row))
            if logits.indices.max(by: { logits[$0] < logits[$1] }) == data.labels[row] { correct += 1 }
        }
        let manifest = SnapshotManifest(
            modelId: modelId, version: 1, parentVersion: nil, parentSHA256: nil, budgetEpoch: 1, baseVersion: 1,
            createdAt: ISO8601DateFormatter().string(from: Date()), architecture: shape, lambda: description.lambda,
            n0: data.count, residualN: data.count,
            extensions: ["import": .object([
                "weights": .string(weights), "train": .string(train), "train_accuracy": .number(Double(correct) / Double(max(data.count, 1))),
            ])])
        let store = try SnapshotStore(directory: out)
        guard try store.versions().isEmpty else {
            throw CheckpointError(.invalidArgument, "\(out) already holds snapshots; import into an empty model directory")
        }
        let committed = try store.commit(Snapshot(manifest: manifest, parameters: parameters))
        print("imported \(modelId): \(shape.summary), \(data.count) training rows, train accuracy \(String(format: "%.4f", Double(correct) / Double(max(data.count, 1))))")
        print("wrote \(committed.path) (sha256 \(committed.record.payloadSHA256))")
    }
}
