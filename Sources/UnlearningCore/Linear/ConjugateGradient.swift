/// Solves (A + shift I) x = b for a symmetric positive (semi-)definite A known only through products A v, by
/// conjugate gradients (Hestenes & Stiefel 1952; Nocedal & Wright, "Numerical Optimization", Algorithm 5.2), or,
/// given an approximation M of A + shift I whose inverse is cheap, by preconditioned conjugate gradients (the same
/// book, Algorithm 5.3), e.g. Jacobi, M = diag(A) + shift I (`jacobi(diagonal:shift:)`).
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
    ///
    /// With a `preconditioner`, r -> M^-1 r for a symmetric positive definite M that approximates A + shift I,
    /// the iteration is preconditioned CG (Algorithm 5.3). Preconditioning changes the path, not the stopping rule:
    /// the tolerance is still on the unpreconditioned residual ||b - (A + shift I) x||, so a solve means the same
    /// with or without it.
    public static func solve(
        shift: Double = 0, _ b: [Double], preconditioner: (([Double]) -> [Double])? = nil, options: Options = Options(),
        apply: ([Double]) -> [Double]
    ) -> Solution {
        let n = b.count
        var x = [Double](repeating: 0, count: n)
        let bNorm = Vector.norm(b)
        guard bNorm > 0 else { return Solution(x: x, status: .converged, iterations: 0, products: 0, relativeResidual: 0) }
        guard bNorm.isFinite else { return Solution(x: x, status: .notFinite, iterations: 0, products: 0, relativeResidual: .nan) }
        let target = options.tolerance * bNorm
        func preconditioned(_ r: [Double]) -> [Double] {
            guard let preconditioner else { return r }
            let y = preconditioner(r)
            precondition(y.count == n, "the preconditioner returned \(y.count) values for a vector of \(n)")
            return y
        }
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
            // y = M^-1 r; without a preconditioner y = r and this is Algorithm 5.2.
            var y = preconditioned(r)
            var p = y
            var ry = Vector.dot(r, y)
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
                let alpha = ry / curvature
                Vector.axpy(alpha, p, &x)
                Vector.axpy(-alpha, ap, &r)
                y = preconditioned(r)
                let next = Vector.dot(r, y)
                let beta = next / ry
                ry = next
                rr = preconditioner == nil ? next : Vector.dot(r, r)
                Vector.scale(&p, by: beta)
                Vector.axpy(1, y, &p)
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

    /// The Jacobi preconditioner r -> (diag(A) + shift I)^-1 r from the diagonal of A (without the shift). It
    /// pays where the diagonal is spread widely. M only has to be symmetric positive definite: an entry that is not
    /// positive and finite (a zero row of a semi-definite A without shift) is left unscaled.
    public static func jacobi(diagonal: [Double], shift: Double = 0) -> @Sendable ([Double]) -> [Double] {
        let inverse = diagonal.map { entry in
            let m = entry + shift
            return m > 0 && m.isFinite ? 1 / m : 1
        }
        return { r in
            precondition(r.count == inverse.count, "the diagonal has \(inverse.count) entries for a vector of \(r.count)")
            var y = r
            for i in y.indices { y[i] *= inverse[i] }
            return y
        }
    }
}
