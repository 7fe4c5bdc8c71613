/// Selective Synaptic Dampening (SSD): Foster, Schoepf, Brintrup, "Fast Machine Unlearning Without Retraining
/// Through Selective Synaptic Dampening", AAAI 2024.
///
/// Each parameter's importance to a set of rows is the diagonal of the empirical Fisher information over them,
/// []_i = mean over rows of (d loss / d theta_i)^2 (the paper's importance, its section 3). A parameter that is
/// much more important to the forget rows than to the training data, []_Df,i > alpha []_D,i, is multiplied by
/// beta = min(lambda []_D,i / []_Df,i, 1); every other parameter is left as it is (the paper's selection and
/// dampening rule). No gradient step and no retraining: one pass over the data for the importances.
///
/// A heuristic: it carries no bound on the distance to the retrained model, so updates made with it are never
/// certified.
public enum SelectiveDampening {
    /// The paper's default hyperparameters, taken unchanged (fixed before any measurement on this project's data).
    public static let defaultAlpha = 10.0
    public static let defaultLambda = 1.0

    /// SSD's factor for one parameter: beta = min(lambda data / forget, 1) when forget > alpha data, else 1.
    /// A parameter no row uses (forget = data = 0) is kept; one only the forget rows use (data = 0) is zeroed.
    public static func factor(forget: Double, data: Double, alpha: Double, lambda: Double) -> Double {
        guard forget > alpha * data else { return 1 }
        return min(lambda * data / forget, 1)
    }

    public struct Result: Sendable {
        public var model: Network
        /// Parameters whose factor was below 1.
        public var dampened: Int
        /// The slices holding at least one dampened parameter, in parameter order.
        public var slices: [Slice]
    }

    /// Applies SSD's rule to every parameter of `scope` (nil: the whole model) of `model`, given the mean squared
    /// gradients on the forget rows and on the training data (full-length vectors, `MLP.squaredGradientSum` / rows).
    public static func dampen(
        _ model: Network, forgetImportance: [Double], dataImportance: [Double], alpha: Double, lambda: Double,
        scope: [Slice]? = nil
    ) -> Result {
        precondition(forgetImportance.count == model.parameterCount && dataImportance.count == model.parameterCount)
        var updated = model
        var dampened = 0
        var touched: [Slice] = []
        for slice in scope ?? model.architecture.allSlices {
            var hit = false
            for i in model.architecture.parameterRange(of: slice) {
                let beta = factor(forget: forgetImportance[i], data: dataImportance[i], alpha: alpha, lambda: lambda)
                if beta < 1 {
                    updated.theta[i] *= beta
                    dampened += 1
                    hit = true
                }
            }
            if hit { touched.append(slice) }
        }
        return Result(model: updated, dampened: dampened, slices: touched.sorted())
    }
}
