import UnlearningCore

/// The shapes and GEMM flop counts of a network's parametric layers, walked from its public `Architecture` the way
/// docs/NETWORKS.md describes (a residual's body, then its shortcut, from the same input). The networks suite uses
/// them to rebuild each conv layer on its own and to count a forward pass's flops.
struct NetworkShapes {
    /// One conv layer: its input `[C, H, W]` and its output size.
    struct Conv {
        var name: String
        var channels: Int
        var height: Int
        var width: Int
        var spec: Architecture.Layer.Conv2D
        var outHeight: Int
        var outWidth: Int

        /// Columns of an im2col row: C k^2.
        var patch: Int { channels * spec.kernel * spec.kernel }
        var outPositions: Int { outHeight * outWidth }
        /// Multiply-adds x 2 of the layer's GEMM over `samples` images (the bias is not counted).
        func flops(samples: Int) -> Double { 2 * Double(samples * outPositions) * Double(patch) * Double(spec.outChannels) }
        /// `name  CxHxW -> OxH'xW'  kK sS pP`.
        var summary: String {
            "\(channels)x\(height)x\(width) -> \(spec.outChannels)x\(outHeight)x\(outWidth), k\(spec.kernel) s\(spec.stride) p\(spec.padding)"
        }
    }

    private(set) var convs: [Conv] = []
    /// GEMM flops of one sample's forward pass over every conv and dense layer.
    private(set) var flopsPerSample: Double = 0
    /// Forward flops of the first parametric layer, whose input gradient backpropagation does not compute.
    private(set) var firstLayerFlops: Double?

    /// GEMM flops of one sample's training step: the forward pass, every layer's weight gradient (as many flops
    /// as its forward GEMM) and every layer's input gradient but the first's.
    var trainingFlopsPerSample: Double { 3 * flopsPerSample - (firstLayerFlops ?? 0) }

    init(_ architecture: Architecture) {
        _ = walk(architecture.layers, input: architecture.input)
    }

    private mutating func walk(_ layers: [Architecture.Layer], input: [Int]) -> [Int] {
        var shape = input
        for layer in layers {
            switch layer.kind {
            case .dense(let units):
                let flops = 2 * Double(shape.reduce(1, *)) * Double(units)
                flopsPerSample += flops
                if firstLayerFlops == nil { firstLayerFlops = flops }
                shape = [units]
            case .conv2d(let c):
                let oh = (shape[1] + 2 * c.padding - c.kernel) / c.stride + 1
                let ow = (shape[2] + 2 * c.padding - c.kernel) / c.stride + 1
                let conv = Conv(
                    name: layer.name ?? "conv", channels: shape[0], height: shape[1], width: shape[2], spec: c, outHeight: oh,
                    outWidth: ow)
                convs.append(conv)
                flopsPerSample += conv.flops(samples: 1)
                if firstLayerFlops == nil { firstLayerFlops = conv.flops(samples: 1) }
                shape = [c.outChannels, oh, ow]
            case .activation:
                break
            case .maxPool2d(let p), .avgPool2d(let p):
                shape = [shape[0], (shape[1] - p.kernel) / p.stride + 1, (shape[2] - p.kernel) / p.stride + 1]
            case .globalAvgPool:
                shape = [shape[0]]
            case .flatten:
                shape = [shape.reduce(1, *)]
            case .residual(let body, let shortcut):
                let out = walk(body, input: shape)
                _ = walk(shortcut, input: shape)
                shape = out
            }
        }
        return shape
    }

    /// The conv layer alone as a network the engine can run: `[C, H, W]`, the conv, global average pooling and a
    /// 2-unit dense output (the last layer must be dense). Its forward pass is the layer's im2col and GEMM plus a
    /// channels-last copy of the input (none for one channel), the pooling and the 2-unit layer: memory-bound
    /// extras that are timed with the layer and not counted in its flops.
    static func isolated(_ conv: Conv) throws -> Architecture {
        try Architecture(
            input: [conv.channels, conv.height, conv.width],
            layers: [
                Architecture.Layer(.conv2d(conv.spec), name: conv.name), .globalAvgPool, .dense(name: "bench.out", units: 2),
            ])
    }
}
