extension Architecture {
    /// One layer of a network (docs/NETWORKS.md): its kind and, for dense and conv layers, the name of its tensors.
    public struct Layer: Sendable, Equatable {
        public indirect enum Kind: Sendable, Equatable {
            case dense(units: Int)
            case conv2d(Conv2D)
            case activation(Activation)
            case maxPool2d(Pool)
            case avgPool2d(Pool)
            case globalAvgPool
            case flatten
            /// body(x) + shortcut(x); an empty shortcut is the identity.
            case residual(body: [Layer], shortcut: [Layer])
        }

        public struct Conv2D: Sendable, Equatable {
            public var outChannels: Int
            public var kernel: Int
            public var stride: Int
            public var padding: Int
            public init(outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
                self.outChannels = outChannels
                self.kernel = kernel
                self.stride = stride
                self.padding = padding
            }
        }

        public struct Pool: Sendable, Equatable {
            public var kernel: Int
            public var stride: Int
            public init(kernel: Int, stride: Int? = nil) {
                self.kernel = kernel
                self.stride = stride ?? kernel
            }
        }

        public var name: String?
        public var kind: Kind

        public init(_ kind: Kind, name: String? = nil) {
            self.kind = kind
            self.name = name
        }

        public static func dense(name: String, units: Int) -> Layer { Layer(.dense(units: units), name: name) }
        public static func conv2d(name: String, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) -> Layer {
            Layer(.conv2d(Conv2D(outChannels: outChannels, kernel: kernel, stride: stride, padding: padding)), name: name)
        }
        public static let relu = Layer(.activation(.relu))
        public static let tanh = Layer(.activation(.tanh))
        public static let flatten = Layer(.flatten)
        public static let globalAvgPool = Layer(.globalAvgPool)
        public static func maxPool2d(_ kernel: Int, stride: Int? = nil) -> Layer { Layer(.maxPool2d(Pool(kernel: kernel, stride: stride))) }
        public static func avgPool2d(_ kernel: Int, stride: Int? = nil) -> Layer { Layer(.avgPool2d(Pool(kernel: kernel, stride: stride))) }
        public static func residual(_ body: [Layer], shortcut: [Layer] = []) -> Layer { Layer(.residual(body: body, shortcut: shortcut)) }

        /// The shape this layer produces from `input`; throws, naming the layer at `here`, when it does not fit.
        func outputShape(input: [Int], at here: String) throws(ModelError) -> [Int] {
            func image() throws(ModelError) -> (c: Int, h: Int, w: Int) {
                guard input.count == 3 else {
                    throw ModelError("\(here) needs an image input [C, H, W], gets \(input); put it before any flatten or dense layer")
                }
                return (input[0], input[1], input[2])
            }
            switch kind {
            case .dense(let units):
                guard units > 0 else { throw ModelError("\(here) has \(units) units; it needs at least one") }
                return [units]
            case .conv2d(let c):
                let (_, h, w) = try image()
                guard c.outChannels > 0, c.kernel > 0, c.stride > 0, c.padding >= 0, c.padding < c.kernel else {
                    throw ModelError(
                        "\(here): out_channels, kernel and stride must be positive and 0 <= padding < kernel, got \(c.outChannels), "
                            + "\(c.kernel), \(c.stride), \(c.padding)")
                }
                let oh = (h + 2 * c.padding - c.kernel) / c.stride + 1
                let ow = (w + 2 * c.padding - c.kernel) / c.stride + 1
                guard h + 2 * c.padding >= c.kernel, w + 2 * c.padding >= c.kernel else {
                    throw ModelError("\(here): kernel \(c.kernel) is larger than the padded input \(h)x\(w)")
                }
                return [c.outChannels, oh, ow]
            case .activation(let a):
                guard a != .identity else { throw ModelError("\(here): identity is not a layer; leave it out") }
                return input
            case .maxPool2d(let p), .avgPool2d(let p):
                let (c, h, w) = try image()
                guard p.kernel > 0, p.stride > 0, h >= p.kernel, w >= p.kernel else {
                    throw ModelError("\(here): kernel \(p.kernel) and stride \(p.stride) must be positive and fit the input \(h)x\(w)")
                }
                return [c, (h - p.kernel) / p.stride + 1, (w - p.kernel) / p.stride + 1]
            case .globalAvgPool:
                return [try image().c]
            case .flatten:
                return [input.reduce(1, *)]
            case .residual(let body, _):
                var scratch = ShapeWalker()
                return try scratch.walk(body, input: input, path: "\(here).body")
            }
        }

        var summary: String {
            switch kind {
            case .dense(let units): return "dense\(units)"
            case .conv2d(let c): return "conv\(c.outChannels)k\(c.kernel)" + (c.stride > 1 ? "s\(c.stride)" : "")
            case .activation(let a): return a.rawValue
            case .maxPool2d(let p): return "maxpool\(p.kernel)"
            case .avgPool2d(let p): return "avgpool\(p.kernel)"
            case .globalAvgPool: return "gap"
            case .flatten: return "flatten"
            case .residual(let body, let shortcut):
                return "res[" + body.map(\.summary).joined(separator: " ") + (shortcut.isEmpty ? "]" : " | \(shortcut[0].summary)]")
            }
        }
    }
}

extension Architecture.Layer.Kind {
    var typeName: String {
        switch self {
        case .dense: "dense"
        case .conv2d: "conv2d"
        case .activation(let a): a.rawValue
        case .maxPool2d: "maxpool2d"
        case .avgPool2d: "avgpool2d"
        case .globalAvgPool: "global_avgpool"
        case .flatten: "flatten"
        case .residual: "residual"
        }
    }

    var isConv: Bool {
        if case .conv2d = self { return true }
        return false
    }
}
