import Dispatch
import TestSupport
import Testing
import UnlearningCore

@Suite("Trainer on the bundled datasets", .serialized, .computeBound)
struct TrainerTests {
    @Test("L-BFGS logistic regression on digits: gradient norm < 1e-8, validation accuracy >= 0.95")
    func logisticRegressionDigits() throws {
        let (train, validation, _) = BundledData.split(BundledData.digits)
        var model = try Network(architecture: Architecture(inputs: 64, hidden: [], classes: 10), lambda: 0.01, seed: 1)
        var options = Trainer.LBFGSOptions()
        options.gradientTolerance = 1e-9
        let report = Trainer.lbfgs(&model, x: train.features, labels: train.labels, options: options)
        let accuracy = model.accuracy(validation.features, labels: validation.labels)
        print(
            "digits LR: \(report.steps) L-BFGS iterations, ||grad F|| = \(report.gradientNorm), validation accuracy \(accuracy), \(report.seconds) s")
        #expect(report.gradientNorm < 1e-8)
        #expect(accuracy >= 0.95)
    }

    @Test("Adam MLP 784-128-10 on the MNIST extract: validation accuracy >= 0.90")
    func mlpMNIST() throws {
        let (train, validation, _) = BundledData.split(BundledData.mnist)
        var model = try Network(architecture: Architecture(inputs: 784, hidden: [128], classes: 10), lambda: 1e-4, seed: 1)
        var options = Trainer.AdamOptions()
        options.epochs = 20
        let report = Trainer.adam(&model, x: train.features, labels: train.labels, options: options)
        let accuracy = model.accuracy(validation.features, labels: validation.labels)
        print("MNIST MLP: \(report.steps) epochs, ||grad F|| = \(report.gradientNorm), validation accuracy \(accuracy), \(report.seconds) s")
        #expect(accuracy >= 0.90)
    }

    @Test("Adam is deterministic given the seed")
    func deterministic() throws {
        let (train, _, _) = BundledData.split(BundledData.digits)
        var options = Trainer.AdamOptions()
        options.epochs = 2
        options.seed = 42
        var a = try Network(architecture: Architecture(inputs: 64, hidden: [16], classes: 10), lambda: 1e-3, seed: 3)
        var b = a
        _ = Trainer.adam(&a, x: train.features, labels: train.labels, options: options)
        _ = Trainer.adam(&b, x: train.features, labels: train.labels, options: options)
        #expect(a.theta == b.theta)
        options.seed = 43
        var c = try Network(architecture: Architecture(inputs: 64, hidden: [16], classes: 10), lambda: 1e-3, seed: 3)
        _ = Trainer.adam(&c, x: train.features, labels: train.labels, options: options)
        #expect(a.theta != c.theta)
    }
}
