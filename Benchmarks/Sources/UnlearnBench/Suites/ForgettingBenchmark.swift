import ArgumentParser
import Checkpoints
import Dispatch
import Foundation
import UnlearningCore

extension Bench {
    /// `unlearn-bench forgetting`: deep forgetting judged as the NeurIPS 2023 Machine Unlearning Challenge judged it
    /// (`ForgettingScore`; docs/FORGETTING.md), against retraining across seeds rather than one same-seed retrain.
    struct ForgettingBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "forgetting",
            abstract: "Score unlearning methods against K retrained models (the NeurIPS 2023 challenge's forgetting score).",
            discussion: """
                Trains K originals (seeds 1..K) and, for every forget set, K models retrained from scratch without it \
                (seeds 1..K) and K more with seeds K+1..2K. Each method unlearns the forget set from every original \
                (Unlearner.update, noise off, seed k). For every forgotten row the logit-scaled confidences under the \
                K unlearned and the K retrained models give the row's epsilon and points; F is their mean. Printed per \
                forget set: F of each method, of the second retrained set (the reference: what retraining itself \
                scores) and of the originals (doing nothing), the gap closed (F - F_nothing) / (F_reference - \
                F_nothing), each with a 95% bootstrap interval over the forgotten rows; validation accuracy against \
                the retrained models' mean; membership AUC; and the method's time as a fraction of retraining's (its \
                step, and the whole update with its audit), both measured in this run with the same number of \
                concurrent jobs, retraining just before each forget set's methods.

                Forget sets are fixed in advance by --set: the training subjects (sorted by name) are shuffled with \
                seed 2023; the tuning set takes, from the first 20 of them, --singles subjects one at a time and the \
                next --batch subjects as one batch, and the first class of a seeded class order; the evaluation set \
                does the same from the 21st subject on (disjoint from the tuning set) with the second class. Trained models are cached in \
                --cache (keyed by everything that determines them), so runs that add methods reuse them.
                """
        )

        @Option(help: "Training-set CSV (.csv or .csv.zst).")
        var data: String = "data/mnist5k.csv.zst"

        @Option(help: "Model: mlp<width> (one hidden ReLU layer) or a preset (cnn, resnet8, small-cnn).")
        var model: String = "mlp128"

        @Option(name: .customLong("models"), help: "K: models per group (originals, retrained, second retrained).")
        var k: Int = 32

        @Option(help: "Adam epochs of every trained model.")
        var epochs: Int = 20

        @Option(help: "L2 coefficient (default 1e-3 for MLPs, 1e-4 for presets).")
        var lambda: Double?

        @Option(help: "Forget sets: tuning or evaluation (disjoint subjects and classes).")
        var set: String = "tuning"

        @Option(help: "Single-subject forget sets.")
        var singles: Int = 5

        @Option(help: "Subjects in the batch forget set (0: none).")
        var batch: Int = 10

        @Flag(inversion: .prefixedNo, help: "Include the one-class forget set.")
        var classSet = true

        @Option(
            help: """
                Methods, separated by ';'. Each is a method name with optional UnlearningOptions overrides by property \
                name, e.g. "dampening;lfoci:lfociSteps=5;finetune:finetuneSteps=60,finetuneLearningRate=0.001".
                """)
        var methods: String = "dampening;lfoci"

        @Option(help: "Concurrent jobs for training and unlearning (OpenBLAS runs 1 thread per job).")
        var jobs: Int = 2

        @Option(help: "Directory caching trained models.")
        var cache: String = ".build/forgetting-cache"

        @Option(help: "Write the results as JSON here.")
        var json: String = "/tmp/unlearn-bench-forgetting.json"

        struct ForgetSet: Codable {
            var name: String
            var kind: String
            var subjects: [String]
            var rows: [Int]
        }

        struct Interval: Codable {
            var value: Double
            var lower: Double
            var upper: Double
            var text: String { "\(BenchTools.fmt(value, 3)) [\(BenchTools.fmt(lower, 3)), \(BenchTools.fmt(upper, 3))]" }
        }

        struct MethodScore: Codable {
            var method: String
            var score: Interval
            var gapClosed: Interval?
            /// Mean validation accuracy of the group's models minus the first retrained group's mean, in points.
            var validationChangePoints: Double
            /// The worst paired change: unlearned model k against retrained model k, in points.
            var worstValidationChangePoints: Double
            var membershipAUC: Double
            /// Median seconds of the method's step per unlearning (the update's phases but the residual gradient, the
            /// guard and the audit), and that over the median retraining seconds measured just before.
            var seconds: Double?
            var timeFraction: Double?
            /// The whole `Unlearner.update` call (with its audit) over retraining's time.
            var updateTimeFraction: Double?
            var retrainSeconds: Double?
            /// Updates the method refused (the model then stays the original), with the first error.
            var refused: Int
            var refusal: String?
        }

        struct SetResult: Codable {
            var forgetSet: ForgetSet
            var reference: MethodScore
            var nothing: MethodScore
            var methods: [MethodScore]
        }

        struct Result: Codable {
            var command: String
            var model: String
            var parameters: Int
            var models: Int
            var epochs: Int
            var lambda: Double
            var set: String
            var originalValidationAccuracy: Double
            var sets: [SetResult]
        }

        /// FNV-1a of the forget set's rows, in hex: part of the cache key of the models retrained without them (names
        /// alone repeat across --set and --singles).
        static func fingerprint(_ rows: [Int]) -> String {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for row in rows.sorted() {
                for byte in withUnsafeBytes(of: UInt64(row).littleEndian, Array.init) {
                    hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
                }
            }
            return String(hash, radix: 16)
        }

        /// Phases of `UpdateReport.seconds` that are the update's bookkeeping, not the method's step.
        static let auditPhases: Set<String> = ["residual", "guard", "audit"]

        /// Shuffled subjects reserved for tuning forget sets; evaluation sets start after them.
        static let tuningSubjects = 20

        func validate() throws {
            guard set == "evaluation" || singles + batch <= Self.tuningSubjects else {
                throw ValidationError("the tuning set has \(Self.tuningSubjects) subjects; --singles + --batch must not exceed it")
            }
            guard k >= 4 else { throw ValidationError("--models must be at least 4 (the score needs samples of K models)") }
            guard ["tuning", "evaluation"].contains(set) else { throw ValidationError("--set must be tuning or evaluation, got \(set)") }
            guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
            _ = try parsedMethods()
        }

        /// (label, options) of each --methods entry.
        func parsedMethods() throws -> [(label: String, options: UnlearningOptions)] {
            try methods.split(separator: ";").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { spec in
                let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
                guard let method = UnlearningOptions.Method(rawValue: parts[0]) else {
                    throw ValidationError(
                        "unknown method \"\(parts[0])\" in --methods; the methods are "
                            + UnlearningOptions.Method.allCases.map(\.rawValue).joined(separator: ", "))
                }
                var defaults = UnlearningOptions()
                defaults.method = method
                defaults.noise = false
                guard parts.count == 2 else { return (spec, defaults) }
                // Overrides by property name through UnlearningOptions' own Codable form.
                var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(defaults)) as! [String: Any]
                let properties = Set(Mirror(reflecting: defaults).children.compactMap(\.label))
                for assignment in parts[1].split(separator: ",") {
                    let pair = assignment.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
                    guard pair.count == 2, properties.contains(pair[0]) else {
                        throw ValidationError(
                            "\"\(assignment)\" in \(spec): expected property=value with an UnlearningOptions property, e.g. dampeningAlpha=5")
                    }
                    // A number or boolean as JSON; anything else is a string (an enum's raw value, e.g. finetuneScope=lfoci).
                    object[pair[0]] = (try? JSONSerialization.jsonObject(with: Data(pair[1].utf8), options: .fragmentsAllowed)) ?? pair[1]
                }
                do {
                    return (spec, try JSONDecoder().decode(UnlearningOptions.self, from: JSONSerialization.data(withJSONObject: object)))
                } catch {
                    throw ValidationError("\(spec): \(error)")
                }
            }
        }

        func run() throws {
            let command = CommandLine.arguments.joined(separator: " ")
            #if DEBUG
                print("warning: debug build; build with -c release for meaningful timings")
            #endif
            _ = BLASPeak.setThreads(1)
            let methodList = try parsedMethods()
            let dataset = try TrainingSetFile.read(data, classes: 10)
            let (trainRaw, validationRaw) = dataset.splitBySubject(validationFraction: 0.2, seed: 1)
            let standardization = Standardization(fitting: trainRaw.features)
            let train = (x: standardization.apply(trainRaw.features), labels: trainRaw.labels)
            let validation = (x: standardization.apply(validationRaw.features), labels: validationRaw.labels)
            let (arch, presetLambda) = try BenchModels.architecture(model, inputs: train.x.cols)
            let lambda = self.lambda ?? presetLambda
            let sets = forgetSets(trainRaw)
            print(
                "unlearn-bench forgetting  (\(ProcessInfo.processInfo.activeProcessorCount) cores, load \(BenchTools.loadAverage()), "
                    + "\(jobs) jobs x 1 OpenBLAS thread)")
            print(
                "model \(model) (\(arch.parameterCount) parameters), lambda \(lambda), Adam \(epochs) epochs; K = \(k); data \(data): "
                    + "\(train.x.rows) training rows, \(validation.x.rows) validation rows (split by subject, seed 1)")
            print("\(set) forget sets:")
            for s in sets { print("  \(s.name): \(s.rows.count) rows\(s.kind == "class" ? "" : " (\(s.subjects.joined(separator: ", ")))")") }
            fflush(nil)

            let cacheKey = "\(URL(fileURLWithPath: data).lastPathComponent)-\(model)-e\(epochs)-l\(lambda)"
            func fit(rowsRemoved: [Int], seed: Int, tag: String, useCache: Bool = true) throws -> (Network, Double?) {
                let path = "\(cache)/\(cacheKey)-\(tag)-s\(seed).theta"
                var network = try Network(architecture: arch, lambda: lambda, seed: UInt64(seed))
                if useCache, let data = FileManager.default.contents(atPath: path), data.count == 8 * network.parameterCount {
                    network.theta = data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
                    return (network, nil)
                }
                let drop = Set(rowsRemoved)
                let keep = (0..<train.x.rows).filter { !drop.contains($0) }
                var options = Trainer.AdamOptions()
                options.epochs = epochs
                options.seed = UInt64(seed)
                options.evaluateEveryEpoch = false
                let x = drop.isEmpty ? train.x : train.x.selectingRows(keep)
                let labels = drop.isEmpty ? train.labels : keep.map { train.labels[$0] }
                let (_, seconds) = BenchTools.timed { Trainer.adam(&network, x: x, labels: labels, options: options) }
                try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
                try network.theta.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path), options: .atomic)
                return (network, seconds)
            }
            func fitAll(_ label: String, rowsRemoved: [Int], seeds: [Int], tag: String) throws -> [Network] {
                let (models, seconds) = try BenchTools.timed {
                    try parallel(seeds.count) { try fit(rowsRemoved: rowsRemoved, seed: seeds[$0], tag: tag).0 }
                }
                print("  \(label): \(seeds.count) models ready in \(BenchTools.fmt(seconds, 1)) s (load \(BenchTools.loadAverage()))")
                fflush(nil)
                return models
            }

            let originals = try fitAll("originals", rowsRemoved: [], seeds: Array(1...k), tag: "original")
            let originalAccuracy = BenchTools.mean(originals.map { $0.accuracy(validation.x, labels: validation.labels) })
            print("  originals: mean validation accuracy \(BenchTools.fmt(100 * originalAccuracy, 2))%")

            var results: [SetResult] = []
            for forgetSet in sets {
                print("\n== \(forgetSet.name) (\(forgetSet.rows.count) rows)")
                let tag = "without-\(forgetSet.name)-\(Self.fingerprint(forgetSet.rows))"
                let retrained = try fitAll("retrained, seeds 1..\(k)", rowsRemoved: forgetSet.rows, seeds: Array(1...k), tag: tag)
                let second = try fitAll("retrained, seeds \(k + 1)..\(2 * k)", rowsRemoved: forgetSet.rows, seeds: Array((k + 1)...(2 * k)), tag: tag)
                let x = train.x.selectingRows(forgetSet.rows)
                let labels = forgetSet.rows.map { train.labels[$0] }
                let validationLosses = { (m: Network) in m.perRowLoss(validation.x, labels: validation.labels) }
                func confidences(_ models: [Network]) -> [[Double]] {
                    models.map { ForgettingScore.confidences(of: $0, x: x, labels: labels) }
                }
                // Retraining's time, measured just before the methods run: `jobs` fresh retrains without the forget set,
                // run concurrently as the methods are (the cores are shared, so only times close together compare).
                let retrainSeconds = BenchTools.median(
                    try parallel(jobs) { try fit(rowsRemoved: forgetSet.rows, seed: $0 + 1, tag: "timing", useCache: false).1! })
                print("  retraining from scratch: \(BenchTools.fmt(retrainSeconds, 2)) s per model (median of \(jobs) run concurrently)")
                let retrainedConfidences = confidences(retrained)
                let retrainedAccuracy = retrained.map { $0.accuracy(validation.x, labels: validation.labels) }
                let reference = ForgettingScore.score(unlearned: confidences(second), retrained: retrainedConfidences)
                let nothing = ForgettingScore.score(unlearned: confidences(originals), retrained: retrainedConfidences)

                func summary(
                    _ label: String, _ models: [Network], _ result: ForgettingScore.Result, gap: Bool,
                    seconds: [(step: Double, update: Double)]? = nil, refused: Int = 0, refusal: String? = nil
                ) -> MethodScore {
                    let interval = ForgettingScore.bootstrapInterval([result.points])
                    var gapClosed: Interval?
                    if gap {
                        let closed = { (m: [Double]) in (m[0] - m[2]) / (m[1] - m[2]) }
                        let bounds = ForgettingScore.bootstrapInterval([result.points, reference.points, nothing.points], statistic: closed)
                        gapClosed = Interval(
                            value: closed([result.score, reference.score, nothing.score]), lower: bounds.lower, upper: bounds.upper)
                    }
                    let accuracy = models.map { $0.accuracy(validation.x, labels: validation.labels) }
                    let auc = models.map { m in
                        MembershipInference.lossAUC(members: m.perRowLoss(x, labels: labels), nonMembers: validationLosses(m)) ?? .nan
                    }
                    let step = seconds.map { BenchTools.median($0.map(\.step)) }
                    let update = seconds.map { BenchTools.median($0.map(\.update)) }
                    return MethodScore(
                        method: label, score: Interval(value: result.score, lower: interval.lower, upper: interval.upper), gapClosed: gapClosed,
                        validationChangePoints: 100 * (BenchTools.mean(accuracy) - BenchTools.mean(retrainedAccuracy)),
                        worstValidationChangePoints: 100 * zip(accuracy, retrainedAccuracy).map { $0 - $1 }.min()!,
                        membershipAUC: BenchTools.mean(auc), seconds: step, timeFraction: step.map { $0 / retrainSeconds },
                        updateTimeFraction: update.map { $0 / retrainSeconds }, retrainSeconds: retrainSeconds, refused: refused,
                        refusal: refusal)
                }
                var setResult = SetResult(
                    forgetSet: forgetSet, reference: summary("retrained (seeds \(k + 1)..\(2 * k))", second, reference, gap: false),
                    nothing: summary("nothing (originals)", originals, nothing, gap: false), methods: [])
                for (label, options) in methodList {
                    let outcomes = try parallel(k) { index -> (Network, (step: Double, update: Double), String?) in
                        var state = UnlearningState(
                            model: originals[index], trainFeatures: train.x, trainLabels: train.labels, validationFeatures: validation.x,
                            validationLabels: validation.labels)
                        var seeded = options
                        seeded.seed = UInt64(index + 1)
                        let start = DispatchTime.now().uptimeNanoseconds
                        let elapsed = { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
                        do {
                            let report = try Unlearner.update(rows: forgetSet.rows, in: &state, options: seeded)
                            // The step: the update's phases but the residual gradient, the guard and the audit.
                            let step = report.seconds.filter { !Self.auditPhases.contains($0.key) }.values.reduce(0, +)
                            return (state.model, (step, elapsed()), nil)
                        } catch {
                            // A refused update costs what it took to be refused; the model stays the original.
                            return (originals[index], (elapsed(), elapsed()), "\(error)")
                        }
                    }
                    let models = outcomes.map(\.0)
                    let failures = outcomes.compactMap(\.2)
                    let score = ForgettingScore.score(unlearned: confidences(models), retrained: retrainedConfidences)
                    setResult.methods.append(
                        summary(label, models, score, gap: true, seconds: outcomes.map(\.1), refused: failures.count, refusal: failures.first))
                }
                printTable(setResult)
                results.append(setResult)
            }
            try BenchTools.writeJSON(
                Result(
                    command: command, model: model, parameters: arch.parameterCount, models: k, epochs: epochs, lambda: lambda, set: set,
                    originalValidationAccuracy: originalAccuracy, sets: results),
                to: json)
        }

        func printTable(_ result: SetResult) {
            let rows = ([result.reference, result.nothing] + result.methods).map { m in
                [
                    m.method, m.score.text, m.gapClosed?.text ?? "", BenchTools.fmt(m.validationChangePoints, 2),
                    BenchTools.fmt(m.worstValidationChangePoints, 2), BenchTools.fmt(m.membershipAUC, 3),
                    m.timeFraction.map { BenchTools.fmt($0, 4) } ?? "", m.updateTimeFraction.map { BenchTools.fmt($0, 4) } ?? "",
                    m.refused > 0 ? "\(m.refused) refused" : "",
                ]
            }
            BenchTools.printTable(
                [
                    "method", "F [95%]", "gap closed [95%]", "val. vs retrain (pts)", "worst pair (pts)", "MIA AUC", "step / retrain",
                    "update / retrain", "",
                ], rows)
            if let failure = result.methods.compactMap(\.refusal).first { print("    first refusal: \(failure)") }
            fflush(nil)
        }

        /// The forget sets of --set, fixed in advance from seeded draws over the sorted training subjects and classes.
        func forgetSets(_ train: Dataset) -> [ForgetSet] {
            let bySubject = train.rowsBySubject
            var subjects = bySubject.keys.sorted()
            var generator = SeededGenerator(seed: 2023)
            subjects.shuffle(using: &generator)
            var classes = Array(0..<10)
            classes.shuffle(using: &generator)
            // The tuning set draws from the first `tuningSubjects` shuffled subjects, the evaluation set from the rest.
            let chosen = Array(subjects.dropFirst(set == "tuning" ? 0 : Self.tuningSubjects).prefix(singles + batch))
            var sets = chosen.prefix(singles).map { ForgetSet(name: "subject \($0)", kind: "subject", subjects: [$0], rows: bySubject[$0]!) }
            if batch > 0 {
                let members = Array(chosen.dropFirst(singles))
                sets.append(
                    ForgetSet(
                        name: "\(members.count) subjects", kind: "batch", subjects: members, rows: members.flatMap { bySubject[$0]! }.sorted()))
            }
            if classSet {
                let label = classes[set == "tuning" ? 0 : 1]
                sets.append(
                    ForgetSet(name: "class \(label)", kind: "class", subjects: [], rows: train.labels.indices.filter { train.labels[$0] == label }))
            }
            return sets
        }

        /// `body(0..<count)` on `jobs` threads (each takes the next index until none is left), results in index
        /// order; the first error is rethrown.
        func parallel<T>(_ count: Int, _ body: (Int) throws -> T) throws -> [T] {
            let results = ResultBox<T>(count: count)
            // Each index is claimed by one thread and writes only its own slot; `body` reads shared state only.
            return try withoutActuallyEscaping(body) { body in
                let shared = UncheckedSendable(body)
                DispatchQueue.concurrentPerform(iterations: min(jobs, count)) { _ in
                    while let index = results.claim() { results.set(index, Swift.Result { try shared.value(index) }) }
                }
                return try results.values()
            }
        }
    }
}

/// Slots for results computed on several threads.
private final class ResultBox<T>: @unchecked Sendable {
    private var slots: [Result<T, any Error>?]
    private let lock = NSLock()

    private var next = 0

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    /// The next unclaimed index, or nil when every index is taken.
    func claim() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard next < slots.count else { return nil }
        next += 1
        return next - 1
    }

    func set(_ index: Int, _ value: Result<T, any Error>) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    func values() throws -> [T] { try slots.map { try $0!.get() } }
}

private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
