import TestSupport
import Testing
import UnlearningCore

@Suite("Unlearner on an MLP (MNIST extract)", .serialized, .computeBound)
struct MLPUnlearningTests {
    static let trained: (state: UnlearningState, train: Dataset) = {
        let (train, validation, _) = BundledData.split(BundledData.mnist)
        var model = try! Network(architecture: Architecture(inputs: 784, hidden: [128], classes: 10), lambda: 1e-3, seed: 1)
        var options = Trainer.AdamOptions()
        options.epochs = 20
        _ = Trainer.adam(&model, x: train.features, labels: train.labels, options: options)
        let state = UnlearningState(
            model: model, trainFeatures: train.features, trainLabels: train.labels,
            validationFeatures: validation.features, validationLabels: validation.labels
        )
        return (state, train)
    }()

    /// End to end on a one-hidden-layer MLP, slices may come from both layers, and
    /// validation accuracy stays within 2 points.
    @Test("forgetting subjects with L-FOCI runs end to end and keeps validation accuracy within 2 points")
    func forgetSubjects() throws {
        let (base, train) = Self.trained
        var options = UnlearningOptions()
        options.method = .lfoci
        options.noise = false
        options.hessianRows = 1000
        var layersSeen = Set<Int>()
        for subject in UnlearningFixtures.subjects(train, count: 3) {
            var state = base
            let report = try Unlearner.forget(rows: subject.rows, in: &state, options: options)
            print(
                "MNIST MLP subject \(subject.name): \(report.slices.count) slices \(report.slices), block \(report.blockSize), "
                    + "validation \(report.validationAccuracyBefore!) -> \(report.validationAccuracyAfter!), "
                    + "forgotten loss \(report.forgottenLossBefore) -> \(report.forgottenLossAfter), "
                    + "residual bound \(report.residualBound) (certified: \(report.certified)), \(report.seconds)")
            #expect(report.outcome == .applied)
            #expect(!report.slices.isEmpty)
            #expect(report.blockSize <= options.maxBlockParameters)
            #expect(!report.certified)
            let drop = report.validationAccuracyBefore! - report.validationAccuracyAfter!
            #expect(drop <= 0.02)
            layersSeen.formUnion(report.slices.map(\.layer))
            // Every reported slice is a real unit of the network, and the block size is their parameter count.
            #expect(report.blockSize == state.model.blockSize(report.slices))
        }
        print("layers selected across subjects: \(layersSeen.sorted())")
    }
}
