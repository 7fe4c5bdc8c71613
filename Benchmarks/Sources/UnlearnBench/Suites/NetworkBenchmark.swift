import ArgumentParser
import Checkpoints
import Foundation
import UnlearnSupport
import UnlearningCore

extension Bench {
    /// `unlearn-bench networks`: the convolutional and residual presets. Training time per epoch against PyTorch on
    /// the same architecture, rows, batch size, epochs and thread count; the conv layers' im2col + GEMM rate against
    /// square DGEMM and SGEMM; and the unlearning methods on the `cnn` preset against same-seed retraining.
    struct NetworkBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "networks",
            abstract: "cnn and resnet8: training s/epoch versus PyTorch, conv GFLOP/s versus GEMM peak, newton/lfoci/dampening versus retraining.",
            discussion: """
                Data: the MNIST extract split by subject as `unlearnctl train` splits it (validation fraction 0.2, \
                --seed), standardised on the training rows. Part 1 (speed): each of --models trains --speed-epochs \
                Adam epochs (batch --batch-size, lambda --lambda, seed --seed) with Trainer.adam, evaluateEveryEpoch \
                off; its seconds per epoch exclude the final gradient and objective the trainer computes after the \
                last epoch (re-timed on the trained model and subtracted). PyTorch trains the same architecture \
                (written with JSONEncoder, docs/NETWORKS.md form) on the same raw training rows (it standardises \
                them the same way), same batch size, epochs and lambda, Adam lr 1e-3, with as many threads as OpenBLAS \
                has here (--threads, set with openblas_set_num_threads): Tests/python/torch_network.py train-speed, \
                which times its epochs only. Swift computes in Float64, PyTorch in Float32, from PyTorch's default \
                initialisation. Part 2 (gemm): each conv layer of the models on its own (the layer, global average \
                pooling and a 2-unit dense output, as a Network: im2col + GEMM + bias, plus memory-bound extras) and \
                the bare GEMM of the same shape (Matrix.gemm), over --batch-size random rows, and the whole forward \
                pass of each model over --batch-size training rows, against cblas_dgemm and cblas_sgemm of order \
                --gemm-order, in interleaved rounds (median of --rounds). Part 3 (unlearn): --unlearn-model trained \
                --epochs Adam epochs; for each of the first --subjects subjects of the training rows (sorted by \
                name), each of --methods from the same base with Unlearner.update (noise off, seed = request \
                number), and a same-seed retrain without the subject's rows as the reference.
                """
        )

        @Option(help: "Training-set CSV (images of S*S pixels, 1 channel).")
        var data: String = "data/mnist5k.csv.zst"

        @Option(help: "Presets timed in parts 1 and 2, comma-separated.")
        var models: String = "cnn,resnet8"

        @Option(help: "Adam epochs timed per model and framework in part 1.")
        var speedEpochs: Int = 3

        @Option(help: "Mini-batch size of training (parts 1 and 3) and batch of the conv timings (part 2).")
        var batchSize: Int = 64

        @Option(help: "OpenBLAS threads (openblas_set_num_threads) for the whole run; PyTorch gets the same count.")
        var threads: Int = 1

        @Option(help: "L2 coefficient of every model trained (both frameworks).")
        var lambda: Double = 1e-4

        @Option(help: "Seed of the split, the initial weights and the mini-batch order.")
        var seed: UInt64 = 1

        @Option(help: "Keep only N evenly spaced training rows (0: all), for a quick run.")
        var trainRows: Int = 0

        @Option(help: "Order of the square DGEMM and SGEMM that give the peak rates.")
        var gemmOrder: Int = 2048

        @Option(help: "Measurement rounds of part 2 (the median is reported).")
        var rounds: Int = 5

        @Option(help: "Part 2: a kernel is repeated within a sample until the sample takes this long.")
        var minSampleSeconds: Double = 0.2

        @Option(help: "The preset of part 3.")
        var unlearnModel: String = "cnn"

        @Option(help: "Part 3: subjects forgotten (the first ones of the training rows in sorted order).")
        var subjects: Int = 10

        @Option(help: "Part 3: Adam epochs of the base model and of each retrain.")
        var epochs: Int = 20

        @Option(help: "Part 3: unlearning methods, comma-separated (newton, lfoci, dampening).")
        var methods: String = "newton,lfoci,dampening"

        @Option(help: "Part 3: UnlearningOptions.hessianRows for lfoci (0: every residual row, the engine's default).")
        var hessianRows: Int = 0

        @Option(
            help:
                "Part 3: start no further subject once the suite's wall time plus the mean time of a subject so far would pass this many minutes (0: no limit); the output says how many ran."
        )
        var budgetMinutes: Double = 0

        @Option(help: "Parts to run, comma-separated: speed, gemm, unlearn.")
        var parts: String = "speed,gemm,unlearn"

        @Option(help: "Where to write the JSON result.")
        var json: String = "/tmp/unlearnd-bench-networks.json"

        // MARK: Results

        struct SpeedRow: Codable {
            var model: String
            var parameters: Int
            var trainRows: Int
            var epochs: Int
            var trainingFlopsPerSample: Double
            var swiftTrainerSeconds: Double
            var swiftTailSeconds: Double
            var swiftSecondsPerEpoch: Double
            var swiftTrainAccuracy: Double
            var torchSecondsPerEpoch: Double
            var torchTrainAccuracy: Double
            var ratio: Double
            var loadAverage: String
        }

        struct GemmRow: Codable {
            var model: String
            var layer: String
            var shape: String
            /// GEMM M x N x K: rows (samples x positions), filters, patch columns.
            var gemm: [Int]
            var flops: Double
            var layerSeconds: [Double]
            var gemmSeconds: [Double]
            var layerGFlops: Double
            var gemmGFlops: Double
            var layerOverDGEMM: Double
        }

        struct ForwardRow: Codable {
            var model: String
            var flops: Double
            var seconds: [Double]
            var gflops: Double
            var overDGEMM: Double
        }

        struct GemmResult: Codable {
            var order: Int
            var dgemmSeconds: [Double]
            var sgemmSeconds: [Double]
            var dgemmGFlops: Double
            var sgemmGFlops: Double
            var layers: [GemmRow]
            var forward: [ForwardRow]
        }

        struct MethodRun: Codable {
            var method: String
            var outcome: String
            var seconds: Double
            var forgottenLossAfter: Double
            var lossRatio: Double
            var validationChangePoints: Double
            var membershipAUCAfter: Double
            var timeFraction: Double
            var note: String
        }

        struct SubjectRun: Codable {
            var subject: String
            var rows: Int
            var retrainSeconds: Double
            var baseForgottenLoss: Double
            var retrainForgottenLoss: Double
            var baseMembershipAUC: Double
            var retrainMembershipAUC: Double
            var retrainValidationChangePoints: Double
            var methods: [MethodRun]
        }

        struct MethodSummary: Codable {
            var method: String
            var applied: Int
            var requests: Int
            var medianSeconds: Double
            var medianLossRatio: Double
            var worstValidationChangePoints: Double
            var medianMembershipAUC: Double
            var medianTimeFraction: Double
        }

        struct UnlearnResult: Codable {
            var model: String
            var parameters: Int
            var epochs: Int
            var baseTrainSeconds: Double
            var baseValidationAccuracy: Double
            var subjects: [SubjectRun]
            var summary: [MethodSummary]
            /// Why fewer subjects than asked ran (the --budget-minutes stop), if so.
            var stoppedBy: String?
        }

        struct Result: Codable {
            var command: String
            var cores: Int
            var openBLAS: String
            var openBLASCore: String
            var openBLASThreads: Int
            var torchPython: String?
            var torchVersion: String?
            var data: String
            var trainRows: Int
            var validationRows: Int
            var speed: [SpeedRow]
            var gemm: GemmResult?
            var unlearn: UnlearnResult?
            var loadAverageStart: String
            var loadAverageEnd: String
        }

        // MARK: Options

        var modelNames: [String] { list(models) }
        var methodNames: [String] { list(methods) }
        var partNames: Set<String> { Set(list(parts)) }

        func list(_ text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        func validate() throws {
            for name in modelNames + [unlearnModel] where !Architecture.presetNames.contains(name) {
                throw ValidationError("unknown preset \"\(name)\"; the presets are \(Architecture.presetNames.joined(separator: ", "))")
            }
            for name in methodNames where UnlearningOptions.Method(rawValue: name) == nil {
                throw ValidationError("unknown method \"\(name)\"; use newton, lfoci or dampening")
            }
            for name in partNames where !["speed", "gemm", "unlearn"].contains(name) {
                throw ValidationError("unknown part \"\(name)\"; the parts are speed, gemm and unlearn")
            }
            guard speedEpochs >= 1, epochs >= 1, batchSize >= 1, threads >= 1, rounds >= 1, subjects >= 1, gemmOrder >= 1 else {
                throw ValidationError("--speed-epochs, --epochs, --batch-size, --threads, --rounds, --subjects and --gemm-order must be >= 1")
            }
            guard lambda > 0, lambda.isFinite, trainRows >= 0, hessianRows >= 0, budgetMinutes >= 0 else {
                throw ValidationError("--lambda must be > 0; --train-rows, --hessian-rows and --budget-minutes >= 0")
            }
        }

        func run() throws {
            let started = DispatchTime.now().uptimeNanoseconds
            let command = CommandLine.arguments.joined(separator: " ")
            let loadStart = BenchTools.loadAverage()
            #if DEBUG
                print("warning: debug build; build with -c release for meaningful timings")
            #endif
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let blasThreads = BLASPeak.setThreads(threads)
            print("unlearn-bench networks  (\(cores) cores, load average \(loadStart) at start)")
            print("OpenBLAS: \(BLASLibrary.configuration), kernels \(BLASLibrary.coreName), \(blasThreads) thread(s) (--threads \(threads))")
            let torch = partNames.contains("speed") ? try TorchTrainSpeed.locate() : nil
            if let torch { print("PyTorch: \(torch.version) (\(torch.python)), run with \(blasThreads) thread(s) to match OpenBLAS") }
            print("precision: unlearnd computes in Float64, PyTorch in Float32")

            let dataset = try TrainingSetFile.read(data, classes: 10)
            let (trainAll, validationRaw) = dataset.splitBySubject(validationFraction: 0.2, seed: seed)
            // A quick run keeps evenly spaced rows: the file is ordered by label, so its first rows are one class.
            let trainRaw =
                trainRows > 0 && trainRows < trainAll.count
                ? trainAll.subset((0..<trainRows).map { $0 * trainAll.count / trainRows }) : trainAll
            let standardization = Standardization(fitting: trainRaw.features)
            let train = (x: standardization.apply(trainRaw.features), labels: trainRaw.labels)
            let validation = (x: standardization.apply(validationRaw.features), labels: validationRaw.labels)
            let side = Int(Double(dataset.features.cols).squareRoot().rounded())
            guard side * side == dataset.features.cols else {
                throw ValidationError("\(data) has \(dataset.features.cols) features, not a square image")
            }
            let input = [1, side, side]
            print(
                "data: \(data), split by subject (validation fraction 0.2, seed \(seed)) as `unlearnctl train` does: "
                    + "\(train.x.rows) training rows\(trainRows > 0 ? " (\(train.x.rows) evenly spaced of \(trainAll.count))" : ""), "
                    + "\(validation.x.rows) validation rows, images 1x\(side)x\(side), standardised on the training rows")

            var result = Result(
                command: command, cores: cores, openBLAS: BLASLibrary.configuration, openBLASCore: BLASLibrary.coreName,
                openBLASThreads: blasThreads, torchPython: torch?.python, torchVersion: torch?.version, data: data,
                trainRows: train.x.rows, validationRows: validation.x.rows, speed: [], gemm: nil, unlearn: nil,
                loadAverageStart: loadStart, loadAverageEnd: "")
            if let torch {
                result.speed = try speed(torch: torch, threads: blasThreads, input: input, trainRaw: trainRaw, train: train)
            }
            if partNames.contains("gemm") {
                result.gemm = try gemm(input: input, train: train.x)
            }
            if partNames.contains("unlearn") {
                result.unlearn = try unlearn(input: input, trainRaw: trainRaw, train: train, validation: validation, started: started)
            }
            result.loadAverageEnd = BenchTools.loadAverage()
            print("\nload average \(result.loadAverageEnd) at end")
            try BenchTools.writeJSON(result, to: json)
        }

        func preset(_ name: String, input: [Int]) throws -> Architecture {
            guard let architecture = try Architecture.preset(name, input: input, classes: 10) else {
                throw ValidationError("unknown preset \"\(name)\"")
            }
            return architecture
        }

        func adamOptions(epochs: Int) -> Trainer.AdamOptions {
            var options = Trainer.AdamOptions()
            options.epochs = epochs
            options.batchSize = batchSize
            options.seed = seed
            options.evaluateEveryEpoch = false
            return options
        }

        // MARK: Part 1: training time per epoch

        func speed(
            torch: TorchTrainSpeed, threads: Int, input: [Int], trainRaw: Dataset, train: (x: Matrix, labels: [Int])
        ) throws -> [SpeedRow] {
            print(
                "\n== 1. training time per epoch: \(speedEpochs) Adam epochs, batch \(batchSize), lambda \(lambda), \(train.x.rows) rows, \(threads) thread(s)"
            )
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("unlearn-bench-networks-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            // The raw training rows: train-speed standardises them on themselves, as the Swift side did.
            let csv = directory.appendingPathComponent("train.csv.zst").path
            try TrainingSetFile.write(trainRaw, to: csv)

            var rows: [SpeedRow] = []
            for name in modelNames {
                let architecture = try preset(name, input: input)
                let architecturePath = directory.appendingPathComponent("\(name).json")
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try encoder.encode(architecture).write(to: architecturePath)

                var model = try Network(architecture: architecture, lambda: lambda, seed: seed)
                let report = Trainer.adam(&model, x: train.x, labels: train.labels, options: adamOptions(epochs: speedEpochs))
                // What Trainer.adam computes after the last epoch (the report's gradient norm and objective).
                let ((), tail) = BenchTools.timed {
                    _ = Vector.norm(model.objectiveGradient(train.x, labels: train.labels))
                    _ = model.objective(train.x, labels: train.labels)
                }
                let swiftPerEpoch = (report.seconds - tail) / Double(speedEpochs)
                let swiftAccuracy = model.accuracy(train.x, labels: train.labels)
                let reference = try torch.trainSpeed(
                    architecture: architecturePath.path, csv: csv, epochs: speedEpochs, batchSize: batchSize, threads: threads, seed: seed,
                    lambda: lambda)
                let row = SpeedRow(
                    model: name, parameters: architecture.parameterCount, trainRows: train.x.rows, epochs: speedEpochs,
                    trainingFlopsPerSample: NetworkShapes(architecture).trainingFlopsPerSample, swiftTrainerSeconds: report.seconds,
                    swiftTailSeconds: tail, swiftSecondsPerEpoch: swiftPerEpoch, swiftTrainAccuracy: swiftAccuracy,
                    torchSecondsPerEpoch: reference.secondsPerEpoch, torchTrainAccuracy: reference.finalTrainAccuracy,
                    ratio: swiftPerEpoch / reference.secondsPerEpoch, loadAverage: BenchTools.loadAverage())
                rows.append(row)
                print(
                    "  \(name): \(architecture.summary), \(architecture.parameterCount) parameters; Swift \(BenchTools.fmt(swiftPerEpoch, 2)) s/epoch "
                        + "(Trainer.adam \(BenchTools.fmt(report.seconds, 2)) s minus \(BenchTools.fmt(tail, 2)) s of final gradient + objective), "
                        + "PyTorch \(BenchTools.fmt(reference.secondsPerEpoch, 2)) s/epoch (load \(row.loadAverage))")
                fflush(nil)
            }
            print("")
            BenchTools.printTable(
                [
                    "model", "parameters", "epochs", "Swift s/epoch", "PyTorch s/epoch", "Swift / PyTorch", "Swift GFLOP/s", "PyTorch GFLOP/s",
                    "Swift train acc %", "PyTorch train acc %", "load",
                ],
                rows.map { r in
                    let flops = r.trainingFlopsPerSample * Double(r.trainRows) / 1e9
                    return [
                        r.model, "\(r.parameters)", "\(r.epochs)", BenchTools.fmt(r.swiftSecondsPerEpoch, 2),
                        BenchTools.fmt(r.torchSecondsPerEpoch, 2),
                        BenchTools.fmt(r.ratio, 2) + "x", BenchTools.fmt(flops / r.swiftSecondsPerEpoch, 1),
                        BenchTools.fmt(flops / r.torchSecondsPerEpoch, 1), BenchTools.fmt(100 * r.swiftTrainAccuracy, 1),
                        BenchTools.fmt(100 * r.torchTrainAccuracy, 1), r.loadAverage,
                    ]
                })
            print(
                "    Swift: Float64, He/Glorot-uniform initialisation (seed \(seed)); PyTorch: Float32, its default initialisation; both Adam lr 1e-3"
            )
            print(
                "    (Swift's cosine decay to 0, PyTorch's constant rate), L2 lambda \(lambda) in the loss; train accuracy on the \(train.x.rows) training rows after the last epoch"
            )
            print(
                "    GFLOP/s: GEMM flops of a training step (forward + weight gradients + input gradients but the first layer's) x rows / (s/epoch)")
            for r in rows {
                print(
                    "    target: \(r.model) Swift <= 1.5x PyTorch per epoch: \(r.ratio <= 1.5 ? "met" : "NOT met") (\(BenchTools.fmt(r.ratio, 2))x)")
            }
            fflush(nil)
            return rows
        }

        // MARK: Part 2: im2col + GEMM against the GEMM peak

        func gemm(input: [Int], train: Matrix) throws -> GemmResult {
            var rng = SeededGenerator(seed: 11)
            func random(_ rows: Int, _ cols: Int) -> Matrix {
                Matrix(rows: rows, cols: cols, storage: (0..<(rows * cols)).map { _ in 2 * rng.nextUniform() - 1 })
            }
            print(
                "\n== 2. conv layers at batch \(batchSize): im2col + GEMM against square DGEMM / SGEMM of order \(gemmOrder), "
                    + "\(BLASLibrary.threads) thread(s), median of \(rounds) rounds")
            struct Layer {
                var model: String
                var conv: NetworkShapes.Conv
                var network: Network
                var x: Matrix
                var cols: Matrix
                var weights: Matrix
            }
            var layers: [Layer] = []
            var forwards: [(model: String, network: Network, flops: Double)] = []
            for name in modelNames {
                let architecture = try preset(name, input: input)
                let shapes = NetworkShapes(architecture)
                for conv in shapes.convs {
                    let network = try Network(architecture: NetworkShapes.isolated(conv), lambda: lambda, seed: seed)
                    layers.append(
                        Layer(
                            model: name, conv: conv, network: network, x: random(batchSize, conv.channels * conv.height * conv.width),
                            cols: random(batchSize * conv.outPositions, conv.patch), weights: random(conv.spec.outChannels, conv.patch)))
                }
                forwards.append(
                    (name, try Network(architecture: architecture, lambda: lambda, seed: seed), shapes.flopsPerSample * Double(batchSize)))
            }
            let batch = train.selectingRows(0..<min(batchSize, train.rows))

            var operands = BLASPeak.Operands(order: gemmOrder)
            var dgemm: [Double] = []
            var sgemm: [Double] = []
            var layerSeconds = [[Double]](repeating: [], count: layers.count)
            var gemmSeconds = layerSeconds
            var forwardSeconds = [[Double]](repeating: [], count: forwards.count)
            for _ in 0..<rounds {
                dgemm.append(perRun { operands.dgemm() })
                sgemm.append(perRun { operands.sgemm() })
                for (k, layer) in layers.enumerated() {
                    layerSeconds[k].append(perRun { _ = layer.network.forward(layer.x) })
                    var out = Matrix(rows: layer.cols.rows, cols: layer.weights.rows)
                    gemmSeconds[k].append(perRun { Matrix.gemm(layer.cols, layer.weights, transposeB: true, into: &out) })
                }
                for (k, f) in forwards.enumerated() {
                    forwardSeconds[k].append(perRun { _ = f.network.forward(batch) })
                }
            }
            let dgemmRate = operands.flops / BenchTools.median(dgemm) / 1e9
            let sgemmRate = operands.flops / BenchTools.median(sgemm) / 1e9
            var rows: [GemmRow] = []
            for (k, layer) in layers.enumerated() {
                let flops = layer.conv.flops(samples: batchSize)
                let layerRate = flops / BenchTools.median(layerSeconds[k]) / 1e9
                rows.append(
                    GemmRow(
                        model: layer.model, layer: layer.conv.name, shape: layer.conv.summary,
                        gemm: [layer.cols.rows, layer.conv.spec.outChannels, layer.conv.patch], flops: flops, layerSeconds: layerSeconds[k],
                        gemmSeconds: gemmSeconds[k], layerGFlops: layerRate, gemmGFlops: flops / BenchTools.median(gemmSeconds[k]) / 1e9,
                        layerOverDGEMM: layerRate / dgemmRate))
            }
            let forwardRows = forwards.enumerated().map { k, f in
                let rate = f.flops / BenchTools.median(forwardSeconds[k]) / 1e9
                return ForwardRow(model: f.model, flops: f.flops, seconds: forwardSeconds[k], gflops: rate, overDGEMM: rate / dgemmRate)
            }
            print(
                "  peak: DGEMM \(BenchTools.fmt(dgemmRate, 1)) GFLOP/s, SGEMM \(BenchTools.fmt(sgemmRate, 1)) GFLOP/s "
                    + "(order \(gemmOrder), SGEMM/DGEMM \(BenchTools.fmt(sgemmRate / dgemmRate, 2))x; load \(BenchTools.loadAverage()))")
            print("")
            BenchTools.printTable(
                [
                    "model", "layer", "input -> output", "GEMM M x N x K", "MFLOP", "layer ms", "layer GFLOP/s", "GEMM alone GFLOP/s",
                    "GEMM share of layer", "layer / DGEMM peak", "layer / SGEMM peak",
                ],
                rows.map { r in
                    [
                        r.model, r.layer, r.shape, r.gemm.map(String.init).joined(separator: " x "), BenchTools.fmt(r.flops / 1e6, 1),
                        BenchTools.fmt(1000 * BenchTools.median(r.layerSeconds), 2), BenchTools.fmt(r.layerGFlops, 1),
                        BenchTools.fmt(r.gemmGFlops, 1),
                        BenchTools.fmt(100 * BenchTools.median(r.gemmSeconds) / BenchTools.median(r.layerSeconds), 0) + "%",
                        BenchTools.fmt(100 * r.layerOverDGEMM, 0) + "%", BenchTools.fmt(100 * r.layerGFlops / sgemmRate, 0) + "%",
                    ]
                }
                    + forwardRows.map { f in
                        [
                            f.model, "whole forward", "batch \(batch.rows)", "-", BenchTools.fmt(f.flops / 1e6, 1),
                            BenchTools.fmt(1000 * BenchTools.median(f.seconds), 2), BenchTools.fmt(f.gflops, 1), "-", "-",
                            BenchTools.fmt(100 * f.overDGEMM, 0) + "%", BenchTools.fmt(100 * f.gflops / sgemmRate, 0) + "%",
                        ]
                    })
            print("    MFLOP: 2 M N K of the layer's GEMM (bias not counted); M = batch x output positions, N = filters, K = channels x k^2")
            print("    layer: Network.forward of the conv alone (im2col, GEMM, bias; plus a channels-last copy of the input when C > 1, global")
            print("    average pooling and a 2-unit dense output, timed but not counted), \(batchSize) random rows; GEMM alone: Matrix.gemm of the")
            print("    same M x N x K on random operands; whole forward: Network.forward of the model on \(batch.rows) training rows, flops of")
            print("    every conv and dense GEMM; peaks: cblas_dgemm / cblas_sgemm of order \(gemmOrder) (2 n^3 flops)")
            fflush(nil)
            return GemmResult(
                order: gemmOrder, dgemmSeconds: dgemm, sgemmSeconds: sgemm, dgemmGFlops: dgemmRate, sgemmGFlops: sgemmRate, layers: rows,
                forward: forwardRows)
        }

        /// Seconds per run of `body`, repeated until the sample takes at least --min-sample-seconds.
        func perRun(_ body: () -> Void) -> Double {
            var runs = 0
            var elapsed = 0.0
            repeat {
                let ((), seconds) = BenchTools.timed(body)
                elapsed += seconds
                runs += 1
            } while elapsed < minSampleSeconds
            return elapsed / Double(runs)
        }

        // MARK: Part 3: unlearning against retraining

        func unlearn(
            input: [Int], trainRaw: Dataset, train: (x: Matrix, labels: [Int]), validation: (x: Matrix, labels: [Int]), started: UInt64
        ) throws -> UnlearnResult {
            let architecture = try preset(unlearnModel, input: input)
            let bySubject = trainRaw.rowsBySubject
            let chosen = bySubject.keys.sorted().prefix(subjects).map { (name: $0, rows: bySubject[$0]!) }
            print(
                "\n== 3. unlearning on \(unlearnModel) (\(architecture.parameterCount) parameters): Adam \(epochs) epochs, batch \(batchSize), "
                    + "lambda \(lambda), seed \(seed); methods \(methodNames.joined(separator: ", ")) (Unlearner.update, noise off) "
                    + "against a same-seed retrain without the subject")
            print(
                "  subjects: the first \(chosen.count) of the training rows' \(bySubject.count) in sorted order: "
                    + chosen.map { "\($0.name) (\($0.rows.count) rows)" }.joined(separator: ", "))

            func fit(_ x: Matrix, _ labels: [Int]) throws -> (Network, Double) {
                var model = try Network(architecture: architecture, lambda: lambda, seed: seed)
                let ((), seconds) = BenchTools.timed { _ = Trainer.adam(&model, x: x, labels: labels, options: adamOptions(epochs: epochs)) }
                return (model, seconds)
            }
            let (model, baseSeconds) = try fit(train.x, train.labels)
            let baseAccuracy = model.accuracy(validation.x, labels: validation.labels)
            let base = UnlearningState(
                model: model, trainFeatures: train.x, trainLabels: train.labels, validationFeatures: validation.x,
                validationLabels: validation.labels)
            print(
                "  base: trained in \(BenchTools.fmt(baseSeconds, 1)) s, train accuracy \(BenchTools.fmt(100 * model.accuracy(train.x, labels: train.labels), 2))%, "
                    + "validation accuracy \(BenchTools.fmt(100 * baseAccuracy, 2))% (load \(BenchTools.loadAverage()))")
            fflush(nil)
            let validationLosses = { (m: Network) in m.perRowLoss(validation.x, labels: validation.labels) }
            let baseValidationLosses = validationLosses(model)

            var runs: [SubjectRun] = []
            let progress = ProgressLine(enabled: Terminal.standardErrorIsTTY)
            defer { progress.finish() }
            let elapsed = { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
            var subjectSeconds: [Double] = []
            var stoppedBy: String?
            for (k, subject) in chosen.enumerated() {
                if budgetMinutes > 0, let perSubject = subjectSeconds.isEmpty ? nil : BenchTools.mean(subjectSeconds),
                    elapsed() + perSubject > 60 * budgetMinutes
                {
                    stoppedBy =
                        "stopped after \(k) of \(chosen.count) subjects: the suite had run \(BenchTools.fmt(elapsed() / 60, 1)) min and a "
                        + "subject takes \(BenchTools.fmt(perSubject / 60, 1)) min (mean so far), past --budget-minutes \(String(format: "%g", budgetMinutes))"
                    print("  " + stoppedBy!)
                    break
                }
                let subjectStart = elapsed()
                let rows = subject.rows
                let forgottenX = train.x.selectingRows(rows)
                let forgottenY = rows.map { train.labels[$0] }
                progress.update("\(unlearnModel): subject \(k + 1) of \(chosen.count), retraining")
                let drop = Set(rows)
                let keep = (0..<train.x.rows).filter { !drop.contains($0) }
                let (retrained, retrainSeconds) = try fit(train.x.selectingRows(keep), keep.map { train.labels[$0] })
                let retrainLosses = retrained.perRowLoss(forgottenX, labels: forgottenY)
                let baseLosses = model.perRowLoss(forgottenX, labels: forgottenY)
                var run = SubjectRun(
                    subject: subject.name, rows: rows.count, retrainSeconds: retrainSeconds, baseForgottenLoss: BenchTools.mean(baseLosses),
                    retrainForgottenLoss: BenchTools.mean(retrainLosses),
                    baseMembershipAUC: MembershipInference.lossAUC(members: baseLosses, nonMembers: baseValidationLosses) ?? .nan,
                    retrainMembershipAUC: MembershipInference.lossAUC(members: retrainLosses, nonMembers: validationLosses(retrained)) ?? .nan,
                    retrainValidationChangePoints: 100 * (retrained.accuracy(validation.x, labels: validation.labels) - baseAccuracy),
                    methods: [])
                for name in methodNames {
                    progress.update("\(unlearnModel): subject \(k + 1) of \(chosen.count), \(name)")
                    var options = UnlearningOptions()
                    options.method = UnlearningOptions.Method(rawValue: name)!
                    options.noise = false
                    options.seed = UInt64(k + 1)
                    if hessianRows > 0 { options.hessianRows = hessianRows }
                    var state = base
                    let start = DispatchTime.now().uptimeNanoseconds
                    do {
                        let report = try Unlearner.update(rows: rows, in: &state, options: options, policy: BenchTools.unguardedPolicy)
                        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        var note: [String] = []
                        switch options.method! {
                        case .newton: note.append("\(report.newtonIterations) Newton steps, \(report.cgIterations) CG")
                        case .lfoci: note.append("\(report.slices.count) slices, block \(report.blockSize), \(report.cgIterations) CG")
                        case .dampening: note.append("\(report.dampenedParameters ?? 0) dampened")
                        case .finetune, .neggrad, .scrub, .salun: note.append("\(report.optimizerSteps ?? 0) optimiser steps")
                        }
                        run.methods.append(
                            MethodRun(
                                method: name, outcome: report.outcome.rawValue, seconds: seconds, forgottenLossAfter: report.forgottenLossAfter,
                                lossRatio: report.forgottenLossAfter / run.retrainForgottenLoss,
                                validationChangePoints: 100 * ((report.validationAccuracyAfter ?? .nan) - baseAccuracy),
                                membershipAUCAfter: report.membershipAUCAfter ?? .nan, timeFraction: seconds / retrainSeconds,
                                note: note.joined(separator: "; ")))
                    } catch {
                        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        run.methods.append(
                            MethodRun(
                                method: name, outcome: "failed", seconds: seconds, forgottenLossAfter: .nan, lossRatio: .nan,
                                validationChangePoints: .nan, membershipAUCAfter: .nan, timeFraction: seconds / retrainSeconds,
                                note: "\(error)"))
                    }
                }
                runs.append(run)
                subjectSeconds.append(elapsed() - subjectStart)
                progress.finish()
                print(
                    "  subject \(k + 1)/\(chosen.count) \(subject.name): retrain \(BenchTools.fmt(retrainSeconds, 1)) s; "
                        + run.methods.map { "\($0.method) \(BenchTools.fmt($0.seconds, 2)) s\($0.outcome == "applied" ? "" : " (\($0.outcome))")" }
                        .joined(separator: ", ") + " (load \(BenchTools.loadAverage()))")
                fflush(nil)  // every C stream: a long run shows its progress when stdout is a file
            }

            print("")
            var table: [[String]] = []
            for run in runs {
                table.append([
                    run.subject, "\(run.rows)", "retrain", BenchTools.fmt(run.retrainSeconds, 2), BenchTools.fmt(run.retrainForgottenLoss, 4),
                    "1.000",
                    BenchTools.fmt(run.retrainValidationChangePoints, 2), BenchTools.fmt(run.retrainMembershipAUC, 3), "1.000",
                    "base: loss \(BenchTools.fmt(run.baseForgottenLoss, 4)), AUC \(BenchTools.fmt(run.baseMembershipAUC, 3))",
                ])
                for m in run.methods {
                    table.append([
                        "", "", m.method, BenchTools.fmt(m.seconds, 2), BenchTools.fmt(m.forgottenLossAfter, 4), BenchTools.fmt(m.lossRatio, 3),
                        BenchTools.fmt(m.validationChangePoints, 2), BenchTools.fmt(m.membershipAUCAfter, 3), BenchTools.fmt(m.timeFraction, 4),
                        m.outcome == "applied" ? m.note : "\(m.outcome): \(m.note)",
                    ])
                }
            }
            BenchTools.printTable(
                [
                    "subject", "rows", "method", "seconds", "forgotten loss", "/ retrain", "validation vs base (points)", "MIA AUC", "time / retrain",
                    "notes",
                ],
                table)
            print(
                "    forgotten loss: mean loss of the subject's rows under the updated (noise-free) model; / retrain: over the same-seed retrain's;")
            print(
                "    MIA AUC: loss-based membership AUC of the subject's rows against the \(validation.x.rows) validation rows (UpdateReport.membershipAUCAfter;"
            )
            print(
                "    the retrain row: the same AUC under the retrained model); time / retrain: update seconds over that subject's retrain seconds (Trainer.adam, \(epochs) epochs)"
            )

            var summary: [MethodSummary] = []
            for name in methodNames {
                let all = runs.compactMap { $0.methods.first { $0.method == name } }
                let applied = all.filter { $0.outcome == "applied" }
                summary.append(
                    MethodSummary(
                        method: name, applied: applied.count, requests: all.count, medianSeconds: BenchTools.median(all.map(\.seconds)),
                        medianLossRatio: BenchTools.median(applied.map(\.lossRatio)),
                        worstValidationChangePoints: applied.map(\.validationChangePoints).min() ?? .nan,
                        medianMembershipAUC: BenchTools.median(applied.map(\.membershipAUCAfter)),
                        medianTimeFraction: BenchTools.median(all.map(\.timeFraction))))
            }
            print(
                "\n  summary over \(runs.count) subjects (\(runs.map(\.subject).joined(separator: ", ")))"
                    + (stoppedBy.map { "; \($0)" } ?? ""))
            BenchTools.printTable(
                [
                    "method", "applied", "s/update (median)", "loss ratio (median)", "loss ratio (min..max)", "worst validation change (points)",
                    "MIA AUC (median)", "time / retrain (median)",
                ],
                summary.map { s in
                    let ratios = runs.compactMap { $0.methods.first { $0.method == s.method && $0.outcome == "applied" }?.lossRatio }
                    return [
                        s.method, "\(s.applied) of \(s.requests)", BenchTools.fmt(s.medianSeconds, 2), BenchTools.fmt(s.medianLossRatio, 3),
                        ratios.isEmpty ? "n/a" : "\(BenchTools.fmt(ratios.min()!, 3))..\(BenchTools.fmt(ratios.max()!, 3))",
                        BenchTools.fmt(s.worstValidationChangePoints, 2), BenchTools.fmt(s.medianMembershipAUC, 3),
                        BenchTools.fmt(s.medianTimeFraction, 4),
                    ]
                } + [
                    [
                        "retrain", "\(runs.count) of \(runs.count)", BenchTools.fmt(BenchTools.median(runs.map(\.retrainSeconds)), 2), "1.000", "-",
                        BenchTools.fmt(runs.map(\.retrainValidationChangePoints).min() ?? .nan, 2),
                        BenchTools.fmt(BenchTools.median(runs.map(\.retrainMembershipAUC)), 3), "1.0000",
                    ]
                ])
            print(
                "    reference: base validation accuracy \(BenchTools.fmt(100 * baseAccuracy, 2))%; base forgotten-row loss (median over subjects) "
                    + "\(BenchTools.fmt(BenchTools.median(runs.map(\.baseForgottenLoss)), 4)), retrain's \(BenchTools.fmt(BenchTools.median(runs.map(\.retrainForgottenLoss)), 4)); "
                    + "base MIA AUC (median) \(BenchTools.fmt(BenchTools.median(runs.map(\.baseMembershipAUC)), 3))")
            print("    worst validation change: the lowest over the subjects (most negative = largest drop)")
            return UnlearnResult(
                model: unlearnModel, parameters: architecture.parameterCount, epochs: epochs, baseTrainSeconds: baseSeconds,
                baseValidationAccuracy: baseAccuracy, subjects: runs, summary: summary, stoppedBy: stoppedBy)
        }
    }
}
