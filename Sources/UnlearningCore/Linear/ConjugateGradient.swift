/// Solves (A + shift I) x = b for a symmetric positive (semi-)definite A known only through products A v, by
/// conjugate gradients (Hestenes & Stiefel 1952; Nocedal & Wright, "Numerical Optimization", Algorithm 5.2).
public enum ConjugateGradient {
    public struct Options: Sendable, Equatable {
        /// Stop once ||b - (A + shift I) x|| <= tolerance * ||b||.
        public var tolerance: Double
        /// Products A v allowed (one per iteration, plus one to confirm the final residual).
        public var maxIterations: Int

        public init(tolerance: Double = 1e-6, maxIterations: Int = 500) {
            self.tolerance = tolerance
            self.maxIterations = maxIterations
        }
    }

    public enum Status: String, Sendable, Equatable {
        /// The true relative residual is within the tolerance: `x` solves the system to it.
        case converged
        /// The iteration cap was reached first.
        case iterationLimit = "iteration_limit"
        /// p^T (A + shift I) p <= 0 for a search direction p: the matrix is not positive definite.
        case notPositiveDefinite = "not_positive_definite"
        /// A product returned a non-finite value.
        case notFinite = "not_finite"
    }

    /// The outcome of a solve. `x` is the last iterate; it solves the system only when `status == .converged`.
    public struct Solution: Sendable {
        public var x: [Double]
        public var status: Status
        /// CG iterations (each one product with A).
        public var iterations: Int
        /// Products A v computed in total (iterations plus residual checks).
        public var products: Int
        /// ||b - (A + shift I) x|| / ||b||, recomputed from x at the end (not the recursively updated residual).
        public var relativeResidual: Double

        public var converged: Bool { status == .converged }
    }

    /// Runs CG from x = 0. When the recursive residual reaches the tolerance, the true residual is recomputed; if
    /// rounding let the two drift apart, CG restarts from the true residual while iterations remain. The
    /// returned `x` must not be used unless `converged`: the status says why it was not.
    public static func solve(
        shift: Double = 0, _ b: [Double], options: Options = Options(), apply: ([Double]) -> [Double]
    ) -> Solution {
        let n = b.count
        var x = [Double](repeating: 0, count: n)
        let bNorm = Vector.norm(b)
        guard bNorm > 0 else { return Solution(x: x, status: .converged, iterations: 0, products: 0, relativeResidual: 0) }
        guard bNorm.isFinite else { return Solution(x: x, status: .notFinite, iterations: 0, products: 0, relativeResidual: .nan) }
        let target = options.tolerance * bNorm
        var iterations = 0
        var products = 0
        func operatorTimes(_ v: [Double]) -> [Double] {
            products += 1
            var av = apply(v)
            precondition(av.count == n, "the operator returned \(av.count) values for a vector of \(n)")
            if shift != 0 { Vector.axpy(shift, v, &av) }
            return av
        }

        var r = b
        while true {
            var p = r
            var rr = Vector.dot(r, r)
            while rr.squareRoot() > target && iterations < options.maxIterations {
                let ap = operatorTimes(p)
                iterations += 1
                let curvature = Vector.dot(p, ap)
                guard curvature.isFinite else {
                    return Solution(x: x, status: .notFinite, iterations: iterations, products: products, relativeResidual: .nan)
                }
                guard curvature > 0 else {
                    return Solution(
                        x: x, status: .notPositiveDefinite, iterations: iterations, products: products,
                        relativeResidual: rr.squareRoot() / bNorm
                    )
                }
                let alpha = rr / curvature
                Vector.axpy(alpha, p, &x)
                Vector.axpy(-alpha, ap, &r)
                let next = Vector.dot(r, r)
                let beta = next / rr
                rr = next
                Vector.scale(&p, by: beta)
                Vector.axpy(1, r, &p)
            }
            // The recursive residual drifts from b - A x by rounding; judge convergence on the true one.
            var trueResidual = b
            Vector.axpy(-1, operatorTimes(x), &trueResidual)
            let relative = Vector.norm(trueResidual) / bNorm
            guard relative.isFinite else {
                return Solution(x: x, status: .notFinite, iterations: iterations, products: products, relativeResidual: relative)
            }
            if relative <= options.tolerance {
                return Solution(x: x, status: .converged, iterations: iterations, products: products, relativeResidual: relative)
            }
            if iterations >= options.maxIterations {
                return Solution(x: x, status: .iterationLimit, iterations: iterations, products: products, relativeResidual: relative)
            }
            // Restart from the true residual; it is above the target, so the next round makes progress.
            r = trueResidual
        }
    }
}
