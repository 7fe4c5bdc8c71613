import COpenBLAS
import UnlearningCore

/// OpenBLAS's thread count and the machine's square GEMM rates, for suites that compare against the BLAS ceiling.
enum BLASPeak {
    /// Sets the threads of every later OpenBLAS call (`openblas_set_num_threads`) and returns the count OpenBLAS
    /// then reports.
    static func setThreads(_ threads: Int) -> Int {
        openblas_set_num_threads(Int32(threads))
        return BLASLibrary.threads
    }

    /// Square operands of order `n` for `dgemm` and `sgemm`, filled with seeded values in [-1, 1).
    struct Operands {
        var n: Int
        var a: [Double]
        var b: [Double]
        var c: [Double]
        var a32: [Float]
        var b32: [Float]
        var c32: [Float]

        init(order n: Int, seed: UInt64 = 7) {
            var rng = SeededGenerator(seed: seed)
            self.n = n
            a = (0..<(n * n)).map { _ in 2 * rng.nextUniform() - 1 }
            b = (0..<(n * n)).map { _ in 2 * rng.nextUniform() - 1 }
            c = [Double](repeating: 0, count: n * n)
            a32 = a.map { Float($0) }
            b32 = b.map { Float($0) }
            c32 = [Float](repeating: 0, count: n * n)
        }

        /// 2 n^3.
        var flops: Double { 2 * Double(n) * Double(n) * Double(n) }

        /// C = A B in Float64 (cblas_dgemm, row-major).
        mutating func dgemm() {
            let n32 = Int32(n)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        cblas_dgemm(
                            CblasRowMajor, CblasNoTrans, CblasNoTrans, n32, n32, n32, 1, pa.baseAddress, n32, pb.baseAddress, n32, 0,
                            pc.baseAddress, n32)
                    }
                }
            }
        }

        /// C = A B in Float32 (cblas_sgemm, row-major).
        mutating func sgemm() {
            let n32 = Int32(n)
            a32.withUnsafeBufferPointer { pa in
                b32.withUnsafeBufferPointer { pb in
                    c32.withUnsafeMutableBufferPointer { pc in
                        cblas_sgemm(
                            CblasRowMajor, CblasNoTrans, CblasNoTrans, n32, n32, n32, 1, pa.baseAddress, n32, pb.baseAddress, n32, 0,
                            pc.baseAddress, n32)
                    }
                }
            }
        }
    }
}
