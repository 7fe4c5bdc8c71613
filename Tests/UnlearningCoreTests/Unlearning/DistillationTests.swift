import Foundation
import TestSupport
import Testing

@testable import UnlearningCore

@Suite("SCRUB's distillation loss and its gradient", .computeBound)
struct DistillationTests {
    /// Direct evaluation of T^2 sum_j p_t,j log(p_t,j / p_s,j) with p = softmax(z / T), without the shifted
    /// log-softmax of `Network.distillation`.
    static func reference(student: [Double], teacher: [Double], t: Double) -> Double {
        func softmax(_ z: [Double]) -> [Double] {
            let e = z.map { exp($0 / t) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }
        let (ps, pt) = (softmax(student), softmax(teacher))
        return t * t * zip(pt, ps).reduce(0) { $0 + $1.0 * log($1.0 / $1.1) }
    }

    // Tolerance 1e-12: both sides are a few exp/log of numbers of order 1.
    @Test("the loss is T^2 KL(teacher || student), zero for equal logits, and its logit gradient sums to zero per row")
    func loss() {
        let student = Matrix(rows: 3, cols: 3, storage: [0, 0, 0, 1, -2, 0.5, 3, 3, 3])
        let teacher = Matrix(rows: 3, cols: 3, storage: [log(3), 0, 0, -1, 2, 0.5, 3, 3, 3])
        for t in [1.0, 2.0, 4.0] {
            let (losses, cotangent) = Network.distillation(student: student, teacher: teacher, temperature: t)
            for i in 0..<3 {
                let expected = Self.reference(
                    student: Array(student.storage[(3 * i)..<(3 * i + 3)]), teacher: Array(teacher.storage[(3 * i)..<(3 * i + 3)]), t: t)
                #expect(abs(losses[i] - expected) <= 1e-12, "row \(i), T \(t): \(losses[i]) vs \(expected)")
                #expect(abs(cotangent.storage[(3 * i)..<(3 * i + 3)].reduce(0, +)) <= 1e-12)
            }
            #expect(losses[0] > 0 && losses[1] > 0)
            #expect(losses[2] == 0 && cotangent.storage[6..<9].allSatisfy { $0 == 0 })
        }
    }

    /// Central differences with h = 1e-5 on every parameter of three small networks (dense, conv with max-pooling,
    /// residual). The truncation error is O(h^2) times the third derivative (about 1e-10 here) and the rounding error
    /// about 1e-16 |L| / h; 1e-6 relative to max(1, |g|) leaves room for both and still catches a wrong factor of T
    /// or a wrong sign, which change entries by O(|g|).
    @Test("the KL gradient with respect to the weights matches finite differences", arguments: [1.0, 4.0])
    func gradient(temperature t: Double) throws {
        let architectures = [Architecture(inputs: 5, hidden: [4], classes: 3), NetworkFixtures.plain, NetworkFixtures.residual]
        for architecture in architectures {
            let (model, x, _) = try NetworkFixtures.problem(architecture, rows: 4)
            var rng = SeededGenerator(seed: 17)
            var teacher = Matrix(rows: x.rows, cols: architecture.classes)
            rng.fillGaussian(&teacher.storage, sd: 2)
            func loss(_ network: Network) -> Double {
                Network.distillation(student: network.logits(x), teacher: teacher, temperature: t).losses.reduce(0, +)
            }
            let g = model.cotangentGradientSum(x) { pass, rows in
                Network.distillation(student: pass.logits, teacher: teacher.selectingRows(rows), temperature: t).cotangent
            }
            #expect(Vector.norm(g) > 1e-3, "the test needs a non-trivial gradient")
            let h = 1e-5
            var worst = 0.0
            for p in model.theta.indices {
                var plus = model
                plus.theta[p] += h
                var minus = model
                minus.theta[p] -= h
                let fd = (loss(plus) - loss(minus)) / (2 * h)
                worst = max(worst, abs(fd - g[p]) / max(1, abs(g[p])))
            }
            #expect(worst <= 1e-6, "\(architecture.parameterCount) parameters, T \(t): worst relative error \(worst)")
        }
    }
}
