import COpenBLAS

/// BLAS level-1 helpers on plain arrays.
public enum Vector {
    /// `y += alpha * x`.
    public static func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
        precondition(x.count == y.count, "axpy: lengths differ (\(x.count) vs \(y.count))")
        if x.isEmpty { return }
        cblas_daxpy(Int32(x.count), alpha, x, 1, &y, 1)
    }

    public static func scale(_ x: inout [Double], by alpha: Double) {
        if x.isEmpty { return }
        cblas_dscal(Int32(x.count), alpha, &x, 1)
    }

    public static func dot(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "dot: lengths differ (\(x.count) vs \(y.count))")
        if x.isEmpty { return 0 }
        return cblas_ddot(Int32(x.count), x, 1, y, 1)
    }

    public static func norm(_ x: [Double]) -> Double {
        if x.isEmpty { return 0 }
        return cblas_dnrm2(Int32(x.count), x, 1)
    }

    /// Euclidean distance `||x - y||`.
    public static func distance(_ x: [Double], _ y: [Double]) -> Double {
        var d = x
        axpy(-1, y, &d)
        return norm(d)
    }
}
