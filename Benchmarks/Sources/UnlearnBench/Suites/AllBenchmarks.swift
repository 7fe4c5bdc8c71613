import ArgumentParser
import Foundation
import ProcessHarness

extension Bench {
    /// `unlearn-bench all`: every suite in one command, small by default, so that a change can be checked to
    /// leave each suite running and printing its table before anyone spends hours on the full sizes.
    struct AllBenchmarks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "all",
            abstract: "Run every suite in turn (small sizes unless --full) and list which passed.",
            discussion: """
                The small sizes take a few minutes on 2 cores and exercise every code path of each suite; their \
                numbers are not the ones BENCHMARKS.md reports (those come from the suites' own defaults, --full). \
                Each suite's JSON goes to --out/<suite>.json. Each suite runs as a child process, so one that fails \
                or crashes does not stop the others; the command exits 1 if any failed.
                """
        )

        @Flag(help: "Run each suite with its own default sizes instead of the small ones (hours on 2 cores).")
        var full = false

        @Option(help: "Suites to skip, comma-separated (e.g. kafka, which needs the built unlearnd and unlearnctl).")
        var skip: String = ""

        @Option(help: "Directory for the suites' JSON results.")
        var out: String = "/tmp/unlearn-bench-all"

        @Option(help: "Directory holding the built unlearnd and unlearnctl, passed to the kafka suite.")
        var binDir: String?

        /// Each suite with the arguments of its small run.
        static let suites: [(name: String, small: [String])] = [
            ("selection", ["--samples", "300", "--hidden", "64", "--batches", "1", "--repeats", "1", "--tie-seeds", "2"]),
            ("update", ["--data", "data/digits.csv.zst", "--models", "logreg,mlp32", "--subjects", "2", "--full-subjects", "1", "--epochs", "3"]),
            ("removals", ["--data", "data/digits.csv.zst", "--fraction", "0.03", "--every", "5"]),
            ("scale", ["--data", "data/digits.csv.zst", "--sizes", "1000,2000", "--subjects", "1"]),
            ("roofline", ["--rows", "200", "--hidden", "32", "--rounds", "1", "--min-sample-seconds", "0.01"]),
            ("snapshot", ["--repeats", "3", "--levels", "3", "--levels", "1"]),
            (
                "networks",
                [
                    "--train-rows", "600", "--speed-epochs", "1", "--epochs", "2", "--subjects", "1", "--rounds", "1", "--gemm-order", "512",
                    "--min-sample-seconds", "0.01",
                ]
            ),
            (
                "forgetting",
                [
                    "--data", "data/digits.csv.zst", "--model", "mlp32", "--models", "4", "--epochs", "3", "--singles", "1", "--batch", "3",
                    "--methods", "dampening;lfoci:maxSlices=4", "--cache", "/tmp/unlearn-bench-all-forgetting",
                ]
            ),
            (
                "kafka",
                [
                    "--data", "data/digits.csv.zst", "--scenarios", "class,subject", "--seconds", "2", "--rate", "20",
                    "--classes", "1", "--subjects", "4", "--warmup", "1", "--timeout", "60", "--work", "/tmp/unlearn-bench-all-kafka",
                ]
            ),
        ]

        func validate() throws {
            let names = Set(Self.suites.map(\.name))
            for name in skipped where !names.contains(name) {
                throw ValidationError("--skip: unknown suite \"\(name)\"; the suites are \(Self.suites.map(\.name).joined(separator: ", "))")
            }
        }

        var skipped: Set<String> {
            Set(skip.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }

        func run() async throws {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            var outcomes: [[String]] = []
            for suite in Self.suites where !skipped.contains(suite.name) {
                var arguments = [suite.name] + (full ? [] : suite.small) + ["--json", "\(out)/\(suite.name).json"]
                if suite.name == "kafka", let binDir { arguments += ["--bin-dir", binDir] }
                print("\n######## unlearn-bench \(arguments.joined(separator: " "))")
                fflush(nil)  // all C streams: ours reaches a redirected stdout before the suite's own output
                let (outcome, seconds) = try await BenchTools.timedAsync { try await Self.run(arguments) }
                outcomes.append([suite.name, outcome, BenchTools.fmt(seconds, 0)])
            }
            print("\n######## summary")
            BenchTools.printTable(["suite", "outcome", "seconds"], outcomes)
            if outcomes.contains(where: { $0[1] != "ok" }) { throw ExitCode(1) }
        }

        /// Runs one suite as a child process of this same binary (its output goes straight to ours), so that a
        /// suite that crashes on a precondition ends only itself; "ok" or how it ended.
        static func run(_ arguments: [String]) async throws -> String {
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            let suite = try ChildProcess(
                executable: executable, arguments: arguments, name: arguments[0], stdout: .inherit, stderr: .inherit
            )
            let status = await suite.waitForExit(timeout: .seconds(24 * 3600))
            switch status {
            case 0?: return "ok"
            case let status?: return "failed (status \(status))"
            case nil: return "still running after 24 h"
            }
        }
    }
}
