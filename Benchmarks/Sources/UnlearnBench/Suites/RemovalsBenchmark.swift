import ArgumentParser
import Checkpoints
import Foundation
import UnlearnSupport
import UnlearningCore

extension Bench {
    /// `unlearn-bench removals`: the paper's Figure 5/6 experiment: many sequential
    /// subject deletions and how far the unlearned model drifts from the model retrained without those rows.
    struct RemovalsBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "removals",
            abstract: "Sequential subject removals: newton, and lfoci vs random at equal block size, against retraining at every checkpoint.",
            discussion: """
                Logistic regression (L2 lambda, L-BFGS to |grad F| < --tolerance) on the training split of --data. \
                Subjects are removed one at a time in a seeded random order until --fraction of the training rows \
                are gone; each removal is one Unlearner.forget call with noise OFF (no privacy claimed here: this \
                measures the approximation), applied to three independent trajectories: newton (Newton-CG to the \
                residual optimum), lfoci, and random with as many slices as lfoci chose on the same request \
                (UnlearningOptions.randomSlices). Every --every \
                removals (and after the last) the model is retrained without all removed rows (L-BFGS, warm-started \
                from the previous checkpoint's retrained model, or from scratch with --retrain scratch; the \
                objective is strongly convex so both reach the same optimum within --tolerance / lambda) and every \
                model is measured: accuracy on the forgotten rows so far, on the residual training rows and on \
                validation, ||grad F_residual||, and the distance to the retrained model with its ratio to the \
                original model's distance.
                """
        )

        @Option(help: "Training-set CSV (data/mnist5k.csv.zst, or data/digits.csv.zst for a faster run).")
        var data: String = "data/mnist5k.csv.zst"

        @Option(help: "Fraction of the training rows to remove (whole subjects, so slightly more).")
        var fraction: Double = 0.10

        @Option(help: "Checkpoint every this many removals (subject deletions); the last removal is always one.")
        var every: Int = 10

        @Option(help: "L2 coefficient lambda.")
        var lambda: Double = 0.01

        @Option(help: "L-BFGS stopping tolerance on ||grad F|| for the original and the retrained models.")
        var tolerance: Double = 1e-8

        @Option(help: "Retraining at checkpoints: warm (from the previous retrained model) or scratch (from the seeded initialisation).")
        var retrain: RetrainStart = .warm

        @Option(help: "Residual rows used for the Hessian block (0: all, the engine's default).")
        var hessianRows: Int = 0

        @Option(help: "Cap on the block size in parameters (UnlearningOptions.maxBlockParameters).")
        var maxBlock: Int = UnlearningOptions().maxBlockParameters

        @Option(help: "Seed of the subject order (the update seeds are the removal's index).")
        var seed: UInt64 = 1

        @Option(help: "Where to write the JSON result.")
        var json: String = "/tmp/unlearnd-bench-removals.json"

        enum RetrainStart: String, ExpressibleByArgument, Codable {
            case warm, scratch
        }

        /// One model measured at one checkpoint.
        struct Measurement: Codable {
            var model: String
            var forgottenAccuracy: Double
            var residualAccuracy: Double
            var validationAccuracy: Double
            var gradientResidual: Double
            var distanceToRetrained: Double
            var ratioToOriginal: Double
        }

        struct Checkpoint: Codable {
            var removals: Int
            var rowsRemoved: Int
            var retrainSeconds: Double
            var retrainIterations: Int
            var retrainGradientNorm: Double
            var originalDistance: Double
            var models: [Measurement]
            var loadAverage: String
        }

        struct Removal: Codable {
            var index: Int
            var rows: Int
            var mode: String
            var slices: [String]
            var blockSize: Int
            var seconds: Double
            var gradientResidual: Double
            var damping: Double
            /// lfoci only: the noise gate stopped step 1, so the largest-gradient slice stood in.
            var fallback: Bool
            var newtonIterations: Int
            var cgIterations: Int
        }

        struct Result: Codable {
            var command: String
            var cores: Int
            var data: String
            var trainRows: Int
            var validationRows: Int
            var parameters: Int
            var lambda: Double
            var tolerance: Double
            var retrain: RetrainStart
            var noise: Bool
            var subjectsRemoved: Int
            var rowsRemoved: Int
            var trainSeconds: Double
            var checkpoints: [Checkpoint]
            var removals: [Removal]
            var lfociBelowOriginalThroughout: Bool
            var checkpointsWhereRandomAtLeastAsClose: [Int]
            var totalSeconds: Double
            var loadAverageStart: String
            var loadAverageEnd: String
        }

        /// One trajectory: the lfoci method with L-FOCI's or random slices, or the newton method.
        enum Mode: String, Codable {
            case lfoci, random, newton
        }

        static let modes: [Mode] = [.lfoci, .random, .newton]

        func validate() throws {
            guard fraction > 0 && fraction < 1 else { throw ValidationError("--fraction must lie in (0, 1), got \(fraction)") }
            guard every >= 1 else { throw ValidationError("--every must be at least 1, got \(every)") }
            guard lambda > 0 else { throw ValidationError("--lambda must be > 0 (strong convexity makes the retrained model unique), got \(lambda)") }
        }

        func run() throws {
            let started = DispatchTime.now().uptimeNanoseconds
            let command = CommandLine.arguments.joined(separator: " ")
            let loadStart = BenchTools.loadAverage()
            #if DEBUG
                print("warning: debug build; build with -c release for meaningful timings")
            #endif
            let cores = ProcessInfo.processInfo.activeProcessorCount
            print("unlearn-bench removals  (\(cores) cores, load average \(loadStart) at start)")

            let dataset = try TrainingSetFile.read(data, classes: 10)
            let (train, validation, _) = dataset.standardizedSplit(validationFraction: 0.2, seed: 1)

            // Subjects in a seeded random order, taken until `fraction` of the training rows are covered.
            let subjectRows = train.rowsBySubject
            var order = subjectRows.keys.sorted()
            var rng = SeededGenerator(seed: seed)
            order.shuffle(using: &rng)
            let target = Int((fraction * Double(train.count)).rounded(.up))
            var requests: [[Int]] = []
            var covered = 0
            for s in order where covered < target {
                requests.append(subjectRows[s]!)
                covered += subjectRows[s]!.count
            }
            guard covered >= target else {
                throw ValidationError("the training rows with a subject (\(covered)) are fewer than --fraction of the training set (\(target))")
            }

            let arch = Architecture(inputs: train.features.cols, hidden: [], classes: 10)
            print("data: \(data), \(train.count) training rows, \(validation.count) validation rows (split by subject, seed 1)")
            print(
                "model: logistic regression, \(arch.parameterCount) parameters (\(arch.sliceCount) slices of \(arch.fanIn(0) + 1)), lambda \(lambda)")
            print(
                "removing \(requests.count) subjects (\(covered) rows, \(BenchTools.fmt(100 * Double(covered) / Double(train.count), 1))% of training) "
                    + "one at a time in seeded order (seed \(seed)); checkpoint every \(every) removals")
            print(
                "noise: OFF (no privacy claimed; this measures the approximation); Hessian on "
                    + (hessianRows > 0 ? "\(hessianRows) sampled residual rows" : "all residual rows") + "; block cap \(maxBlock) parameters")
            print(
                "retraining reference: L-BFGS to ||grad F|| < \(tolerance), "
                    + (retrain == .warm ? "warm-started from the previous checkpoint's retrained model" : "from scratch (seeded initialisation)")
                    + " (unique optimum: the reference is within \(tolerance)/lambda = \(BenchTools.fmt(tolerance / lambda, 9)) of it)")

            var lbfgs = Trainer.LBFGSOptions()
            lbfgs.gradientTolerance = tolerance
            let initial = try Network(architecture: arch, lambda: lambda, seed: 1)
            var original = initial
            let trainReport = Trainer.lbfgs(&original, x: train.features, labels: train.labels, options: lbfgs)
            guard trainReport.converged else {
                throw ValidationError(
                    "the original model did not reach ||grad F|| < \(tolerance) (stopped at \(trainReport.gradientNorm)); raise --tolerance")
            }
            print(
                "original model: \(trainReport.steps) L-BFGS iterations, \(BenchTools.fmt(trainReport.seconds, 2)) s, "
                    + "||grad F|| \(String(format: "%.2e", trainReport.gradientNorm)), validation accuracy "
                    + "\(BenchTools.fmt(100 * original.accuracy(validation.features, labels: validation.labels), 2))%")

            let base = UnlearningState(
                model: original, trainFeatures: train.features, trainLabels: train.labels,
                validationFeatures: validation.features, validationLabels: validation.labels
            )
            // No budget limits in this experiment: the accuracy guards and removal caps are switched off so that
            // every step is applied and measured.
            var policy = BenchTools.unguardedPolicy
            policy.maxAccuracyDrop = 1
            policy.sigmaMax = .infinity
            policy.epsilonBudget = .infinity
            var states = Self.modes.map { _ in base }
            var retrained = original
            var removedRows: [Int] = []
            var removalRecords: [Removal] = []
            var checkpoints: [Checkpoint] = []

            func checkpoint(_ removals: Int) {
                let removedSet = Set(removedRows)
                let residual = (0..<train.count).filter { !removedSet.contains($0) }
                let residualX = train.features.selectingRows(residual)
                let residualY = residual.map { train.labels[$0] }
                var retrainSeconds = 0.0
                var iterations = 0
                var gradientNorm = Vector.norm(retrained.objectiveGradient(residualX, labels: residualY))
                if removals > 0 {
                    if retrain == .scratch { retrained = initial }
                    let report = Trainer.lbfgs(&retrained, x: residualX, labels: residualY, options: lbfgs)
                    retrainSeconds = report.seconds
                    iterations = report.steps
                    gradientNorm = report.gradientNorm
                    if !report.converged {
                        print("    warning: retraining stopped at ||grad F|| \(report.gradientNorm) > \(tolerance)")
                    }
                }
                let forgottenX = train.features.selectingRows(removedRows)
                let forgottenY = removedRows.map { train.labels[$0] }
                let originalDistance = Vector.distance(original.theta, retrained.theta)
                func measure(_ name: String, _ model: Network) -> Measurement {
                    let distance = Vector.distance(model.theta, retrained.theta)
                    return Measurement(
                        model: name,
                        forgottenAccuracy: removedRows.isEmpty ? .nan : model.accuracy(forgottenX, labels: forgottenY),
                        residualAccuracy: model.accuracy(residualX, labels: residualY),
                        validationAccuracy: model.accuracy(validation.features, labels: validation.labels),
                        gradientResidual: Vector.norm(model.objectiveGradient(residualX, labels: residualY)),
                        distanceToRetrained: distance,
                        ratioToOriginal: originalDistance > 0 ? distance / originalDistance : .nan
                    )
                }
                var models = [measure("original", original), measure("retrained", retrained)]
                for (mode, state) in zip(Self.modes, states) { models.append(measure(mode.rawValue, state.model)) }
                let point = Checkpoint(
                    removals: removals, rowsRemoved: removedRows.count, retrainSeconds: retrainSeconds,
                    retrainIterations: iterations, retrainGradientNorm: gradientNorm, originalDistance: originalDistance,
                    models: models, loadAverage: BenchTools.loadAverage()
                )
                checkpoints.append(point)
                printCheckpoint(point)
            }

            checkpoint(0)
            let progress = ProgressLine(enabled: Terminal.standardErrorIsTTY)
            for (k, rows) in requests.enumerated() {
                var lfociSlices = 0
                for (j, mode) in Self.modes.enumerated() {
                    var options = UnlearningOptions()
                    switch mode {
                    case .newton:
                        options.method = .newton
                    case .lfoci, .random:
                        options.method = .lfoci
                        options.selection = mode == .lfoci ? .lfoci : .random
                    }
                    options.noise = false
                    options.seed = UInt64(k + 1)
                    options.maxBlockParameters = maxBlock
                    if hessianRows > 0 { options.hessianRows = hessianRows }
                    if mode == .random { options.randomSlices = lfociSlices }
                    let (report, seconds) = try BenchTools.timed {
                        try Unlearner.forget(rows: rows, in: &states[j], options: options, policy: policy)
                    }
                    guard report.outcome == .applied else {
                        throw ValidationError(
                            "removal \(k + 1) (\(mode.rawValue)) was not applied: \(report.outcome.rawValue) \(report.reasonsRaised)")
                    }
                    if mode == .lfoci { lfociSlices = report.slices.count }
                    removalRecords.append(
                        Removal(
                            index: k + 1, rows: rows.count, mode: mode.rawValue, slices: report.slices.map(\.description),
                            blockSize: report.blockSize, seconds: seconds, gradientResidual: report.gradientResidual, damping: report.damping,
                            fallback: mode == .lfoci && report.selectionScores.isEmpty,
                            newtonIterations: report.newtonIterations, cgIterations: report.cgIterations
                        ))
                }
                removedRows += rows
                progress.update("removal \(k + 1)/\(requests.count): \(removedRows.count) rows removed")
                let removals = k + 1
                if removals % every == 0 || removals == requests.count {
                    progress.finish()
                    checkpoint(removals)
                }
            }
            progress.finish()

            // Target: lfoci below the original model's distance at every checkpoint after the first removal;
            // and, honestly, where random is at least as close.
            let later = checkpoints.filter { $0.removals > 0 }
            func distance(_ c: Checkpoint, _ name: String) -> Double { c.models.first { $0.model == name }!.distanceToRetrained }
            let lfociBelow = later.allSatisfy { distance($0, "lfoci") < $0.originalDistance }
            let randomAsClose = later.filter { distance($0, "random") <= distance($0, "lfoci") }.map(\.removals)
            let newtonRatios = later.map { distance($0, "newton") / $0.originalDistance }
            let newtonBounds = removalRecords.filter { $0.mode == Mode.newton.rawValue }.map { $0.gradientResidual / lambda }

            print("\nsummary: distance to the retrained model / original model's distance")
            BenchTools.printTable(
                ["removals", "rows removed", "original dist", "newton ratio", "lfoci ratio", "random ratio", "closer (lfoci/random)"],
                later.map { c in
                    let l = distance(c, "lfoci")
                    let r = distance(c, "random")
                    return [
                        "\(c.removals)", "\(c.rowsRemoved)", String(format: "%.4e", c.originalDistance),
                        String(format: "%.2e", distance(c, "newton") / c.originalDistance),
                        BenchTools.fmt(l / c.originalDistance, 4), BenchTools.fmt(r / c.originalDistance, 4),
                        l < r ? "lfoci" : (r < l ? "random" : "tie"),
                    ]
                }
            )
            for mode in Self.modes {
                let records = removalRecords.filter { $0.mode == mode.rawValue }
                print(
                    "    \(mode.rawValue): block size median \(Int(BenchTools.median(records.map { Double($0.blockSize) }))) "
                        + "(min \(records.map(\.blockSize).min() ?? 0), max \(records.map(\.blockSize).max() ?? 0)), "
                        + "\(BenchTools.fmt(BenchTools.median(records.map(\.seconds)), 3)) s per removal (median), "
                        + "damping needed in \(records.filter { $0.damping > 0 }.count) of \(records.count)"
                        + (mode == .lfoci ? "; the noise gate left nothing (largest-gradient slice used) in \(records.filter(\.fallback).count)" : "")
                        + (mode == .newton
                            ? "; Newton steps per removal median \(Int(BenchTools.median(records.map { Double($0.newtonIterations) }))) "
                                + "(max \(records.map(\.newtonIterations).max() ?? 0)), CG iterations median "
                                + "\(Int(BenchTools.median(records.map { Double($0.cgIterations) }))) (max \(records.map(\.cgIterations).max() ?? 0))"
                            : ""))
            }
            if let first = newtonBounds.first {
                let worstRatio = newtonRatios.max() ?? .nan
                let worstBound = newtonBounds.max() ?? .nan
                print(
                    "target: newton ratio <= 1e-3 at every checkpoint: "
                        + (worstRatio <= 1e-3 ? "met" : "NOT met") + " (max \(String(format: "%.2e", worstRatio))); "
                        + "residual bound after every removal <= 2x the first's: " + (worstBound <= 2 * first ? "met" : "NOT met")
                        + " (first \(String(format: "%.2e", first)), max \(String(format: "%.2e", worstBound)), "
                        + "min \(String(format: "%.2e", newtonBounds.min() ?? .nan)))")
            }
            print(
                "target: lfoci below the original model's distance at every checkpoint: "
                    + (lfociBelow ? "met" : "NOT met"))
            print(
                "random at least as close as lfoci at checkpoints (removals): "
                    + (randomAsClose.isEmpty ? "none" : randomAsClose.map(String.init).joined(separator: ", "))
                    + " of \(later.count)")

            let total = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let loadEnd = BenchTools.loadAverage()
            print("total \(BenchTools.fmt(total, 1)) s; load average \(loadEnd) at end")
            try BenchTools.writeJSON(
                Result(
                    command: command, cores: cores, data: data, trainRows: train.count, validationRows: validation.count,
                    parameters: arch.parameterCount, lambda: lambda, tolerance: tolerance, retrain: retrain, noise: false,
                    subjectsRemoved: requests.count, rowsRemoved: covered, trainSeconds: trainReport.seconds,
                    checkpoints: checkpoints, removals: removalRecords, lfociBelowOriginalThroughout: lfociBelow,
                    checkpointsWhereRandomAtLeastAsClose: randomAsClose, totalSeconds: total,
                    loadAverageStart: loadStart, loadAverageEnd: loadEnd
                ), to: json)
        }

        func printCheckpoint(_ c: Checkpoint) {
            print(
                "\n== after \(c.removals) removals (\(c.rowsRemoved) rows)"
                    + (c.removals > 0
                        ? "; retrained in \(c.retrainIterations) L-BFGS iterations, \(BenchTools.fmt(c.retrainSeconds, 2)) s, ||grad F|| \(String(format: "%.1e", c.retrainGradientNorm))"
                        : "")
                    + "; load \(c.loadAverage)")
            BenchTools.printTable(
                ["model", "forgotten acc %", "residual acc %", "validation acc %", "||grad F_res||", "dist to retrained", "ratio to original"],
                c.models.map { m in
                    [
                        m.model, BenchTools.fmt(100 * m.forgottenAccuracy, 2), BenchTools.fmt(100 * m.residualAccuracy, 2),
                        BenchTools.fmt(100 * m.validationAccuracy, 2), String(format: "%.3e", m.gradientResidual),
                        String(format: "%.4e", m.distanceToRetrained), BenchTools.fmt(m.ratioToOriginal, 4),
                    ]
                }
            )
        }
    }
}
