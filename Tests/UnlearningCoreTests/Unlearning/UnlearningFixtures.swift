import UnlearningCore

/// Models trained on the bundled data, shared by the unlearning tests (trained once per process).
enum UnlearningFixtures {
    static let lbfgs: Trainer.LBFGSOptions = {
        var options = Trainer.LBFGSOptions()
        options.gradientTolerance = 5e-10
        return options
    }()

    /// Logistic regression on digits, lambda = 0.01, trained to ||grad F|| < 1e-8.
    static let digitsLogReg: (state: UnlearningState, train: Dataset) = {
        let (train, validation, _) = BundledData.split(BundledData.digits)
        var model = try! Network(architecture: Architecture(inputs: 64, hidden: [], classes: 10), lambda: 0.01, seed: 1)
        let report = Trainer.lbfgs(&model, x: train.features, labels: train.labels, options: lbfgs)
        precondition(report.gradientNorm < 1e-8, "fixture did not converge: \(report.gradientNorm)")
        let state = UnlearningState(
            model: model, trainFeatures: train.features, trainLabels: train.labels,
            validationFeatures: validation.features, validationLabels: validation.labels
        )
        return (state, train)
    }()

    /// The rows of the first `count` subjects (sorted by name) of a training set.
    static func subjects(_ data: Dataset, count: Int) -> [(name: String, rows: [Int])] {
        let rows = data.rowsBySubject
        return rows.keys.sorted().prefix(count).map { ($0, rows[$0]!) }
    }

    /// The exactly retrained optimum without `rows`, from a fresh initialisation.
    static func retrained(_ state: UnlearningState, without rows: [Int]) -> Network {
        let removing = Set(rows)
        let keep = state.residualIndices.filter { !removing.contains($0) }
        var model = try! Network(architecture: state.model.architecture, lambda: state.model.lambda, seed: 99)
        let report = Trainer.lbfgs(
            &model, x: state.trainFeatures.selectingRows(keep), labels: keep.map { state.trainLabels[$0] }, options: lbfgs
        )
        precondition(report.gradientNorm < 1e-8, "retrain did not converge: \(report.gradientNorm)")
        return model
    }
}
