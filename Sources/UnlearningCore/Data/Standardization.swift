/// Per-feature affine standardisation x' = (x - mean) / std, fitted on the training rows.
/// Constant features get std = 1 so they map to 0 instead of dividing by zero.
public struct Standardization: Codable, Sendable, Equatable {
    public var mean: [Double]
    public var std: [Double]

    public init(mean: [Double], std: [Double]) {
        precondition(mean.count == std.count)
        self.mean = mean
        self.std = std
    }

    public init(fitting x: Matrix) {
        let n = Double(max(x.rows, 1))
        var mean = x.columnSums()
        Vector.scale(&mean, by: 1 / n)
        var variance = [Double](repeating: 0, count: x.cols)
        for i in 0..<x.rows {
            for j in 0..<x.cols {
                let d = x[i, j] - mean[j]
                variance[j] += d * d
            }
        }
        self.mean = mean
        self.std = variance.map { v in
            let s = (v / n).squareRoot()
            return s > 1e-12 ? s : 1
        }
    }

    public func apply(_ x: Matrix) -> Matrix {
        precondition(x.cols == mean.count, "standardisation is for \(mean.count) features, data has \(x.cols)")
        var out = x
        for i in 0..<x.rows {
            for j in 0..<x.cols {
                out[i, j] = (x[i, j] - mean[j]) / std[j]
            }
        }
        return out
    }
}
