import Foundation

/// The first-order optimiser of the gradient-step methods (`finetune`, `neggrad`, `scrub`, `salun`): Adam (Kingma
/// and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, Algorithm 1, with `Trainer.adam`'s constants)
/// or plain SGD, restricted to a set of parameter indices (nil: all). Parameters outside the set are never written
/// and keep no moments.
struct StepOptimizer {
    let kind: UnlearningOptions.Optimizer
    let learningRate: Double
    /// The parameters the optimiser may change, ascending (nil: every parameter).
    let indices: [Int]?
    private var m: [Double]
    private var v: [Double]
    private(set) var steps = 0

    static let beta1 = 0.9
    static let beta2 = 0.999
    static let epsilon = 1e-8

    init(_ kind: UnlearningOptions.Optimizer, learningRate: Double, parameterCount: Int, indices: [Int]? = nil) {
        self.kind = kind
        self.learningRate = learningRate
        self.indices = indices
        let moments = kind == .adam ? parameterCount : 0
        m = [Double](repeating: 0, count: moments)
        v = m
    }

    /// One descent step theta -= rate * direction(g) on the optimiser's parameters.
    mutating func step(_ theta: inout [Double], gradient g: [Double]) {
        precondition(g.count == theta.count, "gradient has \(g.count) values, theta \(theta.count)")
        steps += 1
        switch kind {
        case .sgd:
            if let indices {
                for i in indices { theta[i] -= learningRate * g[i] }
            } else {
                Vector.axpy(-learningRate, g, &theta)
            }
        case .adam:
            let c1 = 1 - pow(Self.beta1, Double(steps))
            let c2 = 1 - pow(Self.beta2, Double(steps))
            func update(_ i: Int) {
                m[i] = Self.beta1 * m[i] + (1 - Self.beta1) * g[i]
                v[i] = Self.beta2 * v[i] + (1 - Self.beta2) * g[i] * g[i]
                theta[i] -= learningRate * (m[i] / c1) / ((v[i] / c2).squareRoot() + Self.epsilon)
            }
            if let indices {
                for i in indices { update(i) }
            } else {
                for i in theta.indices { update(i) }
            }
        }
    }

    /// The indices of the parameters of `slices`, ascending (the scope of a slice-restricted update).
    static func indices(of slices: [Slice], in architecture: Architecture) -> [Int] {
        slices.flatMap { Array(architecture.parameterRange(of: $0)) }.sorted()
    }
}
