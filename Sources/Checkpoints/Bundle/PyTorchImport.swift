import Foundation
import UnlearningCore

/// A network saved from PyTorch (`safetensors.torch.save_file(model.state_dict(), ...)`) and described by an
/// architecture JSON (docs/NETWORKS.md) with its `lambda`, brought into the engine's form.
///
/// `batchnorm2d` layers are folded into the conv before them with their eval-mode statistics (Ioffe & Szegedy 2015,
/// section 3.2: at inference a batch-normalised unit is the affine map y = gamma (x - mu) / sqrt(var + eps) + beta):
/// s = gamma / sqrt(var + eps), W'[o] = s[o] W[o], b'[o] = s[o] (b[o] - mu[o]) + beta[o]. The network that results has
/// no batch normalisation; it computes what the PyTorch model computes in `eval()` mode.
public struct PyTorchImport: Sendable {
    public var architecture: Architecture
    public var theta: [Double]
    public var lambda: Double
    public var standardization: Standardization?
    /// Names of the batch-norm layers folded, in order.
    public var foldedBatchNorms: [String]

    struct Fold {
        var batchNorm: String
        var eps: Double
        var conv: String
    }

    /// Reads the architecture JSON (`json`) and the weights (`tensors`); every error names the layer or tensor.
    public init(architectureJSON json: Data, tensors: [String: SafetensorsTensor]) throws {
        guard let root = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw CheckpointError(.invalidArgument, "the architecture file is not a JSON object (docs/NETWORKS.md)")
        }
        guard let lambda = root["lambda"] as? Double, lambda > 0, lambda.isFinite else {
            throw CheckpointError(
                .invalidArgument, "the architecture file needs \"lambda\", a positive number (the L2 coefficient the model was trained with)")
        }
        var stripped = root
        stripped["lambda"] = nil
        var folds: [Fold] = []
        if let layers = root["layers"] as? [Any], root["inputs"] == nil {
            stripped["layers"] = try Self.strip(layers, path: "layers", folds: &folds)
        }
        let architecture: Architecture
        do {
            architecture = try JSONDecoder().decode(Architecture.self, from: JSONSerialization.data(withJSONObject: stripped))
        } catch let DecodingError.dataCorrupted(context) {
            throw CheckpointError(.invalidArgument, "the architecture is not usable: \(context.debugDescription)")
        } catch {
            throw CheckpointError(.invalidArgument, "the architecture is not usable (docs/NETWORKS.md): \(error)")
        }
        try architecture.validateForSnapshot()

        // Every weight tensor present with its shape before theta is allocated: the architecture file alone may
        // declare up to 2^31 parameters, and the weights, which occupy memory already, must hold them.
        for tensor in architecture.parameterTensors where !(tensor.isBias && tensors[tensor.name] == nil) {
            try Self.checkShape(tensors, tensor.name, shape: tensor.shape)
        }
        var used = Set<String>()
        var theta = [Double](repeating: 0, count: architecture.parameterCount)
        for tensor in architecture.parameterTensors {
            if tensor.isBias && tensors[tensor.name] == nil {
                // PyTorch's bias=False (conv layers before batch normalisation): a zero bias.
                continue
            }
            architecture.store(try Self.values(tensors, tensor.name, shape: tensor.shape), of: tensor, into: &theta)
            used.insert(tensor.name)
        }
        for fold in folds {
            guard let l = architecture.parametricLayers.firstIndex(where: { $0.name == fold.conv }) else { continue }
            let layer = architecture.parametricLayers[l]
            let shape = [layer.units]
            let gamma = try Self.values(tensors, fold.batchNorm + ".weight", shape: shape)
            let beta = try Self.values(tensors, fold.batchNorm + ".bias", shape: shape)
            let mean = try Self.values(tensors, fold.batchNorm + ".running_mean", shape: shape)
            let variance = try Self.values(tensors, fold.batchNorm + ".running_var", shape: shape)
            for suffix in [".weight", ".bias", ".running_mean", ".running_var", ".num_batches_tracked"] {
                used.insert(fold.batchNorm + suffix)
            }
            for o in 0..<layer.units {
                guard variance[o] >= 0, (variance[o] + fold.eps) > 0 else {
                    throw CheckpointError(.invalidArgument, "\(fold.batchNorm).running_var[\(o)] is \(variance[o]); a variance must be >= 0")
                }
                let s = gamma[o] / (variance[o] + fold.eps).squareRoot()
                let start = layer.offset + o * (layer.fanIn + 1)
                for t in 0..<layer.fanIn { theta[start + t] *= s }
                theta[start + layer.fanIn] = s * (theta[start + layer.fanIn] - mean[o]) + beta[o]
            }
        }
        var standardization: Standardization?
        if tensors[ModelParameters.meanName] != nil || tensors[ModelParameters.stdName] != nil {
            let mean = try Self.values(tensors, ModelParameters.meanName, shape: [architecture.inputs])
            let std = try Self.values(tensors, ModelParameters.stdName, shape: [architecture.inputs])
            guard std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw CheckpointError(.invalidArgument, "\(ModelParameters.stdName) must be positive and finite in every feature")
            }
            standardization = Standardization(mean: mean, std: std)
            used.formUnion([ModelParameters.meanName, ModelParameters.stdName])
        }
        let extra = tensors.keys.filter { !used.contains($0) && !$0.hasSuffix(".num_batches_tracked") }.sorted()
        if let first = extra.first {
            throw CheckpointError(
                .shapeMismatch,
                "the weights hold \(extra.count) tensor(s) the architecture does not name, first \"\(first)\"; add its layer to the "
                    + "architecture file or drop it from the state dict")
        }
        guard theta.allSatisfy(\.isFinite) else {
            throw CheckpointError(.invalidArgument, "the weights contain NaN or infinite values")
        }
        self.architecture = architecture
        self.theta = theta
        self.lambda = lambda
        self.standardization = standardization
        self.foldedBatchNorms = folds.map(\.batchNorm)
    }

    /// Removes `batchnorm2d` entries from a layer list (recursing into residual bodies and shortcuts), recording
    /// which conv each folds into.
    static func strip(_ layers: [Any], path: String, folds: inout [Fold]) throws -> [Any] {
        var out: [Any] = []
        for (i, item) in layers.enumerated() {
            guard var layer = item as? [String: Any] else {
                throw CheckpointError(.invalidArgument, "\(path)[\(i)] is not a JSON object")
            }
            let type = layer["type"] as? String
            if type == "batchnorm2d" {
                guard let name = layer["name"] as? String else {
                    throw CheckpointError(.invalidArgument, "\(path)[\(i)] (batchnorm2d) needs a name")
                }
                for key in layer.keys where !["type", "name", "eps"].contains(key) {
                    throw CheckpointError(.invalidArgument, "\(path)[\(i)] (batchnorm2d) has no \"\(key)\"")
                }
                guard let previous = out.last as? [String: Any], previous["type"] as? String == "conv2d",
                    let conv = previous["name"] as? String
                else {
                    throw CheckpointError(
                        .invalidArgument, "\(path)[\(i)] (batchnorm2d \"\(name)\") must follow a conv2d directly; it is folded into that conv")
                }
                let eps = (layer["eps"] as? Double) ?? 1e-5
                guard eps >= 0, eps.isFinite else { throw CheckpointError(.invalidArgument, "\(path)[\(i)]: eps must be >= 0") }
                folds.append(Fold(batchNorm: name, eps: eps, conv: conv))
                continue
            }
            if type == "residual" {
                if let body = layer["body"] as? [Any] { layer["body"] = try strip(body, path: "\(path)[\(i)].body", folds: &folds) }
                if let shortcut = layer["shortcut"] as? [Any] {
                    layer["shortcut"] = try strip(shortcut, path: "\(path)[\(i)].shortcut", folds: &folds)
                }
            }
            out.append(layer)
        }
        return out
    }

    @discardableResult
    static func checkShape(_ tensors: [String: SafetensorsTensor], _ name: String, shape: [Int]) throws -> SafetensorsTensor {
        guard let tensor = tensors[name] else {
            throw CheckpointError(.shapeMismatch, "the weights have no tensor \"\(name)\"; the architecture needs it with shape \(shape)")
        }
        guard tensor.shape == shape else {
            throw CheckpointError(.shapeMismatch, "tensor \"\(name)\" has shape \(tensor.shape), the architecture needs \(shape)")
        }
        return tensor
    }

    static func values(_ tensors: [String: SafetensorsTensor], _ name: String, shape: [Int]) throws -> [Double] {
        let tensor = try checkShape(tensors, name, shape: shape)
        switch tensor.dtype {
        case .float64: return try tensor.float64Values()
        case .float32: return try tensor.float32Values().map(Double.init)
        default:
            throw CheckpointError(.shapeMismatch, "tensor \"\(name)\" has dtype \(tensor.dtype.rawValue); weights must be F64 or F32")
        }
    }
}
