import TestSupport
import Testing

@testable import UnlearningCore

@Suite("OpenBLAS kernel check", .computeBound)
struct BLASLibraryTests {
    static let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    @Test("a fallback to SSE kernels on an AVX-512 or AVX2 CPU names the kernels to force")
    func fallback() {
        #expect(BLASLibrary.betterCoreType(coreName: "Prescott", cpuFlags: Self.avx512) == "SkylakeX")
        #expect(BLASLibrary.betterCoreType(coreName: "Nehalem", cpuFlags: ["sse4_2", "avx", "avx2", "fma"]) == "Haswell")
        #expect(BLASLibrary.betterCoreType(coreName: "Sandybridge", cpuFlags: ["avx", "avx2", "fma", "avx512f"]) == "Haswell")
    }

    @Test("AVX2 kernels, or a CPU without AVX2, need nothing")
    func noSuggestion() {
        for core in ["Haswell", "SkylakeX", "Cooperlake", "Zen", "SAPPHIRERAPIDS"] {
            #expect(BLASLibrary.betterCoreType(coreName: core, cpuFlags: Self.avx512) == nil, "\(core)")
        }
        #expect(BLASLibrary.betterCoreType(coreName: "Prescott", cpuFlags: ["sse3", "avx"]) == nil)
        #expect(BLASLibrary.betterCoreType(coreName: "Prescott", cpuFlags: []) == nil)
    }

    @Test("this machine: the loaded OpenBLAS names its kernels, and /proc/cpuinfo has flags")
    func thisMachine() {
        #expect(!BLASLibrary.coreName.isEmpty)
        #expect(BLASLibrary.cpuFlags.contains("sse2"))
    }
}
