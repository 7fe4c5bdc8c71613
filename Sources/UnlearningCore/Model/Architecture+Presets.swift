extension Architecture {
    /// The named architectures of `unlearnctl train --architecture` (docs/NETWORKS.md, "Presets").
    public static let presetNames = ["cnn", "resnet8", "small-cnn"]

    /// A preset for images of `input` = [C, H, W] and `classes` classes; nil for an unknown name.
    ///
    /// - `cnn`: conv 5x5 16 (padding 2), ReLU, max-pool 2, conv 5x5 32 (padding 2), ReLU, max-pool 2, dense (28,938
    ///   parameters on 1x28x28).
    /// - `resnet8`: a 3x3 16-channel stem and three residual stages of 16, 32 and 64 channels (two 3x3 convs each;
    ///   the second and third halve the resolution with a stride-2 conv and a 1x1 stride-2 shortcut), global
    ///   average pooling, dense: He et al., "Deep residual learning for image recognition", CVPR 2016, section 4.2,
    ///   with n = 1, and no batch normalisation (docs/NETWORKS.md says why).
    /// - `small-cnn`: conv 3x3 8 (padding 1), ReLU, max-pool 2, conv 3x3 16 (padding 1), ReLU, max-pool 2, dense: for the
    ///   8x8 digits (the demo's CNN; Config/architectures/digits-cnn.json is the same network as a file).
    public static func preset(_ name: String, input: [Int], classes: Int) throws(ModelError) -> Architecture? {
        switch name {
        case "cnn":
            return try Architecture(
                input: input,
                layers: [
                    .conv2d(name: "features.0", outChannels: 16, kernel: 5, padding: 2), .relu, .maxPool2d(2),
                    .conv2d(name: "features.3", outChannels: 32, kernel: 5, padding: 2), .relu, .maxPool2d(2),
                    .flatten, .dense(name: "classifier", units: classes),
                ])
        case "small-cnn":
            return try Architecture(
                input: input,
                layers: [
                    .conv2d(name: "features.0", outChannels: 8, kernel: 3, padding: 1), .relu, .maxPool2d(2),
                    .conv2d(name: "features.3", outChannels: 16, kernel: 3, padding: 1), .relu, .maxPool2d(2),
                    .flatten, .dense(name: "classifier", units: classes),
                ])
        case "resnet8":
            func stage(_ index: Int, channels: Int, downsample: Bool) -> [Layer] {
                let name = "layer\(index).0"
                let body: [Layer] = [
                    .conv2d(name: "\(name).conv1", outChannels: channels, kernel: 3, stride: downsample ? 2 : 1, padding: 1), .relu,
                    .conv2d(name: "\(name).conv2", outChannels: channels, kernel: 3, padding: 1),
                ]
                let shortcut: [Layer] =
                    downsample ? [.conv2d(name: "\(name).shortcut.0", outChannels: channels, kernel: 1, stride: 2)] : []
                return [.residual(body, shortcut: shortcut), .relu]
            }
            return try Architecture(
                input: input,
                layers: [.conv2d(name: "conv1", outChannels: 16, kernel: 3, padding: 1), .relu]
                    + stage(1, channels: 16, downsample: false) + stage(2, channels: 32, downsample: true)
                    + stage(3, channels: 64, downsample: true) + [.globalAvgPool, .dense(name: "fc", units: classes)])
        default:
            return nil
        }
    }
}
