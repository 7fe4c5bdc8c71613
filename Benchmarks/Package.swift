// swift-tools-version:6.2
import PackageDescription

// The benchmarks: a package of their own over the main package's libraries (as swift-nio keeps its benchmarks),
// so that the operator's binaries carry no benchmark code and benchmark-only dependencies stay out of the main
// build. Run from the repository root: `swift run -c release --package-path Benchmarks unlearn-bench <suite>`.
let package = Package(
    name: "unlearnd-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "unlearnd", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        .executableTarget(
            name: "unlearn-bench",
            dependencies: [
                .product(name: "UnlearningCore", package: "unlearnd"),
                .product(name: "Checkpoints", package: "unlearnd"),
                .product(name: "KafkaLog", package: "unlearnd"),
                .product(name: "UnlearnDaemon", package: "unlearnd"),
                .product(name: "UnlearnSupport", package: "unlearnd"),
                .product(name: "ProcessHarness", package: "unlearnd"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/UnlearnBench"
        )
    ]
)

for target in package.targets {
    var settings = target.swiftSettings ?? []
    // https://github.com/apple/swift-evolution/blob/main/proposals/0335-existential-any.md
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0444-member-import-visibility.md
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}
