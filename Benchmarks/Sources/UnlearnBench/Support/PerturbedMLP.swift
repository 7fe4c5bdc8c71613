import Foundation
import UnlearningCore

/// Perturbation statistics as the unlearning engine records them (docs/ARCHITECTURE.md, section 3.1), from a random
/// ReLU MLP: m noisy copies of one batch; per copy, Y = mean loss and the mean pre-activation of every unit.
struct PerturbedMLP {
    let y: [Double]
    let candidates: CandidateMatrix
    let hidden: Int

    init(samples m: Int, inputs: Int, hidden: Int, classes: Int, batch: Int, noise: Double, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        func gaussianMatrix(_ rows: Int, _ cols: Int, sd: Double) -> Matrix {
            Matrix(rows: rows, cols: cols, storage: (0..<(rows * cols)).map { _ in sd * rng.nextGaussian() })
        }
        let w1 = gaussianMatrix(hidden, inputs, sd: (2 / Double(inputs)).squareRoot())
        let b1 = (0..<hidden).map { _ in 0.1 * rng.nextGaussian() }
        let w2 = gaussianMatrix(classes, hidden, sd: (2 / Double(hidden)).squareRoot())
        let b2 = (0..<classes).map { _ in 0.1 * rng.nextGaussian() }
        let x = gaussianMatrix(batch, inputs, sd: 1)
        let labels = (0..<batch).map { _ in Int(rng.next(upperBound: UInt64(classes))) }
        let p = hidden + classes
        var columns = [Double](repeating: 0, count: m * p)
        var y = [Double](repeating: 0, count: m)
        let chunk = 64
        var start = 0
        while start < m {
            let copies = min(chunk, m - start)
            var input = Matrix(rows: copies * batch, cols: inputs)
            for c in 0..<copies {
                for b in 0..<batch {
                    for f in 0..<inputs {
                        input[c * batch + b, f] = x[b, f] + noise * rng.nextGaussian()
                    }
                }
            }
            var h = Matrix.product(input, w1, transposeB: true)
            for r in 0..<h.rows {
                for u in 0..<hidden { h[r, u] += b1[u] }
            }
            var a = h
            for k in a.storage.indices { a.storage[k] = max(a.storage[k], 0) }
            var o = Matrix.product(a, w2, transposeB: true)
            for r in 0..<o.rows {
                for k in 0..<classes { o[r, k] += b2[k] }
            }
            for c in 0..<copies {
                let sample = start + c
                var loss = 0.0
                for b in 0..<batch {
                    let r = c * batch + b
                    let top = (0..<classes).map { o[r, $0] }.max()!
                    let logSum = top + log((0..<classes).reduce(0) { $0 + exp(o[r, $1] - top) })
                    loss += logSum - o[r, labels[b]]
                    for u in 0..<hidden { columns[u * m + sample] += h[r, u] / Double(batch) }
                    for k in 0..<classes { columns[(hidden + k) * m + sample] += o[r, k] / Double(batch) }
                }
                y[sample] = loss / Double(batch)
            }
            start += copies
        }
        self.y = y
        self.candidates = try! CandidateMatrix(sampleCount: m, variableCount: p, columnMajor: columns)
        self.hidden = hidden
    }

    func unitName(_ j: Int) -> String {
        j < hidden ? "h\(j)" : "out\(j - hidden)"
    }
}
