import ArgumentParser

/// `unlearn-bench <suite>`: performance benchmarks, a package of their own so that the operator's `unlearnctl`
/// carries none of them. Each suite measures its method and its baseline in the same process on the same data,
/// prints a table and writes the numbers as JSON (docs/ARCHITECTURE.md, section 6: benchmarks are separate from
/// tests and print ratios measured in one run). Run them from a release build.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlearn-bench",
        abstract: "Run a benchmark suite; print its measured numbers and write them as JSON.",
        subcommands: [
            SelectionBenchmark.self,
            UpdateBenchmark.self,
            RemovalsBenchmark.self,
            ScaleBenchmark.self,
            RooflineBenchmark.self,
            SnapshotBenchmark.self,
            KafkaBenchmark.self,
            NetworkBenchmark.self,
            ForgettingBenchmark.self,
            AllBenchmarks.self,
        ]
    )
}
