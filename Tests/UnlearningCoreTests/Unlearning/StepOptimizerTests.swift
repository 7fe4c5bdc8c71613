import Foundation
import TestSupport
import Testing

@testable import UnlearningCore

@Suite("the gradient-step methods' optimiser and mini-batches", .computeBound)
struct StepOptimizerTests {
    // Exact for SGD (one multiply-add per entry); Adam's first step is lr g / (|g| + epsilon) after bias correction
    // (Kingma and Ba, Algorithm 1), compared to 1e-15 relative, the rounding of a few operations.
    @Test("SGD and Adam steps follow their update rules and leave parameters outside the index set untouched")
    func rules() {
        let theta: [Double] = [1, -2, 3, 0.5]
        let g: [Double] = [0.4, -0.1, 2, 1e-3]
        var sgd = StepOptimizer(.sgd, learningRate: 0.1, parameterCount: 4, indices: [0, 2])
        var a = theta
        sgd.step(&a, gradient: g)
        #expect(a == [1 - 0.1 * 0.4, -2, 3 - 0.1 * 2, 0.5])

        var adam = StepOptimizer(.adam, learningRate: 0.01, parameterCount: 4)
        var b = theta
        adam.step(&b, gradient: g)
        for i in 0..<4 {
            let expected = theta[i] - 0.01 * g[i] / (abs(g[i]) + StepOptimizer.epsilon)
            #expect(abs(b[i] - expected) <= 1e-15 * abs(expected), "entry \(i): \(b[i]) vs \(expected)")
        }
        // Second step with the same gradient: m and v are the bias-corrected g and g^2 again, so the step repeats.
        let first = zip(b, theta).map { $0 - $1 }
        var c = b
        adam.step(&c, gradient: g)
        for i in 0..<4 { #expect(abs((c[i] - b[i]) - first[i]) <= 1e-12 * abs(first[i]), "entry \(i)") }
        #expect(adam.steps == 2 && sgd.steps == 1)
    }

    @Test("every pass of the mini-batches covers each row once, in ascending batches, reproducibly for a seed")
    func batches() {
        var batches = MiniBatches(count: 10, seed: 3)
        var again = MiniBatches(count: 10, seed: 3)
        var other = MiniBatches(count: 10, seed: 4)
        var passes: [[[Int]]] = []
        var differs = false
        for _ in 0..<3 {
            var pass: [[Int]] = []
            for _ in 0..<3 {
                let batch = batches.next(4)
                #expect(batch == again.next(4))
                if batch != other.next(4) { differs = true }
                #expect(batch == batch.sorted())
                pass.append(batch)
            }
            // 10 rows in batches of at most 4: 4, 4, 2; a batch never spans two passes.
            #expect(pass.map(\.count) == [4, 4, 2])
            #expect(pass.flatMap { $0 }.sorted() == Array(0..<10))
            passes.append(pass)
        }
        #expect(differs)
        #expect(passes[0] != passes[1] || passes[1] != passes[2], "each pass is reshuffled")
    }

    @Test("neggrad with SGD runs and differs from neggrad with Adam")
    func neggradSGD() throws {
        let (base, _, memorised) = GradientMethodTests.trained
        var options = GradientMethodTests.options(.neggrad)
        var adam = base
        let adamReport = try Unlearner.update(rows: memorised, in: &adam, options: options)
        options.neggradOptimizer = .sgd
        options.neggradLearningRate = 0.05
        var sgd = base
        let sgdReport = try Unlearner.update(rows: memorised, in: &sgd, options: options)
        #expect(sgdReport.optimizerSteps == options.neggradSteps && adamReport.optimizerSteps == options.neggradSteps)
        #expect(sgd.model.theta != adam.model.theta && sgd.model.theta != base.model.theta)
        #expect(sgdReport.forgottenLossAfter > sgdReport.forgottenLossBefore)
    }
}
