import ArgumentParser
import Checkpoints
import Foundation
import UnlearningCore

extension Bench {
    /// `unlearn-bench roofline`: achieved GFLOP/s of the update's two dense kernels, the Hessian-block build and
    /// the Cholesky solve, against plain DGEMM of the same order measured in the same run.
    struct RooflineBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "roofline",
            abstract: "GFLOP/s of MLP.hessianBlock and Cholesky.solve versus DGEMM of the same order, block sizes ~250..~4000.",
            discussion: """
                Blocks: output-layer slices of logistic regression (784-10) and hidden- and output-layer slices of a \
                784-H-10 ReLU Network (seeded initial weights: the flop count does not depend on the weights), built over \
                --rows standardised MNIST-extract rows. Flops counted: hessianBlock = dsyrk N p (p + 1) + fill N p, \
                N = rows x rows per sample in G (the classes K, or the k selected units of a reduced output-layer \
                block); the forward pass and backpropagation run inside the timing but are not counted. \
                Cholesky.solve = p^3/3 (dpotrf) + 2 p^2 (dpotrs, one right-hand side), on the built block + lambda I. \
                DGEMM = Matrix.gemm of order p (2 p^3). dsyrk = Matrix.gram of one N' x p panel (N' = min(N, \
                2^23 / p) rows) as the build's own ceiling. The kernels are measured in interleaved rounds so that \
                load from other processes hits them alike; each sample repeats a kernel until it takes >= \
                --min-sample-seconds; the table gives the median over --rounds.
                """
        )

        @Option(help: "MNIST-extract rows the Hessian blocks are built over.")
        var rows: Int = 2000

        @Option(help: "Hidden width H of the 784-H-10 MLP.")
        var hidden: Int = 256

        @Option(help: "Measurement rounds (the median is reported).")
        var rounds: Int = 5

        @Option(help: "Shortest timed sample: a kernel is repeated within a sample until it takes this long.")
        var minSampleSeconds: Double = 0.2

        @Option(help: "Training-set CSV (784 features).")
        var data: String = "data/mnist5k.csv.zst"

        @Option(help: "Where to write the JSON result.")
        var json: String = "/tmp/unlearnd-bench-roofline.json"

        struct Scenario {
            var name: String
            var model: Network
            var slices: [Slice]
        }

        struct Row: Codable {
            var scenario: String
            var parameters: Int
            var gRows: Int
            var buildFlops: Double
            var buildSeconds: [Double]
            var buildGFlops: Double
            /// Median time of the forward pass over the rows, as a fraction of the build's median time (not counted in its flops).
            var forwardShare: Double
            var dsyrkGFlops: Double
            var choleskyGFlops: Double
            var dgemmGFlops: Double
            var buildOverDGEMM: Double
            /// The same ratio from each kernel's fastest sample (less sensitive to load from other processes).
            var buildOverDGEMMBest: Double
            var choleskyOverDGEMM: Double
            var loadAverage: String
        }

        struct Result: Codable {
            var command: String
            var cores: Int
            var openBLAS: String
            var openBLASThreads: Int
            var rows: Int
            var results: [Row]
            var targetMet: Bool
            var loadAverageStart: String
            var loadAverageEnd: String
        }

        func validate() throws {
            guard rows >= 1 else { throw ValidationError("--rows must be at least 1") }
            guard hidden >= 1 else { throw ValidationError("--hidden must be at least 1") }
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        }

        func run() throws {
            let command = CommandLine.arguments.joined(separator: " ")
            let loadStart = BenchTools.loadAverage()
            #if DEBUG
                print("warning: debug build; build with -c release for meaningful timings")
            #endif
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let config = BLASLibrary.configuration
            let threads = BLASLibrary.threads
            print("unlearn-bench roofline  (\(cores) cores, load average \(loadStart) at start)")
            print("OpenBLAS: \(config), \(threads) threads")

            let dataset = try TrainingSetFile.read(data, classes: 10)
            guard dataset.features.cols == 784 else {
                throw ValidationError("\(data) has \(dataset.features.cols) features; the roofline models need 784 (the MNIST extract)")
            }
            let x = Standardization(fitting: dataset.features).apply(dataset.features).selectingRows(0..<min(rows, dataset.count))
            print("rows: \(x.rows) standardised rows of \(data); models: logreg 784-10 and MLP 784-\(hidden)-10 (ReLU), seeded initial weights")

            let logreg = try Network(architecture: Architecture(inputs: 784, hidden: [], classes: 10), lambda: 0.01, seed: 1)
            let mlp = try Network(architecture: Architecture(inputs: 784, hidden: [hidden], classes: 10), lambda: 1e-3, seed: 1)
            let outputSlices = { (count: Int) in (0..<count).map { Slice(layer: 1, unit: $0) } }
            let logregSlices = { (count: Int) in (0..<count).map { Slice(layer: 0, unit: $0) } }
            let hiddenSlices = { (count: Int) in (0..<count).map { Slice(layer: 0, unit: $0 * max(1, hidden / count)) } }
            var scenarios: [Scenario] = [
                Scenario(name: "mlp\(hidden) output x1", model: mlp, slices: outputSlices(1)),
                Scenario(name: "logreg output x1", model: logreg, slices: logregSlices(1)),
                Scenario(name: "mlp\(hidden) hidden x1", model: mlp, slices: hiddenSlices(1)),
                Scenario(name: "logreg output x2", model: logreg, slices: logregSlices(2)),
                Scenario(name: "mlp\(hidden) hidden x2", model: mlp, slices: hiddenSlices(2)),
                Scenario(name: "logreg output x3", model: logreg, slices: logregSlices(3)),
                Scenario(name: "mlp\(hidden) hidden x3", model: mlp, slices: hiddenSlices(3)),
                Scenario(name: "mlp\(hidden) output x10", model: mlp, slices: outputSlices(10)),
                Scenario(name: "logreg output x5", model: logreg, slices: logregSlices(5)),
                Scenario(name: "mlp\(hidden) hidden x5", model: mlp, slices: hiddenSlices(5)),
            ]
            if hidden < 5 { scenarios.removeAll { $0.slices.first?.layer == 0 && $0.model.architecture.parametricLayers.count > 1 } }

            var results: [Row] = []
            for scenario in scenarios {
                results.append(measure(scenario, x: x))
                let r = results.last!
                print(
                    "  \(r.scenario): p = \(r.parameters), build \(BenchTools.fmt(r.buildGFlops, 1)) GFLOP/s, "
                        + "DGEMM \(BenchTools.fmt(r.dgemmGFlops, 1)) GFLOP/s (load \(r.loadAverage))")
            }

            print("")
            BenchTools.printTable(
                [
                    "block", "p", "G rows N", "build s", "forward share", "build GFLOP/s", "dsyrk GFLOP/s", "Cholesky GFLOP/s", "DGEMM GFLOP/s",
                    "build/DGEMM", "best/best", "Cholesky/DGEMM", "load",
                ],
                results.map { r in
                    [
                        r.scenario, "\(r.parameters)", "\(r.gRows)", BenchTools.fmt(BenchTools.median(r.buildSeconds), 3),
                        BenchTools.fmt(100 * r.forwardShare, 0) + "%",
                        BenchTools.fmt(r.buildGFlops, 1), BenchTools.fmt(r.dsyrkGFlops, 1), BenchTools.fmt(r.choleskyGFlops, 1),
                        BenchTools.fmt(r.dgemmGFlops, 1), BenchTools.fmt(100 * r.buildOverDGEMM, 0) + "%",
                        BenchTools.fmt(100 * r.buildOverDGEMMBest, 0) + "%",
                        BenchTools.fmt(100 * r.choleskyOverDGEMM, 0) + "%", r.loadAverage,
                    ]
                }
            )
            let large = results.filter { $0.parameters >= 1000 }
            let met = large.allSatisfy { $0.buildOverDGEMM >= 0.5 }
            let worst = large.min { $0.buildOverDGEMM < $1.buildOverDGEMM }
            print("\nflops: build = N p (p + 1) [dsyrk] + N p [fill]; Cholesky = p^3/3 + 2 p^2; DGEMM = 2 p^3 (medians of \(rounds) rounds)")
            print("build/DGEMM compares the medians; best/best the fastest sample of each (load from other processes only slows a sample down)")
            print("forward share: time of the forward pass over the rows (inside the build, not counted in its flops) / build time")
            print(
                "target: Hessian-block build >= 50% of DGEMM at p >= 1000: "
                    + (met ? "met" : "NOT met")
                    + (worst.map { " (lowest \(BenchTools.fmt(100 * $0.buildOverDGEMM, 0))% at \($0.scenario), p = \($0.parameters))" } ?? ""))
            let loadEnd = BenchTools.loadAverage()
            print("load average \(loadEnd) at end")
            try BenchTools.writeJSON(
                Result(
                    command: command, cores: cores, openBLAS: config, openBLASThreads: threads, rows: x.rows,
                    results: results, targetMet: met, loadAverageStart: loadStart, loadAverageEnd: loadEnd
                ), to: json)
        }

        /// Rows of G per training row: K, or the k units of an output-layer-only block with k < K (as hessianBlock).
        static func rowsPerSample(_ model: Network, _ slices: [Slice]) -> Int {
            let arch = model.architecture
            let outputLayer = arch.parametricLayers.count - 1
            guard slices.allSatisfy({ $0.layer == outputLayer }) else { return arch.classes }
            return min(Set(slices.map(\.unit)).count, arch.classes)
        }

        func measure(_ scenario: Scenario, x: Matrix) -> Row {
            let model = scenario.model
            let p = model.blockSize(scenario.slices)
            let n = Double(x.rows * Self.rowsPerSample(model, scenario.slices))
            let pd = Double(p)
            let buildFlops = n * pd * (pd + 1) + n * pd
            let choleskyFlops = pd * pd * pd / 3 + 2 * pd * pd
            let dgemmFlops = 2 * pd * pd * pd

            var rng = SeededGenerator(seed: 7)
            func random(_ r: Int, _ c: Int) -> Matrix {
                Matrix(rows: r, cols: c, storage: (0..<(r * c)).map { _ in 2 * rng.nextUniform() - 1 })
            }
            let a = random(p, p)
            let b = random(p, p)
            var c = Matrix(rows: p, cols: p)
            let panelRows = max(1, min(Int(n), (1 << 23) / max(p, 1)))
            let panel = random(panelRows, p)
            var gram = Matrix(rows: p, cols: p)
            let dsyrkFlops = Double(panelRows) * pd * (pd + 1)
            var h = model.hessianBlock(x, slices: scenario.slices)
            for i in 0..<p { h[i, i] += model.lambda }
            let rhs = (0..<p).map { _ in rng.nextUniform() }

            var build: [Double] = []
            var dsyrk: [Double] = []
            var cholesky: [Double] = []
            var forward: [Double] = []
            var dgemm: [Double] = []
            for _ in 0..<rounds {
                dgemm.append(perRun { Matrix.gemm(a, b, into: &c) })
                build.append(perRun { _ = model.hessianBlock(x, slices: scenario.slices) })
                forward.append(perRun { _ = model.forward(x) })
                dsyrk.append(perRun { Matrix.gram(panel, into: &gram, mirror: false) })
                cholesky.append(perRun { _ = try? Cholesky.solve(h, rhs) })
            }
            let buildRate = buildFlops / BenchTools.median(build) / 1e9
            let choleskyRate = choleskyFlops / BenchTools.median(cholesky) / 1e9
            let dgemmRate = dgemmFlops / BenchTools.median(dgemm) / 1e9
            return Row(
                scenario: scenario.name, parameters: p, gRows: Int(n), buildFlops: buildFlops, buildSeconds: build,
                buildGFlops: buildRate, forwardShare: BenchTools.median(forward) / BenchTools.median(build),
                dsyrkGFlops: dsyrkFlops / BenchTools.median(dsyrk) / 1e9,
                choleskyGFlops: choleskyRate, dgemmGFlops: dgemmRate, buildOverDGEMM: buildRate / dgemmRate,
                buildOverDGEMMBest: (buildFlops / build.min()!) / (dgemmFlops / dgemm.min()!),
                choleskyOverDGEMM: choleskyRate / dgemmRate, loadAverage: BenchTools.loadAverage()
            )
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
    }
}
