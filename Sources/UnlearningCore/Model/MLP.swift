import COpenBLAS
import Foundation

/// A sequential multi-layer perceptron with softmax cross-entropy loss and L2 coefficient `lambda`.
///
/// All parameters live in one flat vector `theta`: for each layer in order, for each output unit, the unit's weight
/// row (fan-in values) followed by its bias. A slice (one unit) is therefore a contiguous range, which keeps block
/// updates, noise and checkpoints simple. Layer `l`'s weight matrix is the row-major view of `theta` at
/// `parameterOffset(ofLayer: l)` with leading dimension `fanIn + 1`; BLAS reads it in place.
///
/// The training objective (docs/ARCHITECTURE.md, section 3) is F(theta) = (1/n) sum_i loss(theta, z_i) + (lambda/2) ||theta||^2,
/// biases included in the penalty, so that logistic regression is lambda-strongly convex in every parameter.
public struct MLP: Sendable, Equatable {
    public let architecture: Architecture
    public var theta: [Double]
    public var lambda: Double

    public init(architecture: Architecture, theta: [Double], lambda: Double) throws(ModelError) {
        try architecture.validate()
        guard theta.count == architecture.parameterCount else {
            throw ModelError("parameter vector has \(theta.count) values, the architecture needs \(architecture.parameterCount)")
        }
        guard lambda >= 0, lambda.isFinite else { throw ModelError("lambda must be a finite number >= 0, got \(lambda)") }
        self.architecture = architecture
        self.theta = theta
        self.lambda = lambda
    }

    /// Glorot-uniform weights for identity/tanh layers, He-uniform for ReLU layers; zero biases. Deterministic.
    public init(architecture: Architecture, lambda: Double, seed: UInt64) throws(ModelError) {
        try architecture.validate()
        var rng = SeededGenerator(seed: seed)
        var theta = [Double](repeating: 0, count: architecture.parameterCount)
        for (l, layer) in architecture.layers.enumerated() {
            let fanIn = architecture.fanIn(l)
            let limit: Double =
                layer.activation == .relu
                ? (6.0 / Double(fanIn)).squareRoot()
                : (6.0 / Double(fanIn + layer.units)).squareRoot()
            let offset = architecture.parameterOffset(ofLayer: l)
            for j in 0..<layer.units {
                for t in 0..<fanIn {
                    theta[offset + j * (fanIn + 1) + t] = (2 * rng.nextUniform() - 1) * limit
                }
            }
        }
        try self.init(architecture: architecture, theta: theta, lambda: lambda)
    }

    public var parameterCount: Int { theta.count }
}

extension MLP {
    /// Forward pass over the rows of `x` (n x inputs, already standardised).
    public func forward(_ x: Matrix) -> ForwardPass {
        precondition(x.cols == architecture.inputs, "input has \(x.cols) features, model expects \(architecture.inputs)")
        var pre: [Matrix] = []
        var act: [Matrix] = []
        pre.reserveCapacity(architecture.layers.count)
        act.reserveCapacity(architecture.layers.count)
        theta.withUnsafeBufferPointer { th in
            var input = x
            for (l, layer) in architecture.layers.enumerated() {
                let fanIn = architecture.fanIn(l)
                let w = th.baseAddress! + architecture.parameterOffset(ofLayer: l)
                var z = Matrix(rows: x.rows, cols: layer.units)
                if x.rows > 0 {
                    // Z = A W^T with W read in place (leading dimension fanIn + 1), then Z += 1 b^T.
                    input.storage.withUnsafeBufferPointer { a in
                        z.storage.withUnsafeMutableBufferPointer { zp in
                            cblas_dgemm(
                                CblasRowMajor, CblasNoTrans, CblasTrans,
                                Int32(x.rows), Int32(layer.units), Int32(fanIn),
                                1, a.baseAddress, Int32(fanIn), w, Int32(fanIn + 1),
                                0, zp.baseAddress, Int32(layer.units)
                            )
                        }
                    }
                    z.addToEachRow(UnsafeBufferPointer(start: w + fanIn, count: (layer.units - 1) * (fanIn + 1) + 1), stride: fanIn + 1)
                }
                var a = z
                layer.activation.apply(&a.storage)
                pre.append(z)
                act.append(a)
                input = a
            }
        }
        return ForwardPass(preActivations: pre, activations: act, probabilities: Self.softmax(act.last!))
    }

    /// Row-wise softmax, shifted by the row maximum for stability.
    static func softmax(_ logits: Matrix) -> Matrix {
        var p = logits
        let k = logits.cols
        p.storage.withUnsafeMutableBufferPointer { buf in
            for i in 0..<logits.rows {
                let row = UnsafeMutableBufferPointer(rebasing: buf[(i * k)..<((i + 1) * k)])
                let m = row.max() ?? 0
                var s = 0.0
                for j in 0..<k {
                    row[j] = exp(row[j] - m)
                    s += row[j]
                }
                for j in 0..<k { row[j] /= s }
            }
        }
        return p
    }

    /// Cross-entropy loss of each row (without the L2 term), computed from the logits as logsumexp(z) - z_y.
    public func perRowLoss(_ x: Matrix, labels: [Int]) -> [Double] {
        Self.perRowLoss(logits: forward(x).activations.last!, labels: labels)
    }

    static func perRowLoss(logits: Matrix, labels: [Int]) -> [Double] {
        precondition(labels.count == logits.rows, "labels: \(labels.count), rows: \(logits.rows)")
        let k = logits.cols
        return (0..<logits.rows).map { i in
            var m = -Double.infinity
            for j in 0..<k { m = max(m, logits[i, j]) }
            var s = 0.0
            for j in 0..<k { s += exp(logits[i, j] - m) }
            return m + log(s) - logits[i, labels[i]]
        }
    }

    /// The objective F = mean per-row loss + (lambda/2) ||theta||^2 over the given rows.
    public func objective(_ x: Matrix, labels: [Int]) -> Double {
        let losses = perRowLoss(x, labels: labels)
        let mean = losses.isEmpty ? 0 : losses.reduce(0, +) / Double(losses.count)
        let norm = Vector.norm(theta)
        return mean + 0.5 * lambda * norm * norm
    }

    /// Predicted class of each row.
    public func predict(_ x: Matrix) -> [Int] {
        let logits = forward(x).activations.last!
        return (0..<logits.rows).map { i in
            var best = 0
            for j in 1..<logits.cols where logits[i, j] > logits[i, best] { best = j }
            return best
        }
    }

    /// Fraction of rows predicted correctly (0 for no rows).
    public func accuracy(_ x: Matrix, labels: [Int]) -> Double {
        guard x.rows > 0 else { return 0 }
        let predicted = predict(x)
        return Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(x.rows)
    }
}
