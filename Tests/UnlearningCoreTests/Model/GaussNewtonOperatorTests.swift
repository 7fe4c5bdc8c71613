import TestSupport
import Testing

@testable import UnlearningCore

/// Hessian- and Gauss-Newton-vector products against central finite differences of the gradient and against the
/// dense `hessianBlock`, which shares no code with the R-operator pass.
@Suite("Gauss-Newton-vector products", .computeBound)
struct GaussNewtonOperatorTests {
    static let h = 1e-5

    static func randomVector(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in rng.nextGaussian() }
    }

    /// (grad F(theta + h v) - grad F(theta - h v)) / 2h = (H + lambda I) v + O(h^2).
    static func finiteDifference(_ model: Network, _ x: Matrix, _ labels: [Int], along v: [Double]) -> [Double] {
        var plus = model
        var minus = model
        Vector.axpy(h, v, &plus.theta)
        Vector.axpy(-h, v, &minus.theta)
        var d = plus.objectiveGradient(x, labels: labels)
        Vector.axpy(-1, minus.objectiveGradient(x, labels: labels), &d)
        Vector.scale(&d, by: 1 / (2 * h))
        return d
    }

    static func dense(_ a: Matrix, _ v: [Double]) -> [Double] {
        Matrix.product(a, Matrix(rows: v.count, cols: 1, storage: v)).storage
    }

    // Tolerance 1e-6 relative: the central difference's truncation error is O(h^2) ~ 1e-10 relative on these O(1)
    // losses and its rounding error eps |grad F| / h ~ 1e-11; a wrong term (a missing p p^T, a dropped bias, a wrong
    // activation derivative) shows up at 1e-2 or worse.
    @Test("logistic regression: the product plus lambda v equals finite differences of the gradient (exact Hessian)")
    func logisticRegressionHessian() throws {
        let (model, x, labels) = try MLPDerivativeTests.randomProblem(hidden: [], activation: .identity)
        let curvature = GaussNewtonOperator(model: model, rows: x)
        for seed in [UInt64(1), 2, 3] {
            let v = Self.randomVector(model.parameterCount, seed: seed)
            var product = curvature.apply(v)
            Vector.axpy(model.lambda, v, &product)
            let err = MLPDerivativeTests.relativeError(product, Self.finiteDifference(model, x, labels, along: v))
            #expect(err < 1e-6, "seed \(seed): relative error \(err)")
        }
    }

    // For v in the output layer the logits are linear along v, so the Gauss-Newton product is the exact Hessian's
    // output-layer block times v; finite differences of the output-layer gradient measure exactly that.
    @Test("MLP output layer: the block product equals finite differences of the gradient", arguments: [Activation.tanh, .relu])
    func outputLayerHessian(activation: Activation) throws {
        let (model, x, labels) = try MLPDerivativeTests.randomProblem(hidden: [6], activation: activation)
        let out = model.architecture.parametricLayers.count - 1
        let slices = (0..<model.architecture.classes).map { Slice(layer: out, unit: $0) }
        let curvature = GaussNewtonOperator(model: model, rows: x, slices: slices)
        let vBlock = Self.randomVector(model.blockSize(slices), seed: 5)
        var full = [Double](repeating: 0, count: model.parameterCount)
        full.replaceSubrange(model.architecture.parameterOffset(ofLayer: out)..<model.parameterCount, with: vBlock)
        var product = curvature.apply(vBlock)
        Vector.axpy(model.lambda, vBlock, &product)
        let numeric = model.gather(Self.finiteDifference(model, x, labels, along: full), slices: slices)
        let err = MLPDerivativeTests.relativeError(product, numeric)
        #expect(err < 1e-6, "relative error \(err)")
        // The same entries of the unrestricted product: the block is the principal submatrix.
        let unrestricted = model.gather(GaussNewtonOperator(model: model, rows: x).apply(full), slices: slices)
        #expect(MLPDerivativeTests.relativeError(curvature.apply(vBlock), unrestricted) < 1e-12)
    }

    // Tolerance 1e-12 relative: both sides compute the same matrix exactly, in different summation orders, so they
    // differ by rounding (~1e-15); any structural error is O(1).
    @Test(
        "the product equals the dense hessianBlock times v, whole model and blocks, over several chunks",
        arguments: [
            ([Int](), Activation.identity), ([6], .tanh), ([6, 5], .tanh), ([7], .relu),
        ])
    func matchesDenseBlock(hidden: [Int], activation: Activation) throws {
        let (model, x, _) = try MLPDerivativeTests.randomProblem(hidden: hidden, activation: activation, rows: 23)
        let arch = model.architecture
        let out = arch.parametricLayers.count - 1
        var blocks: [[Slice]] = [arch.allSlices, [Slice(layer: out, unit: 2)], [Slice(layer: out, unit: 3), Slice(layer: out, unit: 0)]]
        if out > 0 {
            blocks.append([Slice(layer: 0, unit: 1), Slice(layer: out, unit: 2), Slice(layer: 0, unit: 4)])
            blocks.append([Slice(layer: out - 1, unit: 0)])  // a hidden slice alone: R(A) starts at its layer
        }
        for (b, slices) in blocks.enumerated() {
            let dense = model.hessianBlock(x, slices: slices)
            let v = Self.randomVector(model.blockSize(slices), seed: UInt64(b + 10))
            let expected = Self.dense(dense, v)
            for chunkRows in [23, 5] {
                let curvature = GaussNewtonOperator(model: model, rows: x, slices: slices, maxChunkRows: chunkRows)
                #expect(curvature.dimension == v.count)
                let err = MLPDerivativeTests.relativeError(curvature.apply(v), expected)
                #expect(err < 1e-12, "block \(b) (\(slices)), chunks of \(chunkRows) rows: relative error \(err)")
            }
        }
        // The convenience entry point is the same product.
        let v = Self.randomVector(model.parameterCount, seed: 3)
        #expect(model.gaussNewtonVectorProduct(x, v) == GaussNewtonOperator(model: model, rows: x).apply(v))
    }

    // G is symmetric positive semi-definite: u.(Gv) = v.(Gu) to rounding and v.(Gv) >= 0.
    @Test("the operator is symmetric and positive semi-definite")
    func symmetric() throws {
        let (model, x, _) = try MLPDerivativeTests.randomProblem(hidden: [6, 5], activation: .relu, rows: 17)
        let curvature = GaussNewtonOperator(model: model, rows: x)
        for seed in [UInt64(21), 22, 23] {
            let u = Self.randomVector(model.parameterCount, seed: seed)
            let v = Self.randomVector(model.parameterCount, seed: seed + 100)
            let uGv = Vector.dot(u, curvature.apply(v))
            let vGu = Vector.dot(v, curvature.apply(u))
            #expect(abs(uGv - vGu) <= 1e-12 * max(abs(uGv), 1))
            #expect(Vector.dot(v, curvature.apply(v)) >= 0)
        }
    }

    // Single precision against the dense Float64 hessianBlock: Float32 GEMMs over at most a few hundred terms are
    // accurate to about 1e-6 relative; 1e-5 allows for cancellation, and a dropped column, a misplaced bias or a
    // missing p p^T shows up at 1e-2 or worse. Column 2 is zero in every row, as constant pixels are after
    // standardisation: the single-precision rows drop it, the dense block keeps it.
    @Test(
        "single precision: the output-layer product equals the dense hessianBlock to Float32 rounding, zero columns dropped",
        arguments: [([Int](), Activation.identity), ([6], .tanh), ([7], .relu)])
    func singlePrecisionMatchesDense(hidden: [Int], activation: Activation) throws {
        var (model, x, _) = try MLPDerivativeTests.randomProblem(hidden: hidden, activation: activation, rows: 31)
        for i in 0..<x.rows { x[i, 2] = 0 }
        let arch = model.architecture
        let out = arch.parametricLayers.count - 1
        // Move theta off the seeded start so the probabilities are uneven, as after training.
        var rng = SeededGenerator(seed: 41)
        for i in model.theta.indices { model.theta[i] += rng.nextGaussian() }
        let blocks: [[Slice]?] = [
            out == 0 ? nil : (0..<arch.classes).map { Slice(layer: out, unit: $0) },
            [Slice(layer: out, unit: 3), Slice(layer: out, unit: 1)],
        ]
        for (b, slices) in blocks.enumerated() {
            let dense = model.hessianBlock(x, slices: slices ?? arch.allSlices)
            let v = Self.randomVector(model.blockSize(slices ?? arch.allSlices), seed: UInt64(b + 60))
            let expected = Self.dense(dense, v)
            for chunkRows in [31, 8] {
                let curvature = GaussNewtonOperator(model: model, rows: x, slices: slices, maxChunkRows: chunkRows, precision: .single)
                #expect(curvature.isSinglePrecision)
                let err = MLPDerivativeTests.relativeError(curvature.apply(v), expected)
                #expect(err < 1e-5, "block \(b), chunks of \(chunkRows) rows: relative error \(err)")
                #expect(err > 0, "block \(b): identical to Float64 to the last bit, so the Float32 path did not run")
            }
        }
    }

    // A block reaching a hidden layer has no single-precision path: the products stay Float64, bit for bit.
    @Test("single precision falls back to Float64 for blocks below the output layer")
    func singlePrecisionFallback() throws {
        let (model, x, _) = try MLPDerivativeTests.randomProblem(hidden: [6], activation: .tanh, rows: 13)
        let single = GaussNewtonOperator(model: model, rows: x, precision: .single)
        #expect(!single.isSinglePrecision)
        let v = Self.randomVector(model.parameterCount, seed: 77)
        #expect(single.apply(v) == GaussNewtonOperator(model: model, rows: x).apply(v))
    }
}
