import ArgumentParser
import Checkpoints
import Foundation
import UnlearnDaemon
import UnlearningCore

/// `unlearnctl import`: brings a model trained elsewhere in as a model bundle the daemon can register.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import safetensors weights + a JSON architecture + the training-set CSV as a model bundle.",
        discussion: """
            Weights: a PyTorch state dict saved with safetensors.torch.save_file (F64 or F32; F32 is widened \
            exactly): <name>.weight [out, in] or [out, in, k, k] and <name>.bias for every dense and conv2d layer, \
            batchnorm2d statistics (folded into the conv before them), optional input.mean / input.std [d] (the \
            features are used as (x - mean) / std). Architecture JSON (docs/NETWORKS.md): {"input": [1, 28, 28], \
            "layers": [{"type": "conv2d", "name": "features.0", "out_channels": 16, "kernel": 5}, ...], "lambda": \
            0.0001}, or the MLP form {"inputs": 784, "layers": [{"units": 128, "activation": "relu"}, {"units": 10, \
            "activation": "identity"}], "lambda": 0.0001} with layers.{l}.weight/bias. The training set (CSV or CSV.zst: sample_id,subject,label,x0,...) must be \
            the rows the model was trained on: its feature count must match, and the imported weights' accuracy on \
            it is printed as a check. Writes a bundle directory (bundle.json, model.safetensors, train.csv.zst, \
            validation.csv.zst) like `unlearnctl train` does; register it in the daemon's `models` list.
            """
    )

    @Option(help: "Safetensors file with the weights.")
    var weights: String

    @Option(help: "JSON architecture description (with lambda).")
    var architecture: String

    @Option(help: "Training-set CSV (.csv or .csv.zst) the model was trained on.")
    var train: String

    @Option(help: "Optional held-out CSV for the accuracy guard.")
    var validation: String?

    @Option(help: "Bundle directory to create (must not exist).")
    var out: String

    func run() throws {
        let file = try SafetensorsFile.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: weights))))
        let imported = try PyTorchImport(architectureJSON: Data(contentsOf: URL(fileURLWithPath: architecture)), tensors: file.tensors)
        let shape = imported.architecture
        let classes = shape.classes
        let data = try TrainingSetFile.read(train, classes: classes)
        guard data.features.cols == shape.inputs else {
            throw CheckpointError(
                .shapeMismatch, "the training set has \(data.features.cols) features, the architecture \(shape.inputs) inputs")
        }
        let held = try validation.map { try TrainingSetFile.read($0, classes: classes) } ?? data.subset([])
        let model = try Network(architecture: shape, theta: imported.theta, lambda: imported.lambda)
        let standardization = imported.standardization
        let x = standardization.map { $0.apply(data.features) } ?? data.features
        let trainAccuracy = model.accuracy(x, labels: data.labels)
        let validationAccuracy =
            held.count > 0
            ? model.accuracy(standardization.map { $0.apply(held.features) } ?? held.features, labels: held.labels) : nil
        let descriptor = ModelBundle.Descriptor(
            architecture: model.architecture, lambda: imported.lambda, standardization: standardization, training: nil,
            source: URL(fileURLWithPath: weights).lastPathComponent, trainRows: data.count, validationRows: held.count,
            trainAccuracy: trainAccuracy, validationAccuracy: validationAccuracy
        )
        try ModelBundle(descriptor: descriptor, model: model, train: data, validation: held).write(to: out)
        let gradient = Vector.norm(model.objectiveGradient(x, labels: data.labels))
        print(
            "imported \(shape.summary)"
                + (imported.foldedBatchNorms.isEmpty ? "" : " (\(imported.foldedBatchNorms.count) batch norms folded into their convs)")
                + ": \(data.count) training rows, train accuracy \(String(format: "%.4f", trainAccuracy)), "
                + "|grad F| \(String(format: "%.2e", gradient)) (unlearning assumes a trained model: near 0 for logistic regression) -> \(out)")
    }
}
