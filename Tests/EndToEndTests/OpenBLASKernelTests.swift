import TestSupport
import Testing
import UnlearningCore

/// `unlearnd` restarts itself once with `OPENBLAS_CORETYPE` when OpenBLAS fell back to kernels older than the CPU
/// (`BLASLibrary.restartWithBetterKernels`); an operator's own setting is kept.
@Suite("OpenBLAS kernels of unlearnd", .blockingWaits)
struct OpenBLASKernelTests {
    /// The kernels `unlearnd --version` reports it runs.
    static func kernels(environment: [String: String]) throws -> String {
        let result = try Binaries.run("unlearnd", ["--version"], environment: environment)
        #expect(result.status == 0, "unlearnd --version: \(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("OpenBLAS ") }, "no OpenBLAS line: \(result.stdout)")
        return String(line.dropFirst("OpenBLAS ".count).dropLast(" kernels".count))
    }

    // Where this test's own OpenBLAS chose kernels without AVX2 on an AVX2/AVX-512 CPU (Debian 12's 0.3.21 on
    // recent Intel Xeons), this checks the restart; elsewhere OpenBLAS chose well and there is nothing to restart.
    @Test("unlearnd runs kernels that use the CPU's vector units, restarting itself when OpenBLAS fell back")
    func betterKernels() throws {
        let core = try Self.kernels(environment: [:])
        #expect(BLASLibrary.betterCoreType(coreName: core, cpuFlags: BLASLibrary.cpuFlags) == nil, "unlearnd runs \(core) kernels")
    }

    @Test("an OPENBLAS_CORETYPE set by the operator is kept")
    func operatorChoice() throws {
        #expect(try Self.kernels(environment: ["OPENBLAS_CORETYPE": "Prescott"]) == "Prescott")
    }
}
