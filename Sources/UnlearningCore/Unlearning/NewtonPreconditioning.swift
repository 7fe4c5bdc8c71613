import Dispatch

/// `newton`'s preconditioner for one base model, and how building it went: a `NystromPreconditioner` of the base's
/// mean Gauss-Newton matrix G/n (the exact Hessian less lambda I for logistic regression) over the residual rows.
///
/// Why the base's curvature serves every later request: a removal changes G/n by the removed rows' terms (rank at
/// most m (k - 1)) plus the drift of the probabilities as theta moves, both small against G/n, so the base's top
/// eigenpairs keep describing where the residual Hessian's spectrum is spread. The preconditioner changes only how
/// many CG iterations a step takes: the solves' stopping rule, Newton's stopping rule and the residual bound Delta
/// (computed from grad F_residual after the step) are those of plain CG.
public struct NewtonPreconditioning: Sendable {
    public enum Outcome: String, Sendable, Equatable {
        /// Built; `preconditioner` is set.
        case built
        /// `newtonPreconditionerRank` is 0.
        case disabled
        /// Not a convex model: its `newton` runs damped Gauss-Newton steps, which keep plain CG.
        case notConvex = "not_convex"
        /// The preconditioner would hold more than `newtonPreconditionerMemoryLimit` bytes.
        case overMemoryLimit = "over_memory_limit"
        /// The approximation could not be computed (`reason` says why).
        case failed
    }

    public var outcome: Outcome
    /// Set when `outcome == .built`.
    public var preconditioner: NystromPreconditioner?
    /// The configured rank.
    public var requestedRank: Int
    /// Bytes held in memory (0 unless built).
    public var bytes: Int
    /// Bytes the configured rank needs.
    public var requiredBytes: Int
    /// Residual rows its products ran over.
    public var rows: Int
    public var seconds: Double
    /// Why it was not built, in words (nil when built).
    public var reason: String?
}

extension UnlearningState {
    /// Builds (or, when it cannot or need not be built, records why not) `newton`'s preconditioner for the current
    /// base and keeps it in `newtonPreconditioning`; returns the record. Deterministic for a given state and options.
    @discardableResult
    public mutating func prepareNewtonPreconditioner(options: UnlearningOptions) -> NewtonPreconditioning {
        let record = Self.newtonPreconditioning(for: self, options: options)
        newtonPreconditioning = record
        return record
    }

    /// Takes over `other`'s preconditioner (or its record of why there is none), for a state re-read from a
    /// snapshot of the same base: re-reading does not change the base's curvature, so nothing is rebuilt. The caller
    /// vouches for the base; a mismatched parameter count is refused (the state keeps none).
    public mutating func keepNewtonPreconditioning(of other: UnlearningState) {
        guard other.model.parameterCount == model.parameterCount else { return }
        newtonPreconditioning = other.newtonPreconditioning
    }

    static func newtonPreconditioning(for state: UnlearningState, options: UnlearningOptions) -> NewtonPreconditioning {
        let clock = DispatchTime.now().uptimeNanoseconds
        let model = state.model
        let d = model.parameterCount
        let rank = max(0, options.newtonPreconditionerRank)
        let required = NystromPreconditioner.bytes(rank: min(rank, d), dimension: d)
        var record = NewtonPreconditioning(
            outcome: .disabled, preconditioner: nil, requestedRank: rank, bytes: 0, requiredBytes: required, rows: 0, seconds: 0,
            reason: "unlearning.newton_preconditioner_rank is 0"
        )
        guard rank > 0 else { return record }
        guard model.architecture.isConvex else {
            record.outcome = .notConvex
            record.reason = "the model has hidden layers; newton's damped steps use plain CG"
            return record
        }
        guard required <= options.newtonPreconditionerMemoryLimit else {
            record.outcome = .overMemoryLimit
            record.reason =
                "rank \(rank) over \(d) parameters needs \(required) bytes, above "
                + "unlearning.newton_preconditioner_memory_limit (\(options.newtonPreconditionerMemoryLimit)); "
                + "newton runs plain CG. Raise the limit or lower the rank"
            return record
        }
        // A seeded uniform subsample of the residual rows (all of them when few enough).
        var residual = state.residualIndices
        let cap = max(1, options.newtonPreconditionerRows)
        if residual.count > cap {
            var rng = SeededGenerator(seed: options.seed)
            residual.shuffle(using: &rng)
            residual = Array(residual.prefix(cap)).sorted()
        }
        record.rows = residual.count
        let curvature = GaussNewtonOperator(
            model: model, rows: state.trainFeatures.selectingRows(residual), precision: .double)
        do {
            let preconditioner = try NystromPreconditioner.build(dimension: d, rank: rank, seed: options.seed, apply: curvature.apply)
            record.outcome = .built
            record.preconditioner = preconditioner
            record.bytes = preconditioner.bytes
            record.reason = nil
        } catch {
            record.outcome = .failed
            record.reason = "the Nyström approximation failed (\(error.description)); newton runs plain CG"
        }
        record.seconds = Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9
        return record
    }
}
