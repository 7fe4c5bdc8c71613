import Foundation

/// Element-wise activation.
public enum Activation: String, Codable, Sendable, CaseIterable {
    case relu
    case tanh
    case identity

    /// Applies the activation in place.
    func apply(_ values: inout [Double]) {
        switch self {
        case .relu:
            for i in values.indices where values[i] < 0 { values[i] = 0 }
        case .tanh:
            for i in values.indices { values[i] = Foundation.tanh(values[i]) }
        case .identity:
            break
        }
    }

    /// Multiplies `delta` element-wise by the derivative, read from the layer's output a = act(z): relu'(z) is 1
    /// exactly where a > 0, tanh'(z) = 1 - a^2.
    func multiplyByDerivative(_ delta: inout [Double], output a: [Double]) {
        switch self {
        case .relu:
            for i in delta.indices where a[i] <= 0 { delta[i] = 0 }
        case .tanh:
            for i in delta.indices { delta[i] *= 1 - a[i] * a[i] }
        case .identity:
            break
        }
    }

}
