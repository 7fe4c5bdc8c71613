import ArgumentParser
import Checkpoints
import Foundation
import UnlearningCore

extension Bench {
    /// `unlearn-bench scale`: per-request time of each method, and of warm-started retraining, as the training
    /// set grows.
    struct ScaleBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scale",
            abstract: "Per-request unlearning time of newton and lfoci versus warm-started retraining at n = 4k, 16k, 64k rows.",
            discussion: """
                Resamples the MNIST extract's training split with replacement to each n, adding Gaussian input noise \
                (sd --input-noise in standardised units) to every copy so no two rows are equal, and groups the rows \
                into synthetic subjects of --subject-rows rows. At each n it trains logistic regression (L-BFGS to \
                |grad F| < 1e-9), then forgets --subjects subjects one at a time from the same base with newton and \
                with lfoci (noise off), and retrains warm from the base on the residual rows (L-BFGS, same \
                tolerance) as the reference for time and distance.
                """
        )

        @Option(help: "Training-set CSV.")
        var data: String = "data/mnist5k.csv.zst"

        @Option(help: "Training set sizes, comma-separated.")
        var sizes: String = "4000,16000,64000"

        @Option(help: "Subjects forgotten per size and method.")
        var subjects: Int = 3

        @Option(name: .customLong("subject-rows"), help: "Rows per synthetic subject.")
        var subjectRows: Int = 10

        @Option(name: .customLong("input-noise"), help: "Input noise sd of the resampled copies (standardised units).")
        var inputNoise: Double = 0.1

        @Option(help: "Where to write the JSON result.")
        var json: String = "/tmp/unlearnd-bench-scale.json"

        struct Row: Codable {
            var n: Int
            var method: String
            var secondsPerRequest: [Double]
            var distanceRatio: [Double]
            var warmRetrainSeconds: [Double]
        }

        func run() throws {
            print(
                "unlearn-bench scale  (\(ProcessInfo.processInfo.activeProcessorCount) cores, load \(BenchTools.loadAverage()), release build expected)"
            )
            let dataset = try TrainingSetFile.read(data, classes: 10)
            let (source, _, _) = dataset.standardizedSplit(validationFraction: 0.2, seed: 1)
            let ns = sizes.split(separator: ",").compactMap { Int($0) }
            var results: [Row] = []
            var table: [[String]] = []
            var rng = SeededGenerator(seed: 7)
            for n in ns {
                // Resample with replacement and perturb: row i is a noisy copy of a random source row.
                let d = source.features.cols
                var storage = [Double](repeating: 0, count: n * d)
                var labels = [Int](repeating: 0, count: n)
                for i in 0..<n {
                    let r = Int(rng.next() % UInt64(source.count))
                    labels[i] = source.labels[r]
                    for j in 0..<d { storage[i * d + j] = source.features[r, j] + inputNoise * rng.nextGaussian() }
                }
                let x = Matrix(rows: n, cols: d, storage: storage)
                var model = try Network(architecture: Architecture(inputs: d, hidden: [], classes: 10), lambda: 0.01, seed: 1)
                var lbfgs = Trainer.LBFGSOptions()
                lbfgs.gradientTolerance = 1e-9
                let trained = Trainer.lbfgs(&model, x: x, labels: labels, options: lbfgs)
                print("n = \(n): trained in \(BenchTools.fmt(trained.seconds, 1)) s (\(trained.steps) iterations)")
                let base = UnlearningState(
                    model: model, trainFeatures: x, trainLabels: labels, validationFeatures: Matrix(rows: 0, cols: d), validationLabels: [])
                // Subjects are consecutive blocks of rows; the evaluated ones are spread over the set.
                let subjectCount = n / subjectRows
                let chosen = (0..<subjects).map { k -> [Int] in
                    let s = (k * subjectCount) / max(1, subjects)
                    return Array((s * subjectRows)..<((s + 1) * subjectRows))
                }
                var warmSeconds: [Double] = []
                var retrained: [Network] = []
                for rows in chosen {
                    let drop = Set(rows)
                    let keep = (0..<n).filter { !drop.contains($0) }
                    var warm = model
                    let report = Trainer.lbfgs(&warm, x: x.selectingRows(keep), labels: keep.map { labels[$0] }, options: lbfgs)
                    warmSeconds.append(report.seconds)
                    retrained.append(warm)
                }
                let warm = BenchTools.median(warmSeconds)
                table.append(["\(n)", "warm retrain (L-BFGS)", BenchTools.fmt(warm), "1", "0"])
                for method in [UnlearningOptions.Method.newton, .lfoci] {
                    var seconds: [Double] = []
                    var ratios: [Double] = []
                    for (k, rows) in chosen.enumerated() {
                        var state = base
                        var options = UnlearningOptions()
                        options.method = method
                        options.noise = false
                        let (_, s) = try BenchTools.timed {
                            try Unlearner.forget(rows: rows, in: &state, options: options, policy: BenchTools.unguardedPolicy)
                        }
                        seconds.append(s)
                        let reference = Vector.distance(model.theta, retrained[k].theta)
                        ratios.append(Vector.distance(state.model.theta, retrained[k].theta) / reference)
                    }
                    let median = BenchTools.median(seconds)
                    table.append([
                        "\(n)", method.rawValue, BenchTools.fmt(median), BenchTools.fmt(median / warm),
                        String(format: "%.2e", BenchTools.median(ratios)),
                    ])
                    results.append(
                        Row(n: n, method: method.rawValue, secondsPerRequest: seconds, distanceRatio: ratios, warmRetrainSeconds: warmSeconds))
                }
            }
            print("")
            BenchTools.printTable(["n", "method", "s/request (median)", "time / warm retrain", "distance ratio (median)"], table)
            try BenchTools.writeJSON(results, to: json)
            print("\nJSON: \(json)")
        }
    }
}
