import Foundation

/// A network (docs/NETWORKS.md) with softmax cross-entropy loss and L2 coefficient `lambda`: dense, conv, pooling
/// and residual layers; a dense stack is the MLP of earlier releases, one dense layer logistic regression.
///
/// All parameters live in one flat vector `theta`: for each parametric layer in order, for each output unit or
/// filter, its weights followed by its bias. A slice (one unit or filter) is therefore a contiguous range, which
/// keeps block updates, noise and checkpoints simple, and a layer's weight matrix is the row-major view of `theta`
/// at its offset with leading dimension `fanIn + 1`, which BLAS reads in place.
///
/// The training objective (docs/ARCHITECTURE.md, section 3) is F(theta) = (1/n) sum_i loss(theta, z_i) + (lambda/2) ||theta||^2,
/// biases included in the penalty, so that logistic regression is lambda-strongly convex in every parameter.
public struct Network: Sendable, Equatable {
    public let architecture: Architecture
    public var theta: [Double]
    public var lambda: Double
    let program: NetworkProgram

    public init(architecture: Architecture, theta: [Double], lambda: Double) throws(ModelError) {
        guard theta.count == architecture.parameterCount else {
            throw ModelError("parameter vector has \(theta.count) values, the architecture needs \(architecture.parameterCount)")
        }
        guard lambda >= 0, lambda.isFinite else { throw ModelError("lambda must be a finite number >= 0, got \(lambda)") }
        self.architecture = architecture
        self.theta = theta
        self.lambda = lambda
        self.program = NetworkProgram(architecture)
    }

    /// He-uniform weights for layers followed by a ReLU, Glorot-uniform for the others (fan-out of a conv:
    /// filters x k^2, as PyTorch counts it); zero biases. Deterministic.
    public init(architecture: Architecture, lambda: Double, seed: UInt64) throws(ModelError) {
        var rng = SeededGenerator(seed: seed)
        var theta = [Double](repeating: 0, count: architecture.parameterCount)
        for layer in architecture.parametricLayers {
            let limit: Double =
                layer.feedsReLU
                ? (6.0 / Double(layer.fanIn)).squareRoot()
                : (6.0 / Double(layer.fanIn + layer.fanOut)).squareRoot()
            for j in 0..<layer.units {
                for t in 0..<layer.fanIn {
                    theta[layer.offset + j * (layer.fanIn + 1) + t] = (2 * rng.nextUniform() - 1) * limit
                }
            }
        }
        try self.init(architecture: architecture, theta: theta, lambda: lambda)
    }

    public var parameterCount: Int { theta.count }

    public static func == (a: Network, b: Network) -> Bool {
        a.architecture == b.architecture && a.theta == b.theta && a.lambda == b.lambda
    }

    /// Rows per pass when a function walks many rows: all of them for dense stacks, a bounded number for image
    /// networks, whose activations and im2col patches take thousands of values per row.
    public var rowsPerChunk: Int {
        let perRow = program.valuesPerSample
        return perRow <= 4096 ? Int.max : max(16, (1 << 23) / perRow)
    }

    /// Calls `body` with consecutive chunks of at most `rowsPerChunk` rows of `x` (and their range).
    func forEachChunk(_ x: Matrix, _ body: (Matrix, Range<Int>) -> Void) {
        let chunk = rowsPerChunk
        if x.rows <= chunk {
            body(x, 0..<x.rows)
            return
        }
        var start = 0
        while start < x.rows {
            let end = min(x.rows, start + chunk)
            body(x.selectingRows(start..<end), start..<end)
            start = end
        }
    }
}

extension Network {
    /// Forward pass over the rows of `x` (n x inputs, already standardised, images flat in CHW order).
    public func forward(_ x: Matrix) -> ForwardPass {
        precondition(x.cols == architecture.inputs, "input has \(x.cols) features, model expects \(architecture.inputs)")
        var caches: [NetworkProgram.Cache] = []
        let empty = Matrix(rows: 0, cols: 0)
        var inputs = [Matrix](repeating: empty, count: architecture.parametricLayers.count)
        var outputs = inputs
        let logits = theta.withUnsafeBufferPointer { th in
            NetworkProgram.forward(
                program.nodes, x, samples: x.rows, theta: th.baseAddress!, architecture: architecture, caches: &caches,
                layerInputs: &inputs, layerOutputs: &outputs)
        }
        return ForwardPass(
            caches: caches, samples: x.rows, layerInputs: inputs, layerOutputs: outputs, logits: logits,
            probabilities: Self.softmax(logits))
    }

    /// The logits of the rows of `x`, computed in chunks.
    public func logits(_ x: Matrix) -> Matrix {
        var out = Matrix(rows: x.rows, cols: architecture.classes)
        forEachChunk(x) { chunk, range in
            let logits = forward(chunk).logits
            out.storage.replaceSubrange((range.lowerBound * out.cols)..<(range.upperBound * out.cols), with: logits.storage)
        }
        return out
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
        Self.perRowLoss(logits: logits(x), labels: labels)
    }

    public static func perRowLoss(logits: Matrix, labels: [Int]) -> [Double] {
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
    public func predict(_ x: Matrix) -> [Int] { Self.predictions(logits: logits(x)) }

    /// The class of the largest logit in each row (the first on ties).
    static func predictions(logits: Matrix) -> [Int] {
        (0..<logits.rows).map { i in
            var best = 0
            for j in 1..<logits.cols where logits[i, j] > logits[i, best] { best = j }
            return best
        }
    }

    /// F and the fraction of rows predicted correctly, from one pass over the rows.
    public func objectiveAndAccuracy(_ x: Matrix, labels: [Int]) -> (objective: Double, accuracy: Double) {
        let rows = RowPredictions(self, x, labels: labels)
        let norm = Vector.norm(theta)
        return (rows.meanLoss + 0.5 * lambda * norm * norm, rows.accuracy)
    }

    /// Fraction of rows predicted correctly (0 for no rows).
    public func accuracy(_ x: Matrix, labels: [Int]) -> Double {
        guard x.rows > 0 else { return 0 }
        let predicted = predict(x)
        return Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(x.rows)
    }
}
