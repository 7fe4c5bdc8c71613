/// One model's predictions on a set of rows from one forward pass: each row's loss and whether its prediction is
/// right. An update reads the validation rows' several times (the report, the audit, the per-update guard), and
/// the residual rows' accuracy comes with the residual gradient's pass, so each model passes over each set once.
struct RowPredictions: Sendable {
    /// Cross-entropy of each row (no L2 term).
    let losses: [Double]
    let correct: [Bool]

    init(logits: Matrix, labels: [Int]) {
        precondition(labels.count == logits.rows, "labels: \(labels.count), rows: \(logits.rows)")
        losses = Network.perRowLoss(logits: logits, labels: labels)
        correct = zip(Network.predictions(logits: logits), labels).map { $0 == $1 }
    }

    init(_ model: Network, _ x: Matrix, labels: [Int]) {
        self.init(logits: model.logits(x), labels: labels)
    }

    /// The fraction of rows predicted right (0 for no rows, as `Network.accuracy`).
    var accuracy: Double { correct.isEmpty ? 0 : Double(correct.filter { $0 }.count) / Double(correct.count) }

    /// The fraction of `rows` (indices into these rows) predicted right.
    func accuracy(over rows: [Int]) -> Double {
        rows.isEmpty ? 0 : Double(rows.filter { correct[$0] }.count) / Double(rows.count)
    }

    var meanLoss: Double { losses.isEmpty ? 0 : losses.reduce(0, +) / Double(losses.count) }
}
