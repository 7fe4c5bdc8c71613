import Foundation

/// Trains an `MLP` on the L2-regularised objective F (see `MLP`).
///
/// - `adam`: mini-batch Adam (Kingma & Ba 2015) with the L2 term in the gradient, a cosine learning-rate decay,
///   and a seeded shuffle, so a run is reproducible bit for bit on the same machine and BLAS.
/// - `lbfgs`: full-batch L-BFGS (Nocedal & Wright, "Numerical Optimization", Algorithm 7.4/7.5) with a
///   backtracking Armijo line search. For logistic regression (strongly convex) it drives ||grad F|| below 1e-8:
///   the exact-retraining baseline that unlearning is compared against.
public enum Trainer {
    public struct AdamOptions: Sendable {
        public var epochs = 30
        public var batchSize = 64
        public var learningRate = 1e-3
        public var beta1 = 0.9
        public var beta2 = 0.999
        public var epsilon = 1e-8
        public var gradientTolerance = 1e-6
        public var seed: UInt64 = 1
        /// Evaluate F and the accuracies after every epoch (the progress line); off, only at the end.
        public var evaluateEveryEpoch = true
        public init() {}
    }

    public struct LBFGSOptions: Sendable {
        public var maxIterations = 5000
        public var history = 20
        public var gradientTolerance = 1e-9
        public init() {}
    }

    /// Mini-batch Adam. `progress` is called after every epoch.
    public static func adam(
        _ model: inout Network, x: Matrix, labels: [Int], validation: (x: Matrix, labels: [Int])? = nil,
        options: AdamOptions = AdamOptions(), progress: (TrainingProgress) -> Void = { _ in }
    ) -> TrainingReport {
        let start = DispatchTime.now()
        let n = x.rows
        var m = [Double](repeating: 0, count: model.parameterCount)
        var v = m
        var t = 0
        var rng = SeededGenerator(seed: options.seed)
        var order = Array(0..<n)
        var converged = false
        var epochsRun = 0
        var gradNorm = Double.infinity
        for epoch in 0..<options.epochs {
            order.shuffle(using: &rng)
            let rate = options.learningRate * 0.5 * (1 + cos(Double.pi * Double(epoch) / Double(options.epochs)))
            var b = 0
            while b < n {
                let batch = Array(order[b..<min(n, b + options.batchSize)])
                b += options.batchSize
                let g = model.objectiveGradient(x.selectingRows(batch), labels: batch.map { labels[$0] })
                t += 1
                let c1 = 1 - pow(options.beta1, Double(t))
                let c2 = 1 - pow(options.beta2, Double(t))
                for i in model.theta.indices {
                    m[i] = options.beta1 * m[i] + (1 - options.beta1) * g[i]
                    v[i] = options.beta2 * v[i] + (1 - options.beta2) * g[i] * g[i]
                    model.theta[i] -= rate * (m[i] / c1) / ((v[i] / c2).squareRoot() + options.epsilon)
                }
            }
            epochsRun = epoch + 1
            let denseStack = model.architecture.denseStages != nil
            guard options.evaluateEveryEpoch || denseStack else { continue }
            gradNorm = denseStack ? Vector.norm(model.objectiveGradient(x, labels: labels)) : .nan
            let (objective, trainAccuracy) = model.objectiveAndAccuracy(x, labels: labels)
            progress(
                TrainingProgress(
                    step: epochsRun, totalSteps: options.epochs, objective: objective, gradientNorm: gradNorm,
                    trainAccuracy: trainAccuracy, validationAccuracy: validation.map { model.accuracy($0.x, labels: $0.labels) }
                ))
            if gradNorm < options.gradientTolerance {
                converged = true
                break
            }
        }
        if gradNorm.isNaN || !options.evaluateEveryEpoch { gradNorm = Vector.norm(model.objectiveGradient(x, labels: labels)) }
        return TrainingReport(
            method: "adam", steps: epochsRun, objective: model.objective(x, labels: labels), gradientNorm: gradNorm,
            converged: converged, seconds: seconds(since: start)
        )
    }

    /// Full-batch L-BFGS. `progress` is called every `progressEvery` iterations and at the end.
    public static func lbfgs(
        _ model: inout Network, x: Matrix, labels: [Int], validation: (x: Matrix, labels: [Int])? = nil,
        options: LBFGSOptions = LBFGSOptions(), progressEvery: Int = 25, progress: (TrainingProgress) -> Void = { _ in }
    ) -> TrainingReport {
        let start = DispatchTime.now()
        var f = model.objective(x, labels: labels)
        var g = model.objectiveGradient(x, labels: labels)
        var gNorm = Vector.norm(g)
        var sHistory: [[Double]] = []
        var yHistory: [[Double]] = []
        var rhoHistory: [Double] = []
        var iteration = 0
        func report(_ force: Bool) {
            guard force || iteration % progressEvery == 0 else { return }
            progress(
                TrainingProgress(
                    step: iteration, totalSteps: options.maxIterations, objective: f, gradientNorm: gNorm,
                    trainAccuracy: model.accuracy(x, labels: labels),
                    validationAccuracy: validation.map { model.accuracy($0.x, labels: $0.labels) }
                ))
        }
        while gNorm >= options.gradientTolerance && iteration < options.maxIterations {
            // Two-loop recursion: d = -H_k g.
            var q = g
            var alphas = [Double](repeating: 0, count: sHistory.count)
            for i in stride(from: sHistory.count - 1, through: 0, by: -1) {
                alphas[i] = rhoHistory[i] * Vector.dot(sHistory[i], q)
                Vector.axpy(-alphas[i], yHistory[i], &q)
            }
            if let s = sHistory.last, let y = yHistory.last {
                Vector.scale(&q, by: Vector.dot(s, y) / Vector.dot(y, y))
            } else {
                Vector.scale(&q, by: 1 / max(gNorm, 1))
            }
            for i in 0..<sHistory.count {
                let beta = rhoHistory[i] * Vector.dot(yHistory[i], q)
                Vector.axpy(alphas[i] - beta, sHistory[i], &q)
            }
            var direction = q
            Vector.scale(&direction, by: -1)
            var slope = Vector.dot(g, direction)
            if slope >= 0 {
                // Not a descent direction (numerical breakdown): restart from steepest descent.
                sHistory.removeAll()
                yHistory.removeAll()
                rhoHistory.removeAll()
                direction = g
                Vector.scale(&direction, by: -1 / max(gNorm, 1))
                slope = Vector.dot(g, direction)
            }

            // Backtracking Armijo. Near the optimum the decrease in F falls below rounding (F ~ 1e-1, decrease ~
            // ||g||^2 ~ 1e-16), so a step that keeps F equal within rounding and reduces ||g|| is accepted too.
            var step = 1.0
            var accepted = false
            var candidate = model
            var fNew = f
            var gNew = g
            for _ in 0..<60 {
                candidate = model
                Vector.axpy(step, direction, &candidate.theta)
                fNew = candidate.objective(x, labels: labels)
                let armijo = fNew <= f + 1e-4 * step * slope
                let flat = abs(fNew - f) <= 1e-13 * max(1, abs(f))
                if armijo || flat {
                    gNew = candidate.objectiveGradient(x, labels: labels)
                    if armijo || Vector.norm(gNew) < gNorm {
                        accepted = true
                        break
                    }
                }
                step *= 0.5
            }
            guard accepted else { break }
            var s = candidate.theta
            Vector.axpy(-1, model.theta, &s)
            var y = gNew
            Vector.axpy(-1, g, &y)
            let sy = Vector.dot(s, y)
            if sy > 1e-12 * Vector.norm(s) * Vector.norm(y) {
                sHistory.append(s)
                yHistory.append(y)
                rhoHistory.append(1 / sy)
                if sHistory.count > options.history {
                    sHistory.removeFirst()
                    yHistory.removeFirst()
                    rhoHistory.removeFirst()
                }
            }
            model = candidate
            f = fNew
            g = gNew
            gNorm = Vector.norm(g)
            iteration += 1
            report(false)
        }
        report(true)
        return TrainingReport(
            method: "lbfgs", steps: iteration, objective: f, gradientNorm: gNorm,
            converged: gNorm < options.gradientTolerance, seconds: seconds(since: start)
        )
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
