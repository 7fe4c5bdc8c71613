// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "unlearnd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "unlearnd", targets: ["unlearnd"]),
        .executable(name: "unlearnctl", targets: ["unlearnctl"]),
        .library(name: "UnlearningCore", targets: ["UnlearningCore"]),
        .library(name: "Checkpoints", targets: ["Checkpoints"]),
        .library(name: "KafkaLog", targets: ["KafkaLog"]),
        .library(name: "UnlearnDaemon", targets: ["UnlearnDaemon"]),
        .library(name: "UnlearnSupport", targets: ["UnlearnSupport"]),
        .library(name: "ProcessHarness", targets: ["ProcessHarness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // System libraries: a module map and a shim header each, nothing else.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // getrandom(2) / getentropy(2): <sys/random.h>, which Swift's Glibc module does not export.
        .systemLibrary(name: "CSysRandom"),
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),

        // Libraries.
        // The lock box and the console helpers every other target may use; depends on nothing.
        .target(name: "UnlearnSupport"),
        .target(
            name: "UnlearningCore",
            dependencies: ["COpenBLAS", "CSysRandom"]
        ),
        .target(
            name: "Checkpoints",
            dependencies: ["CZstd", "UnlearningCore"]
        ),
        .target(
            name: "KafkaLog",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "UnlearnDaemon",
            dependencies: [
                "UnlearningCore", "Checkpoints", "KafkaLog", "UnlearnSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Runs the built binaries as child processes (dev broker, daemon, clients): the demo, the benchmarks
        // (Benchmarks/) and the end-to-end tests share it.
        .target(name: "ProcessHarness", dependencies: ["UnlearnSupport"]),

        // Executables: thin mains over the libraries.
        .executableTarget(
            name: "unlearnd",
            dependencies: [
                "UnlearnDaemon", "UnlearningCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "unlearnctl",
            dependencies: [
                "UnlearningCore", "Checkpoints", "KafkaLog", "UnlearnDaemon", "UnlearnSupport", "ProcessHarness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Tests mirror the library targets; EndToEndTests run the built binaries. TestSupport holds what every test
        // target shares (test traits), and is linked only into tests.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "UnlearningCoreTests",
            dependencies: ["UnlearningCore", "Checkpoints", "ProcessHarness", "TestSupport"]
        ),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "UnlearningCore", "ProcessHarness", "TestSupport"]),
        .testTarget(name: "KafkaLogTests", dependencies: ["KafkaLog", "ProcessHarness", "UnlearnSupport"]),
        .testTarget(
            name: "UnlearnDaemonTests",
            dependencies: ["UnlearnDaemon", "UnlearningCore", "Checkpoints", "KafkaLog", "ProcessHarness", "TestSupport"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "UnlearningCore", "Checkpoints", "UnlearnDaemon", "KafkaLog", "ProcessHarness", "UnlearnSupport",
                "TestSupport",
            ]
        ),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    // https://github.com/apple/swift-evolution/blob/main/proposals/0335-existential-any.md
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0444-member-import-visibility.md
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    // The numerical and codec targets are optimised even in debug builds: their inner loops (nearest-neighbour
    // search, checksums) are 10-100x slower at -Onone, which would make the test suite crawl.
    if ["UnlearningCore", "Checkpoints"].contains(target.name) {
        settings.append(.unsafeFlags(["-O"]))
    }
    #if arch(x86_64)
        // SHA-NI instructions for snapshot hashing (6x the software SHA-256); used only when the CPU reports sha_ni.
        if target.name == "Checkpoints" {
            settings += [.unsafeFlags(["-Xcc", "-msha"]), .define("CHECKPOINTS_SHA_NI")]
        }
    #endif
    target.swiftSettings = settings
}
