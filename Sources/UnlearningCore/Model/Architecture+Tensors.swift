extension Architecture {
    /// One parameter tensor as PyTorch's state dict holds it (docs/NETWORKS.md): `<name>.weight` `[units, in]` or
    /// `[out, in, k, k]`, `<name>.bias` `[units]`.
    public struct ParameterTensor: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        /// The parametric layer it belongs to.
        public var layer: Int
        public var isBias: Bool
    }

    /// Every parameter tensor, weight then bias, layer by layer.
    public var parameterTensors: [ParameterTensor] {
        parametricLayers.enumerated().flatMap { l, layer in
            [
                ParameterTensor(name: layer.name + ".weight", shape: layer.weightShape, layer: l, isBias: false),
                ParameterTensor(name: layer.name + ".bias", shape: [layer.units], layer: l, isBias: true),
            ]
        }
    }

    /// The values of `tensor` (row-major) taken from the flat parameter vector. Row-major `weight[o]` is filter
    /// o's slice without its bias, in the same (in, ky, kx) order, so this is a strided copy.
    public func values(of tensor: ParameterTensor, in theta: [Double]) -> [Double] {
        let layer = parametricLayers[tensor.layer]
        let width = layer.fanIn + 1
        var out: [Double] = []
        out.reserveCapacity(tensor.isBias ? layer.units : layer.units * layer.fanIn)
        for u in 0..<layer.units {
            let start = layer.offset + u * width
            if tensor.isBias {
                out.append(theta[start + layer.fanIn])
            } else {
                out.append(contentsOf: theta[start..<(start + layer.fanIn)])
            }
        }
        return out
    }

    /// Writes `values` (row-major, as `values(of:in:)` returns them) into the flat parameter vector.
    public func store(_ values: [Double], of tensor: ParameterTensor, into theta: inout [Double]) {
        let layer = parametricLayers[tensor.layer]
        precondition(values.count == (tensor.isBias ? layer.units : layer.units * layer.fanIn))
        let width = layer.fanIn + 1
        for u in 0..<layer.units {
            let start = layer.offset + u * width
            if tensor.isBias {
                theta[start + layer.fanIn] = values[u]
            } else {
                for t in 0..<layer.fanIn { theta[start + t] = values[u * layer.fanIn + t] }
            }
        }
    }
}
