extension SnapshotManifest {
    /// How a snapshot's released weights were made (docs/ARCHITECTURE.md, section 3.3): the residual bound of the
    /// noise-free state, the noise, the privacy spent, the requests the release covers and the SHA-256 of the
    /// released file, or why nothing was released.
    public struct ReleaseRecord: Codable, Sendable, Equatable {
        /// `mode` of a retrained base's release.
        public static let retrainedMode = "retrained"

        /// The snapshot version that made this release (later snapshots carry the record in their history).
        public var version: UInt64
        /// False when a limit refused the release (`reasons`): the weights served stay the previous release's.
        public var released: Bool
        /// `certified` (fixed sigma, release only within the bound), `adaptive` (sigma from the bound), or
        /// `retrained` (a base fitted without the removed rows, served as a new epoch's first release: no noise, no
        /// epsilon, residual bound 0 because no removed row entered it).
        public var mode: String
        public var certified: Bool
        public var sigma: Double
        /// Delta of the noise-free state at release time (-1: unbounded).
        public var residualBound: Double
        /// Sensitivity given to the accountant, and in certified mode the limit Delta* a release must stay within.
        public var sensitivity: Double
        public var sensitivityLimit: Double?
        /// Epsilon of this release alone, and of the epoch's releases so far.
        public var epsilonRelease: Double
        public var epsilonSpent: Double
        /// Every request id applied since the previous release: what this release makes effective.
        public var requestIds: [String]
        /// SHA-256 (hex) of `released/<model>/current.safetensors` as this release wrote it.
        public var fileSHA256: String?
        public var validationAccuracy: Double?
        public var validationLoss: Double?
        public var membershipAUC: Double?
        public var reasons: [String]
        public var failure: String?

        private enum CodingKeys: String, CodingKey {
            case version, released, mode, certified, sigma
            case residualBound = "residual_bound"
            case sensitivity
            case sensitivityLimit = "sensitivity_limit"
            case epsilonRelease = "epsilon_release"
            case epsilonSpent = "epsilon_spent"
            case requestIds = "request_ids"
            case fileSHA256 = "file_sha256"
            case validationAccuracy = "validation_accuracy"
            case validationLoss = "validation_loss"
            case membershipAUC = "membership_auc"
            case reasons, failure
        }

        public init(
            version: UInt64, released: Bool, mode: String, certified: Bool, sigma: Double, residualBound: Double, sensitivity: Double,
            sensitivityLimit: Double?, epsilonRelease: Double, epsilonSpent: Double, requestIds: [String],
            fileSHA256: String? = nil, validationAccuracy: Double? = nil, validationLoss: Double? = nil,
            membershipAUC: Double? = nil, reasons: [String] = [], failure: String? = nil
        ) {
            self.version = version
            self.released = released
            self.mode = mode
            self.certified = certified
            self.sigma = sigma
            self.residualBound = residualBound
            self.sensitivity = sensitivity
            self.sensitivityLimit = sensitivityLimit
            self.epsilonRelease = epsilonRelease
            self.epsilonSpent = epsilonSpent
            self.requestIds = requestIds
            self.fileSHA256 = fileSHA256
            self.validationAccuracy = validationAccuracy
            self.validationLoss = validationLoss
            self.membershipAUC = membershipAUC
            self.reasons = reasons
            self.failure = failure
        }
    }
}
