import ArgumentParser
import Foundation
import UnlearningCore

extension Bench {
    /// `unlearn-bench selection`: L-FOCI speed against brute-force neighbours and exact tie handling.
    struct SelectionBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "selection",
            abstract: "L-FOCI / L-CODEC: pruned search vs brute force, and L-CODEC noise vs exact tie handling.",
            discussion: """
                (a) Realistic candidates: m perturbations of a batch through a random ReLU Network; Y is the batch's \
                mean loss, the candidates are the mean pre-activations of every hidden and output unit. L-FOCI \
                (pruned search, both cores) selects up to 10 and is timed against the brute-force O(m^2) \
                neighbour search on the same matrix. (b) Heavy ties: binary features, Y a Boolean function of 3; \
                L-CODEC against exact tie-aware selection (uniform choice among all tied nearest neighbours).
                """
        )

        @Option(help: "Samples (perturbations) m.")
        var samples: Int = 1000

        @Option(help: "Input features of the MLP (a).")
        var inputs: Int = 64

        @Option(help: "Hidden units of the MLP (a); candidates are hidden + output units.")
        var hidden: Int = 1024

        @Option(help: "Output classes of the MLP (a).")
        var classes: Int = 10

        @Option(help: "Batch sizes of (a), comma-separated: one scenario each (1 = forgetting a single sample; empty: skip).")
        var batches: String = "1,16"

        @Option(help: "Variables to select at most.")
        var maxSelected: Int = 10

        @Option(help: "Timed repetitions of the fast method (the minimum and median are reported).")
        var repeats: Int = 3

        @Option(help: "Seeds (data sets) of the heavy-ties benchmark (b).")
        var tieSeeds: Int = 10

        @Flag(help: "Skip the brute-force baseline of (a) (it takes tens of seconds).")
        var skipBruteForce = false

        @Option(help: "X-neighbours precomputed per sample by the pruned search (LFOCI.Configuration.pruningListLength).")
        var listLength: Int = LFOCI.Configuration().pruningListLength

        @Option(help: "Seed of the data and the selection.")
        var seed: UInt64 = 1

        @Option(help: "Where to write the JSON result.")
        var json: String = "/tmp/unlearnd-bench-selection.json"

        func run() throws {
            let cores = ProcessInfo.processInfo.activeProcessorCount
            print("unlearn-bench selection  (\(cores) cores, release build expected)")
            let batchSizes = batches.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard batchSizes.allSatisfy({ $0 >= 1 }) else {
                throw ValidationError("--batches must list positive batch sizes, e.g. 1,16 (empty skips part (a))")
            }
            let realistic = try batchSizes.map { try runRealistic(batch: $0) }
            let ties = try runTies()
            let result = SelectionBenchmarkResult(
                cores: cores, samples: samples, maxSelected: maxSelected, realistic: realistic, ties: ties
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let url = URL(fileURLWithPath: json)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try encoder.encode(result).write(to: url, options: .atomic)
            print("\nJSON written to \(json)")
        }

        // MARK: (a) realistic candidates

        private func runRealistic(batch: Int) throws -> SelectionBenchmarkResult.Realistic {
            let data = PerturbedMLP(
                samples: samples, inputs: inputs, hidden: hidden, classes: classes, batch: batch, noise: 0.1, seed: seed
            )
            let candidates = data.candidates
            print(
                """

                (a) batch \(batch): m = \(samples) perturbations (N(0, 0.1^2) on each input) of a batch of \(batch) \
                through a random ReLU Network \(inputs)-\(hidden)-\(classes); Y = mean cross-entropy of the batch; \
                candidates = mean pre-activation of each hidden and output unit: p = \(candidates.variableCount) \
                (hidden units are linear in the \(inputs)-dim mean noise, so candidates are strongly collinear).
                """)
            // The natural selection stops when no candidate adds information; the forced one always makes
            // maxSelected steps (FOCI's `stop = FALSE`), the worst case for the time target.
            let natural = LFOCI.Configuration(maxSelected: maxSelected, seed: seed, pruningListLength: listLength)
            var forced = natural
            forced.stopAtNonPositiveScore = false
            let (naturalSelection, naturalTime) = try timed {
                try LFOCI.select(response: data.y, candidates: candidates, configuration: natural)
            }
            var times: [Double] = []
            var selection: LFOCI.Selection?
            for _ in 0..<max(repeats, 1) {
                let (s, t) = try timed { try LFOCI.select(response: data.y, candidates: candidates, configuration: forced) }
                selection = s
                times.append(t)
            }
            var serial = forced
            serial.parallel = false
            let (serialSelection, serialTime) = try timed {
                try LFOCI.select(response: data.y, candidates: candidates, configuration: serial)
            }
            var brute: (LFOCI.Selection, Double)?
            if !skipBruteForce {
                print("    running the brute-force baseline (every pair of samples, both cores, forced steps) ...")
                var configuration = forced
                configuration.search = .bruteForce
                brute = try timed { try LFOCI.select(response: data.y, candidates: candidates, configuration: configuration) }
            }
            let selected = selection!
            let best = times.min()!
            let median = times.sorted()[times.count / 2]
            let steps = "\(selected.steps.count)"
            printTable(
                ["method", "time (s)", "steps", "vs L-FOCI"],
                [
                    ["L-FOCI pruned, 2 cores, natural stop", fmt(naturalTime), "\(naturalSelection.steps.count)", ""],
                    ["L-FOCI pruned, 2 cores, forced (min of \(times.count))", fmt(best), steps, "1.0x"],
                    ["L-FOCI pruned, 2 cores, forced (median)", fmt(median), steps, ""],
                    ["L-FOCI pruned, 1 core, forced", fmt(serialTime), "\(serialSelection.steps.count)", ratio(serialTime, best)],
                ] + (brute.map { [["brute force O(m^2), 2 cores, forced", fmt($0.1), "\($0.0.steps.count)", ratio($0.1, best)]] } ?? [])
            )
            print(
                "    natural selection (unit: score): "
                    + naturalSelection.steps.map { "\(data.unitName($0.candidate)): \(fmt($0.score, 3))" }.joined(separator: ", ")
                    + "; stop: \(naturalSelection.stopReason)")
            print("    forced selection: " + selected.steps.map { "\(data.unitName($0.candidate))" }.joined(separator: ", "))
            let identical = brute.map { $0.0 == selected }
            if let identical {
                print("    brute force selected the same units with the same scores: \(identical ? "yes" : "NO")")
            }
            print(
                "    target: \(maxSelected) steps < 3 s and >= 10x brute force: "
                    + (best < 3 ? "time met" : "time NOT met")
                    + (brute.map { $0.1 / best >= 10 ? ", ratio met" : ", ratio NOT met" } ?? ", ratio not measured"))
            return .init(
                description: "random ReLU MLP \(inputs)-\(hidden)-\(classes), batch \(batch), input noise sd 0.1",
                candidates: candidates.variableCount,
                naturalSelected: naturalSelection.candidates, naturalScores: naturalSelection.scores,
                naturalStopReason: "\(naturalSelection.stopReason)", naturalSeconds: naturalTime,
                forcedSelected: selected.candidates, forcedSeconds: times, forcedSerialSeconds: serialTime,
                bruteForceSeconds: brute?.1, bruteForceRatio: brute.map { $0.1 / best },
                bruteForceIdentical: identical
            )
        }

        // MARK: (b) heavy ties

        private func runTies() throws -> SelectionBenchmarkResult.Ties {
            let features = 30
            print(
                """

                (b) heavy ties: \(tieSeeds) data sets of m = \(samples) rows, \(features) binary features, \
                Y = (X_a AND X_b) OR X_c; up to \(maxSelected) selected, times summed over the data sets.
                """)
            struct Method {
                let name: String
                let configuration: (UInt64) -> LFOCI.Configuration
            }
            let methods = [
                Method(name: "L-CODEC noise, pruned") {
                    LFOCI.Configuration(maxSelected: maxSelected, seed: $0, pruningListLength: listLength)
                },
                Method(name: "exact ties, pruned") {
                    LFOCI.Configuration(
                        maxSelected: maxSelected, tieBreaking: .exact, seed: $0, pruningListLength: listLength
                    )
                },
                Method(name: "exact ties, brute force") {
                    LFOCI.Configuration(maxSelected: maxSelected, tieBreaking: .exact, search: .bruteForce, seed: $0)
                },
                Method(name: "L-CODEC noise, brute force") {
                    LFOCI.Configuration(maxSelected: maxSelected, search: .bruteForce, seed: $0)
                },
            ]
            var seconds = [Double](repeating: 0, count: methods.count)
            var correct = [Int](repeating: 0, count: methods.count)
            for s in 0..<UInt64(tieSeeds) {
                let data = BooleanFeatures(samples: samples, features: features, seed: seed &+ s)
                for (k, method) in methods.enumerated() {
                    let (selection, t) = try timed {
                        try LFOCI.select(response: data.y, candidates: data.candidates, configuration: method.configuration(s))
                    }
                    seconds[k] += t
                    if Set(selection.candidates) == data.truth && selection.steps.count == 3 { correct[k] += 1 }
                }
            }
            printTable(
                ["method", "time (s)", "exactly right", "time / L-CODEC"],
                methods.indices.map { k in
                    [methods[k].name, fmt(seconds[k]), "\(correct[k])/\(tieSeeds)", ratio(seconds[k], seconds[0])]
                }
            )
            print(
                "    target: exact tie-aware >= 10x slower than L-CODEC: "
                    + "same search \(fmt(seconds[1] / seconds[0], 1))x, brute-force exact \(fmt(seconds[2] / seconds[0], 1))x")
            return .init(
                description: "\(features) binary features, Y = (X_a AND X_b) OR X_c, \(tieSeeds) data sets",
                methods: methods.indices.map {
                    .init(name: methods[$0].name, seconds: seconds[$0], exactlyRight: correct[$0])
                },
                exactPrunedRatio: seconds[1] / seconds[0], exactBruteForceRatio: seconds[2] / seconds[0]
            )
        }

        // MARK: helpers

        private func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
            let clock = ContinuousClock()
            let start = clock.now
            let value = try body()
            let elapsed = start.duration(to: clock.now)
            return (value, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }

        private func fmt(_ x: Double, _ digits: Int = 3) -> String {
            String(format: "%.\(digits)f", x)
        }

        private func ratio(_ slow: Double, _ fast: Double) -> String {
            String(format: "%.1fx", slow / fast)
        }

        private func printTable(_ header: [String], _ rows: [[String]]) {
            let widths = header.indices.map { c in ([header] + rows).map { $0.count > c ? $0[c].count : 0 }.max()! }
            func line(_ cells: [String]) -> String {
                "    "
                    + cells.enumerated().map { c, cell in
                        c == 0
                            ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                            : String(repeating: " ", count: widths[c] - cell.count) + cell
                    }.joined(separator: "  ")
            }
            print(line(header))
            print("    " + String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)))
            for row in rows { print(line(row)) }
        }
    }
}
