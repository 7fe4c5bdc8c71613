import TestSupport
import Testing
import UnlearningCore

/// Forward pass, gradient, Gauss-Newton-vector product and squared per-row gradients against PyTorch's autograd
/// on the same weights and rows (Tests/python/torch_network.py, float64).
///
/// Tolerance: relative 1e-9, and 1e-8 for the Gauss-Newton product. Both sides compute in Float64 and differ only
/// in summation order (BLAS blocking, PyTorch's conv kernels), which moves results by ~1e-14 relative per sum; the
/// product's softmax-Hessian step p * (Jv - p.Jv) cancels, which amplified that to 1.4e-9 on resnet8. A wrong
/// term in any layer is off by 1e-2 or more.
@Suite("Network derivatives against PyTorch", .serialized, .computeBound)
struct NetworkTorchTests {
    static func close(_ a: [Double], _ b: [Double], _ what: String, tolerance: Double = 1e-9) {
        let error = Vector.distance(a, b) / max(Vector.norm(b), 1e-300)
        #expect(a.count == b.count && error < tolerance, "\(what): relative difference \(error)")
    }

    @Test("every layer type, the cnn and resnet8 presets and an MLP agree with autograd", arguments: ["plain", "residual", "cnn", "resnet8", "mlp"])
    func agrees(name: String) throws {
        let architecture: Architecture =
            switch name {
            case "plain": NetworkFixtures.plain
            case "residual": NetworkFixtures.residual
            case "mlp": Architecture(inputs: 12, hidden: [7, 5], classes: 4, activation: .tanh)
            default: try Architecture.preset(name, input: [1, 28, 28], classes: 10)!
            }
        let (model, x, labels) = try NetworkFixtures.problem(architecture, rows: name == "resnet8" ? 4 : 6)
        var rng = SeededGenerator(seed: 5)
        var v = [Double](repeating: 0, count: model.parameterCount)
        rng.fillGaussian(&v)
        let torch = try TorchReference.derivatives(model, x: x, labels: labels, v: v)
        Self.close(model.logits(x).storage, torch.logits, "\(name) logits")
        let objective = model.objective(x, labels: labels)
        #expect(abs(objective - torch.loss) <= 1e-9 * abs(torch.loss), "\(name) loss \(objective) vs \(torch.loss)")
        Self.close(model.objectiveGradient(x, labels: labels), torch.gradient, "\(name) gradient")
        Self.close(GaussNewtonOperator(model: model, rows: x).apply(v), torch.gaussNewtonProduct, "\(name) Gauss-Newton product", tolerance: 1e-8)
        Self.close(model.squaredGradientSum(x, labels: labels), torch.squaredGradients, "\(name) squared gradients")
    }
}
