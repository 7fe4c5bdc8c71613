import TestSupport
import Testing
import UnlearningCore

/// Gradients and Hessian blocks against central finite differences in Float64.
///
/// Tolerance: relative error < 1e-5 (the bound). Central differences with step h have truncation error
/// O(h^2 f''') and rounding error O(eps f / h); with h = 1e-5 both are ~1e-10 relative on these O(1) losses, so
/// 1e-5 leaves a wide margin while still catching any wrong term (those show up at 1e-2 or worse).
@Suite("MLP derivatives", .computeBound)
struct MLPDerivativeTests {
    static let h = 1e-5

    static func randomProblem(hidden: [Int], activation: Activation, rows: Int = 9, seed: UInt64 = 7)
        throws -> (Network, Matrix, [Int])
    {
        let arch = Architecture(inputs: 5, hidden: hidden, classes: 4, activation: activation)
        var model = try Network(architecture: arch, lambda: 0.03, seed: seed)
        var rng = SeededGenerator(seed: seed &+ 1)
        for i in model.theta.indices { model.theta[i] += 0.3 * rng.nextGaussian() }  // non-zero biases too
        var x = Matrix(rows: rows, cols: 5)
        rng.fillGaussian(&x.storage)
        let labels = (0..<rows).map { _ in Int(rng.next() % 4) }
        return (model, x, labels)
    }

    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        Vector.distance(a, b) / max(Vector.norm(b), 1e-300)
    }

    @Test(
        "loss gradient matches central differences",
        arguments: [
            ([Int](), Activation.identity), ([6], .tanh), ([6, 5], .tanh), ([7], .relu),
        ])
    func gradient(hidden: [Int], activation: Activation) throws {
        let (model, x, labels) = try Self.randomProblem(hidden: hidden, activation: activation)
        if activation == .relu {
            // Finite differences are only meaningful away from ReLU kinks.
            let z = model.forward(x).layerOutputs.dropLast().flatMap(\.storage)
            #expect(z.allSatisfy { abs($0) > 1e-3 }, "test data sits on a ReLU kink; pick another seed")
        }
        let analytic = model.objectiveGradient(x, labels: labels)
        var numeric = [Double](repeating: 0, count: model.parameterCount)
        for j in model.theta.indices {
            var plus = model
            var minus = model
            plus.theta[j] += Self.h
            minus.theta[j] -= Self.h
            numeric[j] = (plus.objective(x, labels: labels) - minus.objective(x, labels: labels)) / (2 * Self.h)
        }
        let err = Self.relativeError(analytic, numeric)
        #expect(err < 1e-5, "relative error \(err)")
    }

    @Test("gradient restricted to slices equals the slices' part of the full gradient")
    func restrictedGradient() throws {
        let (model, x, labels) = try Self.randomProblem(hidden: [6], activation: .tanh)
        let slices = [Slice(layer: 1, unit: 2), Slice(layer: 0, unit: 4)]
        let full = model.lossGradientSum(x, labels: labels)
        let block = model.lossGradientSum(x, labels: labels, slices: slices)
        let r1 = model.architecture.parameterRange(of: slices[0])
        let r0 = model.architecture.parameterRange(of: slices[1])
        #expect(block == Array(full[r1]) + Array(full[r0]))
        #expect(block.count == 7 + 6)
    }

    /// Covers the reduced factorisation (a block over k < K output units) and the full one (all K units).
    @Test("output-layer Hessian block equals finite differences of the gradient", arguments: [[3, 0, 1], [2], [0, 1, 2, 3]])
    func outputHessian(units: [Int]) throws {
        for hidden in [[Int](), [6]] {
            let (model, x, labels) = try Self.randomProblem(hidden: hidden, activation: .tanh)
            let out = model.architecture.parametricLayers.count - 1
            let slices = units.map { Slice(layer: out, unit: $0) }
            let analytic = model.hessianBlock(x, slices: slices)
            let p = model.blockSize(slices)
            var numeric = Matrix(rows: p, cols: p)
            let indices = slices.flatMap { Array(model.architecture.parameterRange(of: $0)) }
            for (col, j) in indices.enumerated() {
                var plus = model
                var minus = model
                plus.theta[j] += Self.h
                minus.theta[j] -= Self.h
                var gp = plus.lossGradientSum(x, labels: labels, slices: slices)
                let gm = minus.lossGradientSum(x, labels: labels, slices: slices)
                Vector.axpy(-1, gm, &gp)
                for row in 0..<p { numeric[row, col] = gp[row] / (2 * Self.h * Double(x.rows)) }
            }
            let err = Self.relativeError(analytic.storage, numeric.storage)
            #expect(err < 1e-5, "hidden \(hidden): relative error \(err)")
        }
    }

    /// Hidden-layer slices: the Gauss-Newton block checked against its definition (1/n) sum_i J_i^T H_z,i J_i,
    /// with J_i = d logits_i / d theta_S by central differences and H_z = diag(p) - p p^T.
    @Test("hidden-layer Hessian block equals the Gauss-Newton definition", arguments: [Activation.tanh, .relu])
    func hiddenGaussNewton(activation: Activation) throws {
        let (model, x, labels) = try Self.randomProblem(hidden: [6, 5], activation: activation, seed: 11)
        _ = labels
        let slices = [Slice(layer: 0, unit: 1), Slice(layer: 1, unit: 4), Slice(layer: 2, unit: 2), Slice(layer: 0, unit: 5)]
        let analytic = model.hessianBlock(x, slices: slices, maxChunkElements: 64)  // several chunks
        let indices = slices.flatMap { Array(model.architecture.parameterRange(of: $0)) }
        let p = indices.count
        let k = model.architecture.classes
        var jacobians = [Matrix](repeating: Matrix(rows: k, cols: p), count: x.rows)
        for (col, j) in indices.enumerated() {
            var plus = model
            var minus = model
            plus.theta[j] += Self.h
            minus.theta[j] -= Self.h
            let lp = plus.forward(x).logits
            let lm = minus.forward(x).logits
            for i in 0..<x.rows {
                for r in 0..<k { jacobians[i][r, col] = (lp[i, r] - lm[i, r]) / (2 * Self.h) }
            }
        }
        let probabilities = model.forward(x).probabilities
        var expected = Matrix(rows: p, cols: p)
        for i in 0..<x.rows {
            var hz = Matrix(rows: k, cols: k)
            for r in 0..<k {
                for s in 0..<k {
                    hz[r, s] = (r == s ? probabilities[i, r] : 0) - probabilities[i, r] * probabilities[i, s]
                }
            }
            let hj = Matrix.product(hz, jacobians[i])
            Matrix.gemm(jacobians[i], transposeA: true, hj, alpha: 1 / Double(x.rows), beta: 1, into: &expected)
        }
        let err = Self.relativeError(analytic.storage, expected.storage)
        #expect(err < 1e-5, "relative error \(err)")
        // Symmetric positive semi-definite by construction.
        #expect(analytic == analytic.transposed)
    }

    @Test("block update touches exactly the selected slices")
    func blockUpdate() throws {
        var (model, _, _) = try Self.randomProblem(hidden: [6], activation: .tanh)
        let before = model.theta
        let slices = [Slice(layer: 1, unit: 1)]
        model.addToBlock([Double](repeating: 1, count: 7), slices: slices)
        let range = model.architecture.parameterRange(of: slices[0])
        for i in before.indices {
            if range.contains(i) { #expect(model.theta[i] == before[i] + 1) } else { #expect(model.theta[i] == before[i]) }
        }
    }
}
