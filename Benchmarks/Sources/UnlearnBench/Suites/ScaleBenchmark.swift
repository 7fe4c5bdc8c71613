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
            abstract:
                "Per-request time of newton with and without its preconditioner versus warm-started and from-scratch retraining at n = 4k, 16k, 64k rows.",
            discussion: """
                Resamples the MNIST extract's training split with replacement to each n, adding Gaussian input noise \
                (sd --input-noise in standardised units) to every copy so no two rows are equal, and groups the rows \
                into synthetic subjects of --subject-rows rows. At each n it trains logistic regression (L-BFGS to \
                |grad F| < 1e-9), builds newton's Nyström preconditioner (timed, with its memory), then forgets \
                --subjects subjects one at a time from the same base with newton on plain CG and with the \
                preconditioner (noise off), and retrains warm from the base on the residual rows (L-BFGS, same \
                tolerance) as the reference for time and distance; from-scratch retraining is timed once per n.
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

        @Option(help: "Rank of newton's Nyström preconditioner (UnlearningOptions.newtonPreconditionerRank).")
        var preconditionerRank: Int = UnlearningOptions().newtonPreconditionerRank

        @Option(help: "Residual rows the preconditioner's products run over (UnlearningOptions.newtonPreconditionerRows).")
        var preconditionerRows: Int = UnlearningOptions().newtonPreconditionerRows

        @Option(help: "Where to write the JSON result.")
        var json: String = "/tmp/unlearnd-bench-scale.json"

        struct Row: Codable {
            var n: Int
            var method: String
            var secondsPerRequest: [Double]
            var distanceRatio: [Double]
            var cgIterations: [Int]
            var newtonIterations: [Int]
            var gradientResidual: [Double]
            var warmRetrainSeconds: [Double]
            var scratchRetrainSeconds: Double
            var preconditionerSeconds: Double?
            var preconditionerBytes: Int?
            var preconditionerRank: Int?
            /// The update's phases (`UpdateReport.seconds`) per request.
            var phaseSeconds: [[String: Double]]
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
                let architecture = Architecture(inputs: d, hidden: [], classes: 10)
                var model = try Network(architecture: architecture, lambda: 0.01, seed: 1)
                var lbfgs = Trainer.LBFGSOptions()
                lbfgs.gradientTolerance = 1e-9
                let trained = Trainer.lbfgs(&model, x: x, labels: labels, options: lbfgs)
                print("n = \(n): trained in \(BenchTools.fmt(trained.seconds, 1)) s (\(trained.steps) iterations)")
                var base = UnlearningState(
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
                // From scratch (the seed initialisation) without the first subject: once per n, it is the slowest.
                let scratchSeconds: Double = {
                    let drop = Set(chosen[0])
                    let keep = (0..<n).filter { !drop.contains($0) }
                    guard var scratch = try? Network(architecture: architecture, lambda: 0.01, seed: 1) else { return .nan }
                    return Trainer.lbfgs(&scratch, x: x.selectingRows(keep), labels: keep.map { labels[$0] }, options: lbfgs).seconds
                }()
                let warm = BenchTools.median(warmSeconds)
                table.append(["\(n)", "warm retrain (L-BFGS)", BenchTools.fmt(warm), "1", "", "0", ""])
                table.append(["\(n)", "scratch retrain (L-BFGS)", BenchTools.fmt(scratchSeconds), BenchTools.fmt(scratchSeconds / warm), "", "0", ""])
                var pcOptions = UnlearningOptions()
                pcOptions.newtonPreconditionerRank = preconditionerRank
                pcOptions.newtonPreconditionerRows = preconditionerRows
                let plain = base
                let build = base.prepareNewtonPreconditioner(options: pcOptions)
                print(
                    "n = \(n): preconditioner \(build.outcome.rawValue), rank \(build.preconditioner?.rank ?? 0) over \(build.rows) rows in "
                        + "\(BenchTools.fmt(build.seconds, 2)) s, \(BenchTools.bytes(Double(build.bytes)))"
                        + (build.reason.map { " (\($0))" } ?? ""))
                for (label, start) in [("newton (plain CG)", plain), ("newton (Nyström PCG)", base)] {
                    var seconds: [Double] = []
                    var ratios: [Double] = []
                    var cg: [Int] = []
                    var steps: [Int] = []
                    var gradients: [Double] = []
                    var phases: [[String: Double]] = []
                    for (k, rows) in chosen.enumerated() {
                        var state = start
                        var options = UnlearningOptions()
                        options.method = .newton
                        options.noise = false
                        let (report, s) = try BenchTools.timed {
                            try Unlearner.forget(rows: rows, in: &state, options: options, policy: BenchTools.unguardedPolicy)
                        }
                        seconds.append(s)
                        cg.append(report.cgIterations)
                        steps.append(report.newtonIterations)
                        gradients.append(report.gradientResidual)
                        phases.append(report.seconds)
                        let reference = Vector.distance(model.theta, retrained[k].theta)
                        ratios.append(Vector.distance(state.model.theta, retrained[k].theta) / reference)
                    }
                    let median = BenchTools.median(seconds)
                    let preconditioned = start.newtonPreconditioning != nil
                    table.append([
                        "\(n)", label, BenchTools.fmt(median), BenchTools.fmt(median / warm, 4),
                        cg.map(String.init).joined(separator: ","),
                        String(format: "%.2e", BenchTools.median(ratios)),
                        preconditioned
                            ? "\(BenchTools.fmt(build.seconds, 2)) s, \(BenchTools.bytes(Double(build.bytes)))" : "",
                    ])
                    results.append(
                        Row(
                            n: n, method: label, secondsPerRequest: seconds, distanceRatio: ratios, cgIterations: cg, newtonIterations: steps,
                            gradientResidual: gradients, warmRetrainSeconds: warmSeconds, scratchRetrainSeconds: scratchSeconds,
                            preconditionerSeconds: preconditioned ? build.seconds : nil, preconditionerBytes: preconditioned ? build.bytes : nil,
                            preconditionerRank: preconditioned ? build.preconditioner?.rank : nil, phaseSeconds: phases))
                    let names = Set(phases.flatMap(\.keys)).sorted()
                    print(
                        "n = \(n), \(label): phases (median s) "
                            + names.map { name in "\(name) \(BenchTools.fmt(BenchTools.median(phases.map { $0[name] ?? 0 }), 4))" }
                            .joined(separator: ", "))
                }
            }
            print("")
            BenchTools.printTable(
                [
                    "n", "method", "s/request (median)", "time / warm retrain", "CG iterations", "distance ratio (median)",
                    "preconditioner build, memory",
                ], table)
            try BenchTools.writeJSON(results, to: json)
            print("\nJSON: \(json)")
        }
    }
}
