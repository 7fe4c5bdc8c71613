import TestSupport
import Testing
import UnlearningCore

/// Every layer type's derivatives against central finite differences in Float64.
///
/// Tolerance: relative error < 1e-6. Central differences with step h = 1e-5 have truncation error O(h^2 f''') and
/// rounding error O(eps f / h), both ~1e-10 relative on these O(1) losses; a wrong term in any layer's backward or
/// forward-mode pass shows up at 1e-2 or worse. The inputs are continuous random values, so no ReLU input or
/// max-pool window sits within h of a kink or a tie (the seeds are fixed).
@Suite("Network derivatives against finite differences", .computeBound)
struct NetworkDerivativeTests {
    static let h = 1e-5

    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        Vector.distance(a, b) / max(Vector.norm(b), 1e-300)
    }

    @Test("the objective's gradient equals central differences", arguments: ["plain", "residual"])
    func gradient(name: String) throws {
        let (model, x, labels) = try NetworkFixtures.problem(name == "plain" ? NetworkFixtures.plain : NetworkFixtures.residual)
        let analytic = model.objectiveGradient(x, labels: labels)
        var numeric = [Double](repeating: 0, count: model.parameterCount)
        for j in model.theta.indices {
            var plus = model
            var minus = model
            plus.theta[j] += Self.h
            minus.theta[j] -= Self.h
            numeric[j] = (plus.objective(x, labels: labels) - minus.objective(x, labels: labels)) / (2 * Self.h)
        }
        let error = Self.relativeError(analytic, numeric)
        #expect(error < 1e-6, "\(name): relative error \(error) over \(model.parameterCount) parameters")
    }

    /// (G/n) v = (1/n) sum_i J_i^T H_z,i J_i v, with J_i = d logits_i / d theta by central differences and
    /// H_z = diag(p) - p p^T; over all parameters and over a block of slices from three layers.
    @Test("Gauss-Newton-vector products equal the definition", arguments: ["plain", "residual"])
    func gaussNewton(name: String) throws {
        let (model, x, _) = try NetworkFixtures.problem(name == "plain" ? NetworkFixtures.plain : NetworkFixtures.residual)
        let p = model.parameterCount
        let k = model.architecture.classes
        var jacobians = [Matrix](repeating: Matrix(rows: k, cols: p), count: x.rows)
        for j in 0..<p {
            var plus = model
            var minus = model
            plus.theta[j] += Self.h
            minus.theta[j] -= Self.h
            let lp = plus.logits(x)
            let lm = minus.logits(x)
            for i in 0..<x.rows {
                for r in 0..<k { jacobians[i][r, j] = (lp[i, r] - lm[i, r]) / (2 * Self.h) }
            }
        }
        let probabilities = model.forward(x).probabilities
        var rng = SeededGenerator(seed: 99)
        var v = [Double](repeating: 0, count: p)
        rng.fillGaussian(&v)
        func definition(_ v: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: p)
            for i in 0..<x.rows {
                let jv = (0..<k).map { r in (0..<p).reduce(0.0) { $0 + jacobians[i][r, $1] * v[$1] } }
                let dot = (0..<k).reduce(0.0) { $0 + probabilities[i, $1] * jv[$1] }
                let u = (0..<k).map { probabilities[i, $0] * (jv[$0] - dot) }
                for j in 0..<p { out[j] += (0..<k).reduce(0.0) { $0 + jacobians[i][$1, j] * u[$1] } / Double(x.rows) }
            }
            return out
        }
        let full = GaussNewtonOperator(model: model, rows: x).apply(v)
        let fullError = Self.relativeError(full, definition(v))
        #expect(fullError < 1e-6, "\(name), every parameter: relative error \(fullError)")

        let layers = model.architecture.parametricLayers.count
        let slices = [Slice(layer: 0, unit: 1), Slice(layer: layers / 2, unit: 0), Slice(layer: layers - 1, unit: 2)]
        let block = model.gather(v, slices: slices)
        var scattered = [Double](repeating: 0, count: p)
        for s in slices { for q in model.architecture.parameterRange(of: s) { scattered[q] = v[q] } }
        let restricted = GaussNewtonOperator(model: model, rows: x, slices: slices).apply(block)
        let blockError = Self.relativeError(restricted, model.gather(definition(scattered), slices: slices))
        #expect(blockError < 1e-6, "\(name), block \(slices): relative error \(blockError)")
    }

    /// The per-sample squares of a conv's gradient sum over positions first; checked against one backward pass
    /// per row.
    @Test("squared per-row gradients equal a loop over rows", arguments: ["plain", "residual"])
    func squaredGradients(name: String) throws {
        let (model, x, labels) = try NetworkFixtures.problem(name == "plain" ? NetworkFixtures.plain : NetworkFixtures.residual)
        var loop = [Double](repeating: 0, count: model.parameterCount)
        for i in 0..<x.rows {
            let g = model.lossGradientSum(x.selectingRows([i]), labels: [labels[i]])
            for j in g.indices { loop[j] += g[j] * g[j] }
        }
        let error = Self.relativeError(model.squaredGradientSum(x, labels: labels), loop)
        #expect(error < 1e-12, "\(name): relative error \(error)")
    }

    /// The whole resnet8 preset (77,418 parameters): 60 gradient entries spread over every layer against central
    /// differences of F, and the Gauss-Newton bilinear form w^T (G/n) v against (1/n) sum_i (J_i w)^T H_z,i (J_i v)
    /// with J_i v and J_i w by central differences of the logits along v and w, which checks every layer's forward-
    /// and reverse-mode products together without forming J.
    @Test("resnet8: gradient entries and the Gauss-Newton form equal finite differences")
    func resnet8() throws {
        let architecture = try #require(try Architecture.preset("resnet8", input: [1, 28, 28], classes: 10))
        let (model, x, labels) = try NetworkFixtures.problem(architecture, rows: 3)
        let analytic = model.objectiveGradient(x, labels: labels)
        var rng = SeededGenerator(seed: 21)
        var indices: [Int] = []
        for layer in architecture.parametricLayers {
            for _ in 0..<5 { indices.append(layer.offset + Int(rng.next() % UInt64(layer.units * (layer.fanIn + 1)))) }
        }
        // A smaller step than the other tests: a stem weight moves 2,352 ReLU inputs (784 positions, 3 rows), and at
        // h = 1e-5 one of them crossed its kink (entry 93: -0.2326 analytic, -0.2390 by differences; PyTorch agrees
        // with the analytic value to 1e-9). Rounding at h = 1e-7 is ~1e-8 absolute, 1e-10 of the gradient's norm.
        let step = 1e-7
        var numeric: [Double] = []
        for j in indices {
            var plus = model
            var minus = model
            plus.theta[j] += step
            minus.theta[j] -= step
            numeric.append((plus.objective(x, labels: labels) - minus.objective(x, labels: labels)) / (2 * step))
        }
        let gradientError = Self.relativeError(indices.map { analytic[$0] }, numeric)
        let worst = indices.indices.max { abs(analytic[indices[$0]] - numeric[$0]) < abs(analytic[indices[$1]] - numeric[$1]) }!
        #expect(
            gradientError < 1e-6,
            "resnet8 gradient, \(indices.count) entries: relative error \(gradientError); worst entry \(indices[worst]): \(analytic[indices[worst]]) vs \(numeric[worst]), norm \(Vector.norm(numeric))"
        )

        var v = [Double](repeating: 0, count: model.parameterCount)
        var w = v
        rng.fillGaussian(&v)
        rng.fillGaussian(&w)
        // Unit directions: the step h moves the parameters by h in norm, as it does for one entry.
        Vector.scale(&v, by: 1 / Vector.norm(v))
        Vector.scale(&w, by: 1 / Vector.norm(w))
        func directional(_ d: [Double]) -> Matrix {
            var plus = model
            var minus = model
            Vector.axpy(Self.h, d, &plus.theta)
            Vector.axpy(-Self.h, d, &minus.theta)
            var out = plus.logits(x)
            out.add(minus.logits(x), scaledBy: -1)
            out.scale(by: 1 / (2 * Self.h))
            return out
        }
        let jv = directional(v)
        let jw = directional(w)
        let p = model.forward(x).probabilities
        var form = 0.0
        for i in 0..<x.rows {
            let dot = (0..<10).reduce(0.0) { $0 + p[i, $1] * jv[i, $1] }
            for r in 0..<10 { form += jw[i, r] * p[i, r] * (jv[i, r] - dot) }
        }
        form /= Double(x.rows)
        let product = Vector.dot(w, GaussNewtonOperator(model: model, rows: x).apply(v))
        #expect(abs(product - form) <= 1e-6 * abs(form), "resnet8 w^T G v: \(product) against finite differences \(form)")
    }

    @Test("chunked passes over many rows equal one pass")
    func chunking() throws {
        let (model, x, labels) = try NetworkFixtures.problem(try Architecture.preset("cnn", input: [1, 28, 28], classes: 10)!, rows: 300)
        #expect(model.rowsPerChunk < 300, "the cnn preset should be chunked at 300 rows")
        var whole = [Double](repeating: 0, count: model.parameterCount)
        let pass = model.forward(x)
        whole = model.lossGradientSum(forward: pass, labels: labels)
        let chunked = model.lossGradientSum(x, labels: labels)
        #expect(Self.relativeError(chunked, whole) < 1e-12)
        #expect(model.logits(x).storage.elementsEqual(pass.logits.storage) { abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
    }
}
