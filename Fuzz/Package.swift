// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets for the parsers of outside bytes (README, "Development"). A package of its own so that the
// daemon's build is unchanged; build it with `../dev fuzz`, which passes `-sanitize=fuzzer,address` to every module
// (the parsers must be instrumented, not only this executable).
let package = Package(
    name: "unlearnd-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "unlearnd", path: "..")
    ],
    targets: [
        // libFuzzer's driver entry point: a header only (the library comes with -sanitize=fuzzer).
        .systemLibrary(name: "CLibFuzzer"),
        .executableTarget(
            name: "unlearnd-fuzz",
            dependencies: [
                "CLibFuzzer",
                .product(name: "UnlearnDaemon", package: "unlearnd"),
                .product(name: "Checkpoints", package: "unlearnd"),
                .product(name: "UnlearningCore", package: "unlearnd"),
            ]
        ),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}
