import UnlearningCore

/// Small networks that together hold every layer type, with random weights (non-zero biases) and inputs.
enum NetworkFixtures {
    /// conv (padding) -> tanh -> maxpool -> conv -> relu -> flatten -> dense, on 2x6x6 (a CHW flatten with two
    /// channels, so the layout permutations are exercised).
    static let plain = try! Architecture(
        input: [2, 6, 6],
        layers: [
            .conv2d(name: "c1", outChannels: 3, kernel: 3, padding: 1), .tanh, .maxPool2d(2),
            .conv2d(name: "c2", outChannels: 4, kernel: 2), .relu, .flatten, .dense(name: "fc", units: 3),
        ])

    /// A strided conv, an identity residual, average pooling, a residual with a 1x1 stride-2 conv shortcut,
    /// global average pooling and a dense layer reading [C] directly.
    static let residual = try! Architecture(
        input: [1, 6, 6],
        layers: [
            .conv2d(name: "stem", outChannels: 3, kernel: 3, stride: 2, padding: 1), .relu,
            .residual([.conv2d(name: "b1", outChannels: 3, kernel: 3, padding: 1), .tanh, .conv2d(name: "b2", outChannels: 3, kernel: 3, padding: 1)]
            ),
            .relu, .avgPool2d(2, stride: 1),
            .residual(
                [.conv2d(name: "d1", outChannels: 5, kernel: 3, stride: 2, padding: 1)],
                shortcut: [.conv2d(name: "d0", outChannels: 5, kernel: 1, stride: 2)]),
            .tanh, .globalAvgPool, .dense(name: "fc", units: 3),
        ])

    /// A network with weights perturbed away from initialisation, `rows` random inputs and labels.
    static func problem(_ architecture: Architecture, rows: Int = 5, seed: UInt64 = 3) throws -> (Network, Matrix, [Int]) {
        var model = try Network(architecture: architecture, lambda: 0.02, seed: seed)
        var rng = SeededGenerator(seed: seed &+ 11)
        for i in model.theta.indices { model.theta[i] += 0.2 * rng.nextGaussian() }
        var x = Matrix(rows: rows, cols: architecture.inputs)
        rng.fillGaussian(&x.storage)
        let labels = (0..<rows).map { _ in Int(rng.next() % UInt64(architecture.classes)) }
        return (model, x, labels)
    }
}
