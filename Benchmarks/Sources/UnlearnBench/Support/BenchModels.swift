import ArgumentParser
import UnlearningCore

/// The model names the suites accept, over `inputs` features of 10-class data (the MNIST extract's 784 pixels in the
/// documented runs), each with the lambda the project trains that kind with: `logreg` (0.01, as `unlearnctl
/// train`), `mlp<width>` with one hidden ReLU layer (1e-3) and the presets on square single-channel images (1e-4).
enum BenchModels {
    static func architecture(_ name: String, inputs: Int) throws -> (architecture: Architecture, lambda: Double) {
        if name == "logreg" { return (Architecture(inputs: inputs, hidden: [], classes: 10), 0.01) }
        if name.hasPrefix("mlp"), let width = Int(name.dropFirst(3)), width > 0 {
            return (Architecture(inputs: inputs, hidden: [width], classes: 10), 1e-3)
        }
        let side = Int(Double(inputs).squareRoot().rounded())
        guard side * side == inputs, let preset = try Architecture.preset(name, input: [1, side, side], classes: 10) else {
            throw ValidationError(
                "unknown model \"\(name)\"; use logreg, mlp<width> (e.g. mlp256) or a preset (cnn, resnet8, small-cnn) on square images")
        }
        return (preset, 1e-4)
    }
}
