import COpenBLAS

/// The BLAS/LAPACK build the numerics run on, for reports that must say what they measured (the benchmarks).
public enum BLASLibrary {
    /// OpenBLAS's build description (version, target core, threading), from `openblas_get_config`.
    public static var configuration: String { String(cString: openblas_get_config()) }

    /// Threads OpenBLAS uses for one call (`OPENBLAS_NUM_THREADS`, or the cores it found).
    public static var threads: Int { Int(openblas_get_num_threads()) }
}
