/// How one unlearning update is computed (DESIGN.md section 4).
public struct UnlearningOptions: Codable, Sendable, Equatable {
    /// Which parameter block the Newton step updates.
    public enum Selection: String, Codable, Sendable, CaseIterable {
        /// L-FOCI over the perturbation statistics (the paper's method).
        case lfoci
        /// Every parameter: the classical full-Hessian Newton update (small models only).
        case full
        /// As many random slices as L-FOCI chose (a control).
        case random
        /// L-FOCI's first slice (the largest unconditional dependence) alone, if it passes the noise gate; else,
        /// like `lfoci`, the slice with the largest batch gradient.
        case top1
    }

    /// Which parameters receive the Gaussian noise.
    public enum NoiseScope: String, Codable, Sendable, CaseIterable {
        /// Every parameter: the residual bound covers the whole model, so this is the certified choice.
        case all
        /// The updated block only, as the paper's code does; reported as not certified.
        case block
    }

    public var selection: Selection = .lfoci
    public var noiseScope: NoiseScope = .all
    /// Whether to add the Gaussian noise at all (off in accuracy experiments; then no privacy is claimed).
    public var noise: Bool = true
    /// m_pert: perturbed copies of the batch drawn for selection.
    public var perturbations: Int = 1000
    /// Standard deviation of the input perturbation, in standardised input units.
    public var inputNoiseSD: Double = 0.1
    /// At most this many rows of the batch enter the perturbation statistics (a seeded uniform subsample beyond it).
    public var perturbationRows: Int = 64
    /// Cap on the block size in parameters (L-FOCI stops before exceeding it).
    public var maxBlockParameters: Int = 5000
    /// Cap on the number of slices L-FOCI selects.
    public var maxSlices: Int = 64
    /// Slice count for `random` when no L-FOCI run fixes it (normally it copies L-FOCI's count).
    public var randomSlices: Int? = nil
    /// Estimate the residual Hessian on a uniform subsample of this many residual rows (nil: all rows).
    public var hessianRows: Int? = nil
    /// L-CODEC tie-breaking noise, as a fraction of each candidate's smallest non-zero gap.
    public var tieNoiseFraction: Double = 0.01
    /// Level of L-FOCI's noise gate (`LFOCI.NoiseGate`): a slice is added only if its score is above the
    /// estimator's noise at this family-wise level per step; 0 turns the gate off (FOCI's plain "score > 0").
    public var selectionLevel: Double = 0.05
    /// Seed of the perturbation sampling, selection and subsampling (not of the privacy noise).
    public var seed: UInt64 = 1
    /// Fixed seed for the privacy noise, for tests only; nil draws it from the system CSPRNG.
    public var noiseSeed: UInt64? = nil

    public init() {}
}

/// Budget and supported-removal policy of a model (DESIGN.md section 5).
public struct BudgetPolicy: Codable, Sendable, Equatable {
    /// Total epsilon per budget epoch.
    public var epsilonBudget: Double = 10
    /// delta of the (epsilon, delta) guarantee.
    public var delta: Double = 1e-5
    /// Epsilon of each release; sigma follows from it and the residual bound.
    public var epsilonStep: Double = 1
    /// Smallest noise sd ever used.
    public var sigmaFloor: Double = 0
    /// Largest noise sd the model tolerates; a release needing more is the supported-removal limit.
    public var sigmaMax: Double = 0.1
    /// Optional cap on removed rows per epoch.
    public var maxRemovals: Int? = nil
    /// Largest tolerated drop of validation accuracy versus the epoch's base model.
    public var maxAccuracyDrop: Double = 0.05

    public init() {}
}
