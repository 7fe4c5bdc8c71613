import COpenBLAS
import Foundation

/// The BLAS/LAPACK build the numerics run on, for reports that must say what they measured (the benchmarks) and
/// for the daemon's start-up check of the kernels OpenBLAS chose.
public enum BLASLibrary {
    /// OpenBLAS's build description (version, target core, threading), from `openblas_get_config`.
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// Threads OpenBLAS uses for one call (`OPENBLAS_NUM_THREADS`, or the cores it found).
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The kernel family a DYNAMIC_ARCH OpenBLAS chose when it was loaded (`openblas_get_corename`), e.g.
    /// "Haswell", "SkylakeX" or "Prescott"; `OPENBLAS_CORETYPE` in the environment overrides the choice.
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The CPU's feature flags, from the first `flags` line of /proc/cpuinfo (empty where there is none).
    public static var cpuFlags: Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let colon = line.firstIndex(of: ":")
        else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// A kernel family for `OPENBLAS_CORETYPE` when OpenBLAS fell back to kernels without AVX2 on a CPU that has
    /// AVX2 and FMA (or AVX-512), as an OpenBLAS release older than the CPU model does: Debian 12's 0.3.21 picks
    /// its SSE3 "Prescott" kernels on Intel Xeon CPU model 207 (BENCHMARKS.md measures the cost). Nil when the
    /// chosen kernels already use AVX2, or the CPU has neither.
    public static func betterCoreType(coreName: String, cpuFlags: Set<String>) -> String? {
        let avx2Kernels: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"]
        guard !avx2Kernels.contains(coreName.lowercased()) else { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// `betterCoreType` for the kernels loaded on this CPU, unless `OPENBLAS_CORETYPE` is set already (an operator's
    /// choice, or this program's own after `restartWithBetterKernels`).
    public static var kernelsToForce: String? {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return nil }
        return betterCoreType(coreName: coreName, cpuFlags: cpuFlags)
    }

    /// Starts this program again with `OPENBLAS_CORETYPE` set to `betterCoreType` when OpenBLAS fell back to
    /// kernels without AVX2 on a CPU that has better ones, unless the variable is set already (an operator's choice,
    /// or this program's own after the restart, so it happens at most once). OpenBLAS reads the variable only when it
    /// is loaded, hence the new start. `execv` keeps the process id, so systemd's notify protocol is unaffected.
    /// Call it first thing in `main`, before threads or files are opened. Returns only when nothing was to be done,
    /// or with the reason exec failed (the program then goes on with the kernels it has).
    public static func restartWithBetterKernels() -> String? {
        guard let better = kernelsToForce else { return nil }
        setenv("OPENBLAS_CORETYPE", better, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        let reason = String(cString: strerror(errno))
        unsetenv("OPENBLAS_CORETYPE")
        return "could not restart with OPENBLAS_CORETYPE=\(better) (\(reason))"
    }
}
