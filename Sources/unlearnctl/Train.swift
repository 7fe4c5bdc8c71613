import ArgumentParser
import Checkpoints
import Foundation
import UnlearnSupport
import UnlearningCore

/// `unlearnctl train`: fits a model on a training-set CSV and writes a model bundle.
struct Train: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on a training-set CSV and write a model bundle.",
        discussion: """
            The CSV has a header `sample_id,subject,label,<features...>` (plain or .csv.zst). Rows are split by \
            subject into training and validation sets, features are standardised on the training rows, and the \
            bundle directory receives bundle.json, model.safetensors, train.csv.zst and validation.csv.zst.
            Logistic regression (--hidden 0) is trained with full-batch L-BFGS to a gradient norm below \
            --tolerance; MLPs with mini-batch Adam. --architecture takes a preset (cnn, resnet8) or an architecture \
            JSON file (docs/NETWORKS.md) instead of --hidden, for convolutional and residual networks (trained with \
            Adam). Training is deterministic for a given seed, machine and OpenBLAS thread count.
            """
    )

    @Option(help: "Training-set CSV (.csv or .csv.zst).")
    var data: String

    @Option(help: "Hidden layer widths, comma-separated; 0 or empty for logistic regression.")
    var hidden: String = "0"

    @Option(help: "A preset (cnn, resnet8) or an architecture JSON file (docs/NETWORKS.md); replaces --hidden.")
    var architecture: String?

    @Option(name: .customLong("input-shape"), help: "C,H,W of the image rows (default 1,S,S when there are S*S features).")
    var inputShape: String?

    @Option(help: "Hidden-layer activation: relu or tanh.")
    var activation: String = "relu"

    @Option(help: "L2 coefficient lambda of the training objective (default 0.01; 1e-4 with --architecture).")
    var lambda: Double?

    /// 0.01 suits logistic regression and the MLPs; the conv presets reach their accuracy at 1e-4 (BENCHMARKS.md).
    var resolvedLambda: Double { lambda ?? (architecture == nil ? 0.01 : 1e-4) }

    @Option(help: "Number of classes (default: largest label + 1).")
    var classes: Int?

    @Option(help: "Optimiser: auto (L-BFGS for logistic regression, Adam otherwise), adam or lbfgs.")
    var optimizer: String = "auto"

    @Option(help: "Adam epochs.")
    var epochs: Int = 30

    @Option(name: .customLong("batch-size"), help: "Adam mini-batch size.")
    var batchSize: Int = 64

    @Option(name: .customLong("learning-rate"), help: "Adam initial learning rate (cosine decay to 0).")
    var learningRate: Double = 1e-3

    @Option(help: "Stop when the full gradient norm falls below this.")
    var tolerance: Double = 1e-9

    @Option(name: .customLong("validation-fraction"), help: "Fraction of rows (whole subjects) held out for validation.")
    var validationFraction: Double = 0.2

    @Option(help: "Seed of the split, the initial weights and the mini-batch order.")
    var seed: UInt64 = 1

    @Option(help: "Output bundle directory (must not exist unless --force).")
    var out: String

    @Flag(help: "Replace an existing bundle directory.")
    var force = false

    func validate() throws {
        guard resolvedLambda > 0, resolvedLambda.isFinite else {
            throw ValidationError("--lambda must be > 0 (got \(resolvedLambda)); unlearning needs a strongly convex term")
        }
        guard validationFraction >= 0, validationFraction < 1 else {
            throw ValidationError("--validation-fraction must be in [0, 1), got \(validationFraction)")
        }
        guard epochs > 0, batchSize > 0, learningRate > 0 else {
            throw ValidationError("--epochs, --batch-size and --learning-rate must be positive")
        }
        guard ["auto", "adam", "lbfgs"].contains(optimizer) else {
            throw ValidationError("--optimizer must be auto, adam or lbfgs, got \"\(optimizer)\"")
        }
        guard Activation(rawValue: activation) != nil, activation != "identity" else {
            throw ValidationError("--activation must be relu or tanh, got \"\(activation)\"")
        }
        _ = try hiddenWidths()
    }

    func hiddenWidths() throws -> [Int] {
        let parts = hidden.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var widths: [Int] = []
        for part in parts {
            guard let w = Int(part), w >= 0 else {
                throw ValidationError("--hidden must be comma-separated non-negative integers, got \"\(hidden)\"")
            }
            if w > 0 { widths.append(w) }
        }
        return widths
    }

    func run() async throws {
        do {
            try train()
        } catch let error as TrainingSetCSV.ParseError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as CheckpointError {
            FileHandle.standardError.write(Data("error: \(error.reason)\n".utf8))
            throw ExitCode(1)
        } catch let error as ModelError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func train() throws {
        let terminal = Terminal.standardErrorIsTTY
        if FileManager.default.fileExists(atPath: out) && !force {
            throw CheckpointError(.invalidArgument, "\(out) already exists; choose another --out or pass --force to replace it")
        }
        let dataset = try TrainingSetFile.read(data, classes: classes)
        let classCount = classes ?? ((dataset.labels.max() ?? 0) + 1)
        guard classCount >= 2 else {
            throw CheckpointError(.invalidArgument, "\(data): all rows have label \(dataset.labels.first ?? 0); training needs at least 2 classes")
        }
        let (trainRaw, validationRaw) = dataset.splitBySubject(validationFraction: validationFraction, seed: seed)
        let standardization = Standardization(fitting: trainRaw.features)
        let x = standardization.apply(trainRaw.features)
        let validation = (x: standardization.apply(validationRaw.features), labels: validationRaw.labels)
        let architecture = try self.networkArchitecture(features: dataset.features.cols, classes: classCount)
        var model = try Network(architecture: architecture, lambda: resolvedLambda, seed: seed)
        let shape = architecture.summary
        let useLBFGS = optimizer == "lbfgs" || (optimizer == "auto" && architecture.isConvex)
        let progress = ProgressLine(enabled: terminal)
        let report: TrainingReport
        if useLBFGS {
            var options = Trainer.LBFGSOptions()
            options.gradientTolerance = tolerance
            report = Trainer.lbfgs(&model, x: x, labels: trainRaw.labels, validation: validation, options: options, progressEvery: 10) { p in
                progress.update(
                    String(
                        format: "L-BFGS iteration %d  F %.6f  |grad| %.2e  train %.1f%%  validation %.1f%%",
                        p.step, p.objective, p.gradientNorm, 100 * p.trainAccuracy, 100 * (p.validationAccuracy ?? 0)
                    ))
            }
        } else {
            var options = Trainer.AdamOptions()
            options.epochs = epochs
            options.batchSize = batchSize
            options.learningRate = learningRate
            options.gradientTolerance = tolerance
            options.seed = seed
            report = Trainer.adam(&model, x: x, labels: trainRaw.labels, validation: validation, options: options) { p in
                progress.update(
                    String(
                        format: "epoch %d/%d  F %.4f  %@train %.1f%%  validation %.1f%%",
                        p.step, p.totalSteps, p.objective, p.gradientNorm.isNaN ? "" : String(format: "|grad| %.2e  ", p.gradientNorm),
                        100 * p.trainAccuracy, 100 * (p.validationAccuracy ?? 0)
                    ))
            }
        }
        progress.finish()
        let trainAccuracy = model.accuracy(x, labels: trainRaw.labels)
        let validationAccuracy = validationRaw.count > 0 ? model.accuracy(validation.x, labels: validation.labels) : nil
        let descriptor = ModelBundle.Descriptor(
            architecture: architecture, lambda: resolvedLambda, standardization: standardization, training: report,
            source: URL(fileURLWithPath: data).lastPathComponent, trainRows: trainRaw.count,
            validationRows: validationRaw.count, trainAccuracy: trainAccuracy, validationAccuracy: validationAccuracy
        )
        let bundle = ModelBundle(descriptor: descriptor, model: model, train: trainRaw, validation: validationRaw)
        try bundle.write(to: out, replace: force)
        let validationText = validationAccuracy.map { String(format: "%.1f%%", 100 * $0) } ?? "n/a"
        print(
            String(
                format:
                    "trained %@ (%@, lambda %g) on %d rows with %@ in %.1f s: %d %@, F %.6f, |grad F| %.1e, train %.1f%%, validation %@ (%d rows) -> %@",
                shape, architecture.isConvex ? "logistic regression" : (self.architecture ?? activation), resolvedLambda, trainRaw.count,
                report.method,
                report.seconds, report.steps, report.method == "adam" ? "epochs" : "iterations", report.objective,
                report.gradientNorm, 100 * trainAccuracy, validationText, validationRaw.count, out
            ))
    }

    /// The network to train: `--architecture` (a preset or a JSON file) or the dense stack of `--hidden`.
    func networkArchitecture(features: Int, classes: Int) throws -> Architecture {
        guard let name = architecture else {
            return Architecture(inputs: features, hidden: try hiddenWidths(), classes: classes, activation: Activation(rawValue: activation)!)
        }
        let input: [Int]
        if let inputShape {
            let parts = inputShape.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 }), parts.reduce(1, *) == features else {
                throw ValidationError("--input-shape must be C,H,W with C*H*W = \(features) (the feature count), got \"\(inputShape)\"")
            }
            input = parts
        } else {
            let side = Int(Double(features).squareRoot().rounded())
            guard side * side == features else {
                throw ValidationError("\(features) features are not a square image; give --input-shape C,H,W")
            }
            input = [1, side, side]
        }
        if let preset = try Architecture.preset(name, input: input, classes: classes) { return preset }
        guard name.hasSuffix(".json") || FileManager.default.fileExists(atPath: name) else {
            throw ValidationError(
                "--architecture must be a preset (\(Architecture.presetNames.joined(separator: ", "))) or a JSON file, got \"\(name)\"")
        }
        let decoded: Architecture
        do {
            decoded = try JSONDecoder().decode(Architecture.self, from: Data(contentsOf: URL(fileURLWithPath: name)))
        } catch {
            throw ValidationError("\(name) is not an architecture (docs/NETWORKS.md): \(error)")
        }
        guard decoded.inputs == features, decoded.classes == classes else {
            throw ValidationError(
                "\(name) takes \(decoded.inputs) inputs and has \(decoded.classes) classes; the data has \(features) features and \(classes) classes")
        }
        return decoded
    }
}
