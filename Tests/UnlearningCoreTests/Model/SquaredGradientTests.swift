import TestSupport
import Testing

@testable import UnlearningCore

/// `squaredGradientSum` (the GEMM form (delta o delta)^T (A o A)) against the definition: the element-wise square
/// of `lossGradientSum` on each row alone, summed over rows.
@Suite("Squared per-row gradients", .computeBound)
struct SquaredGradientTests {
    static func perRowLoop(_ model: Network, _ x: Matrix, _ labels: [Int]) -> [Double] {
        var sum = [Double](repeating: 0, count: model.parameterCount)
        for i in 0..<x.rows {
            let g = model.lossGradientSum(x.selectingRows([i]), labels: [labels[i]])
            for k in sum.indices { sum[k] += g[k] * g[k] }
        }
        return sum
    }

    // Tolerance 1e-12 relative (norm-wise): both sides square and add the same products in a different order, so
    // they differ by rounding (~1e-15 relative); a wrong formula (the square of the summed gradient, a missing
    // bias or activation derivative) is off by 1e-2 or more.
    @Test(
        "equals the per-row loop over lossGradientSum",
        arguments: [
            ([Int](), Activation.identity), ([6], .tanh), ([6, 5], .tanh), ([7], .relu),
        ])
    func matchesPerRowLoop(hidden: [Int], activation: Activation) throws {
        let (model, x, labels) = try MLPDerivativeTests.randomProblem(hidden: hidden, activation: activation, rows: 11)
        let fast = model.squaredGradientSum(x, labels: labels)
        let loop = Self.perRowLoop(model, x, labels)
        let error = MLPDerivativeTests.relativeError(fast, loop)
        print("squared gradients \(hidden) \(activation): relative error \(error)")
        #expect(error <= 1e-12)
        #expect(fast.allSatisfy { $0 >= 0 })
        // The squared sum of rows is not the sum of squares: the check above distinguishes them.
        let summed = model.lossGradientSum(x, labels: labels).map { $0 * $0 }
        #expect(MLPDerivativeTests.relativeError(summed, loop) > 1e-2)
    }

    @Test("on the bundled digits MLP, every parameter equals the per-row loop")
    func digits() throws {
        let (model, x, labels) = NewtonMLPTests.trained
        let rows = Array(0..<40)
        let sub = x.selectingRows(rows)
        let subLabels = rows.map { labels[$0] }
        let error = MLPDerivativeTests.relativeError(model.squaredGradientSum(sub, labels: subLabels), Self.perRowLoop(model, sub, subLabels))
        #expect(error <= 1e-12)
    }
}
