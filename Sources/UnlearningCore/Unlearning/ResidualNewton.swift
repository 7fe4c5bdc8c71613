import Dispatch

/// Newton's method on the objective F over a set of rows (the residual rows of an unlearning update), each step
/// solved by conjugate gradients on Gauss-Newton-vector products over all the rows (a truncated Newton method:
/// Nocedal & Wright, "Numerical Optimization", Algorithm 7.1, with a fixed or an adaptive forcing term).
///
/// For logistic regression G is the exact Hessian and F is lambda-strongly convex: the undamped step converges
/// quadratically, up to the CG tolerance, to the unique optimum. For MLPs G is the Gauss-Newton matrix and a
/// full step can overshoot; there the system is damped, (G/n + (lambda + mu) I) d = g, with mu adapted by the
/// reduction ratio as in Martens 2010 ("Deep learning via Hessian-free optimization", section 4.1). In both cases
/// a backtracking line search along d accepts only steps that decrease F (Armijo) or, where the decrease is below
/// rounding, keep it (convex models: equal within rounding; others: not above) while reducing ||grad F||.
struct ResidualNewton {
    struct Options: Sendable {
        /// Stop once ||grad F|| <= tolerance.
        var tolerance: Double
        var maxIterations: Int
        /// Wall-time cap; checked before each iteration.
        var maxSeconds: Double?
        var cg: ConjugateGradient.Options
        /// Initial Levenberg-Marquardt damping mu (0: plain Newton, the choice for convex models).
        var damping: Double
        /// How tightly each step's CG solve is asked to converge.
        var forcing: Forcing = .fixed
        /// Preconditioner of the CG solves.
        var preconditioner: Preconditioner = .none
        /// Arithmetic of the Gauss-Newton-vector products (`GaussNewtonOperator.Precision`); F and grad F are
        /// always Float64, so the stopping rule holds either way.
        var precision: GaussNewtonOperator.Precision = .double
    }

    /// The forcing term eta_k: CG stops at ||g_k - (G/n + lambda I) d|| <= eta_k ||g_k||. Either way eta_k is at
    /// least `cg.tolerance` and, up to 0.5, at least what a step that can finish needs, tolerance / (2 ||g_k||).
    enum Forcing: Sendable {
        /// `cg.tolerance` on every step.
        case fixed
        /// Eisenstat & Walker 1996 ("Choosing the forcing terms in an inexact Newton method", SIAM J. Sci. Comput.
        /// 17(1)), choice 2 with gamma 0.9, alpha 2: eta_k = 0.9 (||g_k|| / ||g_k-1||)^2, safeguarded by
        /// eta_k >= 0.9 eta_k-1^2 when that exceeds 0.1, and eta_0 = 0.1. Far from the optimum the quadratic term,
        /// not the solve, limits what a step achieves (on MNIST logistic regression a first step solved to 1e-4
        /// reduces ||g|| only fivefold), so solving it tightly wastes most of its products; eta_k tightens as the
        /// steps start to converge quadratically. For convex models, where the step is a Newton step.
        case eisenstatWalker
    }

    /// M in M^-1 r of preconditioned CG (`ConjugateGradient.solve`).
    enum Preconditioner: Sendable {
        case none
        /// M = diag(G/n) + (lambda + mu) I where the operator has a cheap diagonal (logistic regression, see
        /// `GaussNewtonOperator.diagonal`), none elsewhere. Not the default: on the bundled digits and on MNIST
        /// logistic regression it took more CG iterations than plain CG (BENCHMARKS.md, newton section): the
        /// spectrum's spread there comes from correlated pixels, not from the diagonal's scale.
        case jacobi
        /// M^-1 from a Nyström approximation of the Gauss-Newton matrix built once per base
        /// (`NystromPreconditioner`), applied with the step's shift lambda + mu. It approximates the base's curvature,
        /// not the current step's, which is all a preconditioner needs: the solve's stopping rule is unchanged.
        case nystrom(NystromPreconditioner)
    }

    enum Status: Sendable, Equatable {
        case converged
        case iterationLimit
        case timeLimit
        /// The CG solve of a step did not converge.
        case solveFailed(ConjugateGradient.Status)
        /// No step length along the Newton direction decreased F (the gradient is at rounding level).
        case noDecrease
    }

    struct Result: Sendable {
        var model: Network
        var status: Status
        /// Newton steps taken.
        var iterations: Int
        var cgIterations: Int
        var hessianVectorProducts: Int
        /// ||grad F|| at `model`.
        var gradientNorm: Double
        /// F at the start and after each accepted step.
        var objectives: [Double]
        /// mu when the iteration stopped.
        var damping: Double
    }

    static func minimize(_ start: Network, x: Matrix, labels: [Int], options: Options) -> Result {
        let clock = DispatchTime.now().uptimeNanoseconds
        var model = start
        let convex = start.architecture.isConvex
        let first = objectiveGradientAndPass(model, x, labels)
        var f = first.0
        var g = first.1
        // Kept for convex models only (the operator reuses it); a deep network's activations are not held twice.
        var pass: ForwardPass? = convex ? first.2 : nil
        var gNorm = Vector.norm(g)
        var mu = options.damping
        var result = Result(
            model: model, status: .converged, iterations: 0, cgIterations: 0, hessianVectorProducts: 0,
            gradientNorm: gNorm, objectives: [f], damping: mu
        )
        func finish(_ status: Status) -> Result {
            result.model = model
            result.status = status
            result.gradientNorm = gNorm
            result.damping = mu
            return result
        }
        var previous: (gradientNorm: Double, forcing: Double)?  // the last step's, for the adaptive forcing term
        var previousCurvature: GaussNewtonOperator?
        while true {
            if gNorm <= options.tolerance { return finish(.converged) }
            if result.iterations >= options.maxIterations { return finish(.iterationLimit) }
            if let cap = options.maxSeconds, Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9 > cap {
                return finish(.timeLimit)
            }
            // Forcing term: the solve's relative residual eta leaves ||grad F|| ~ eta ||g|| after the step (plus the
            // quadratic term), so a step that can finish needs only eta = tolerance / (2 ||g||); CG costs about
            // log(1 / eta) iterations, and solving the last step to the configured tolerance would waste most of them.
            var cg = options.cg
            var eta = 0.5 * options.tolerance / gNorm
            if options.forcing == .eisenstatWalker {
                if let previous {
                    let ratio = gNorm / previous.gradientNorm
                    let safeguard = 0.9 * previous.forcing * previous.forcing
                    eta = max(eta, 0.9 * ratio * ratio, safeguard > 0.1 ? safeguard : 0)
                } else {
                    eta = max(eta, 0.1)
                }
            }
            cg.tolerance = max(options.cg.tolerance, min(0.5, eta))
            previous = (gNorm, cg.tolerance)
            // Convex models (logistic regression, one layer): the operator takes the forward pass F and grad F were
            // computed from, and the previous step's Float32 rows (the rows are the same, only theta moved).
            let curvature =
                if let pass {
                    GaussNewtonOperator(model: model, forward: pass, precision: options.precision, reusingRowsOf: previousCurvature)
                } else {
                    GaussNewtonOperator(model: model, rows: x, precision: options.precision)
                }
            previousCurvature = curvature
            let shift = model.lambda + mu
            let preconditioner: (([Double]) -> [Double])? =
                switch options.preconditioner {
                case .none: nil
                case .jacobi: curvature.diagonal().map { ConjugateGradient.jacobi(diagonal: $0, shift: shift) }
                case .nystrom(let nystrom):
                    nystrom.dimension == g.count ? { nystrom.apply($0, shift: shift) } : nil
                }
            let solution = ConjugateGradient.solve(shift: shift, g, preconditioner: preconditioner, options: cg, apply: curvature.apply)
            result.cgIterations += solution.iterations
            result.hessianVectorProducts += solution.products
            guard solution.converged else { return finish(.solveFailed(solution.status)) }
            let d = solution.x
            let slope = Vector.dot(g, d)  // directional decrease of F along -d; > 0 for a positive definite solve

            // Backtracking (Armijo, c = 1e-4). Near the optimum the decrease in F falls below rounding (F ~ 0.1,
            // decrease ~ ||g||^2 / lambda), so a step that keeps F equal within rounding is accepted when it
            // reduces ||grad F|| (the same rule as Trainer.lbfgs).
            var step = 1.0
            var accepted: (model: Network, f: Double, g: [Double], pass: ForwardPass?)?
            for _ in 0..<40 {
                var candidate = model
                Vector.axpy(-step, d, &candidate.theta)
                let (fNew, gNew, passNew) = objectiveGradientAndPass(candidate, x, labels)
                let armijo = fNew <= f - 1e-4 * step * slope
                // On non-convex models only a step that does not raise F counts as flat.
                let flat =
                    abs(fNew - f) <= 1e-13 * max(1, abs(f)) && Vector.norm(gNew) < gNorm
                    && (model.architecture.isConvex || fNew <= f)
                if armijo || flat {
                    accepted = (candidate, fNew, gNew, convex ? passNew : nil)
                    break
                }
                step *= 0.5
            }
            guard let accepted else { return finish(.noDecrease) }
            if options.damping > 0 {
                // Reduction ratio against the quadratic model q(-t d) = -t g.d + t^2/2 d.(G/n + lambda I) d, with
                // d.(G/n + lambda I) d = g.d - mu ||d||^2 for the solved system.
                let dd = Vector.dot(d, d)
                let predicted = step * slope - 0.5 * step * step * (slope - mu * dd)
                let rho = predicted > 0 ? (f - accepted.f) / predicted : 0
                if rho < 0.25 { mu *= 1.5 } else if rho > 0.75 { mu *= 2.0 / 3.0 }
            }
            model = accepted.model
            f = accepted.f
            g = accepted.g
            pass = accepted.pass
            gNorm = Vector.norm(g)
            result.iterations += 1
            result.objectives.append(f)
        }
    }

    /// F and grad F over the rows from one forward pass.
    static func objectiveAndGradient(_ model: Network, _ x: Matrix, _ labels: [Int]) -> (Double, [Double]) {
        let (f, g, _) = objectiveGradientAndPass(model, x, labels)
        return (f, g)
    }

    /// F, grad F and the forward pass they came from (which the next step's curvature operator reuses).
    static func objectiveGradientAndPass(_ model: Network, _ x: Matrix, _ labels: [Int]) -> (Double, [Double], ForwardPass) {
        let pass = model.forward(x)
        let losses = Network.perRowLoss(logits: pass.logits, labels: labels)
        let n = Double(max(x.rows, 1))
        let norm = Vector.norm(model.theta)
        let f = losses.reduce(0, +) / n + 0.5 * model.lambda * norm * norm
        var g = model.lossGradientSum(forward: pass, labels: labels)
        if x.rows > 0 { Vector.scale(&g, by: 1 / n) }
        Vector.axpy(model.lambda, model.theta, &g)
        return (f, g, pass)
    }
}
