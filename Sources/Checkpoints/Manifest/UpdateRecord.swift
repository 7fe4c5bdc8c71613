extension SnapshotManifest {
    /// One entry of a snapshot's history: an unlearning update of the noise-free state, a release of new noisy
    /// weights, or both (docs/ARCHITECTURE.md, section 2.2). The daemon writes it; `unlearnctl status`, `inspect`,
    /// `report`, the demo and the benchmarks read it. Fields added after format version 1 decode as absent from
    /// older snapshots.
    public struct UpdateRecord: Codable, Sendable, Equatable {
        /// What the record is.
        public enum Outcome: String, Codable, Sendable {
            /// The step was applied to the noise-free state.
            case applied
            /// Rows tombstoned, weights unchanged (a limit was reached, now or earlier, or the step failed).
            case recordedOnly = "recorded_only"
            /// A release alone (on the cadence's timer or on demand): no rows removed.
            case release
        }

        /// RFC 3339 time of the record.
        public var time: String
        /// Request ids applied by this update (empty for a release alone).
        public var requestIds: [String]
        public var rowsRemoved: Int
        public var outcome: Outcome
        /// Update method (`newton`, `lfoci`, `dampening`, `finetune`, `neggrad`, `scrub`, `salun`) and lfoci's block
        /// selection.
        public var method: String?
        public var selection: String?
        /// Parameter slices the step changed, and their size in parameters.
        public var selectedSlices: [SliceRef]
        public var blockSize: Int
        /// ||grad F_residual|| of the noise-free state after the step, and Delta = that / lambda (-1: unbounded).
        public var gradientResidual: Double?
        public var residualBound: Double
        public var damping: Double?
        public var newtonIterations: Int?
        public var cgIterations: Int?
        public var hessianVectorProducts: Int?
        public var dampenedParameters: Int?
        /// Optimiser steps of the gradient-step methods and the dampening repair (absent for the others).
        public var optimizerSteps: Int?
        /// `salun`: parameters in the saliency mask.
        public var salientParameters: Int?
        /// Epsilon spent in the epoch after this record.
        public var epsilonSpent: Double
        /// The served model before the update; the noise-free state after it (what the next release publishes).
        public var validationAccuracyBefore: Double?
        public var validationAccuracyAfter: Double?
        public var validationLossBefore: Double?
        public var validationLossAfter: Double?
        public var membershipAUCBefore: Double?
        public var membershipAUCAfter: Double?
        public var residualAccuracyAfter: Double?
        public var forgottenLossBefore: Double?
        public var forgottenLossAfter: Double?
        public var forgottenAccuracyBefore: Double?
        public var forgottenAccuracyAfter: Double?
        /// Why the step was not applied, when it failed.
        public var failure: String?
        /// Retrain reasons this record raised (update and release).
        public var reasons: [String]
        /// Wall time per phase in seconds.
        public var seconds: [String: Double]
        /// True when new weights were released in this snapshot (`release` says how).
        public var released: Bool
        public var release: ReleaseRecord?
        public var extensions: [String: JSONValue]?

        /// The release's noise sd (0 without a release).
        public var noiseSigma: Double { release?.sigma ?? 0 }
        /// True when this record's release was certified.
        public var certified: Bool { release?.certified ?? false }

        private enum CodingKeys: String, CodingKey {
            case time
            case requestIds = "request_ids"
            case rowsRemoved = "rows_removed"
            case outcome, method, selection
            case selectedSlices = "selected_slices"
            case blockSize = "block_size"
            case gradientResidual = "gradient_residual"
            case residualBound = "residual_bound"
            case damping
            case newtonIterations = "newton_iterations"
            case cgIterations = "cg_iterations"
            case hessianVectorProducts = "hessian_vector_products"
            case dampenedParameters = "dampened_parameters"
            case optimizerSteps = "optimizer_steps"
            case salientParameters = "salient_parameters"
            case epsilonSpent = "epsilon_spent"
            case validationAccuracyBefore = "validation_accuracy_before"
            case validationAccuracyAfter = "validation_accuracy"
            case validationLossBefore = "validation_loss_before"
            case validationLossAfter = "validation_loss_after"
            case membershipAUCBefore = "membership_auc_before"
            case membershipAUCAfter = "membership_auc_after"
            case residualAccuracyAfter = "residual_accuracy_after"
            case forgottenLossBefore = "forgotten_loss_before"
            case forgottenLossAfter = "forgotten_loss_after"
            case forgottenAccuracyBefore = "forgotten_accuracy_before"
            case forgottenAccuracyAfter = "forgotten_accuracy_after"
            case failure, reasons, seconds, released, release, extensions
        }

        public init(
            time: String, requestIds: [String], rowsRemoved: Int, outcome: Outcome = .applied,
            selectedSlices: [SliceRef] = [], blockSize: Int = 0, residualBound: Double = 0, epsilonSpent: Double = 0,
            release: ReleaseRecord? = nil
        ) {
            self.time = time
            self.requestIds = requestIds
            self.rowsRemoved = rowsRemoved
            self.outcome = outcome
            self.selectedSlices = selectedSlices
            self.blockSize = blockSize
            self.residualBound = residualBound
            self.epsilonSpent = epsilonSpent
            self.reasons = []
            self.seconds = [:]
            self.released = release?.released ?? false
            self.release = release
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            time = try c.decode(String.self, forKey: .time)
            requestIds = try c.decode([String].self, forKey: .requestIds)
            rowsRemoved = try c.decode(Int.self, forKey: .rowsRemoved)
            outcome = try c.decodeIfPresent(Outcome.self, forKey: .outcome) ?? .applied
            method = try c.decodeIfPresent(String.self, forKey: .method)
            selection = try c.decodeIfPresent(String.self, forKey: .selection)
            selectedSlices = try c.decodeIfPresent([SliceRef].self, forKey: .selectedSlices) ?? []
            blockSize = try c.decodeIfPresent(Int.self, forKey: .blockSize) ?? 0
            gradientResidual = try c.decodeIfPresent(Double.self, forKey: .gradientResidual)
            residualBound = try c.decodeIfPresent(Double.self, forKey: .residualBound) ?? -1
            damping = try c.decodeIfPresent(Double.self, forKey: .damping)
            newtonIterations = try c.decodeIfPresent(Int.self, forKey: .newtonIterations)
            cgIterations = try c.decodeIfPresent(Int.self, forKey: .cgIterations)
            hessianVectorProducts = try c.decodeIfPresent(Int.self, forKey: .hessianVectorProducts)
            dampenedParameters = try c.decodeIfPresent(Int.self, forKey: .dampenedParameters)
            optimizerSteps = try c.decodeIfPresent(Int.self, forKey: .optimizerSteps)
            salientParameters = try c.decodeIfPresent(Int.self, forKey: .salientParameters)
            epsilonSpent = try c.decodeIfPresent(Double.self, forKey: .epsilonSpent) ?? 0
            validationAccuracyBefore = try c.decodeIfPresent(Double.self, forKey: .validationAccuracyBefore)
            validationAccuracyAfter = try c.decodeIfPresent(Double.self, forKey: .validationAccuracyAfter)
            validationLossBefore = try c.decodeIfPresent(Double.self, forKey: .validationLossBefore)
            validationLossAfter = try c.decodeIfPresent(Double.self, forKey: .validationLossAfter)
            membershipAUCBefore = try c.decodeIfPresent(Double.self, forKey: .membershipAUCBefore)
            membershipAUCAfter = try c.decodeIfPresent(Double.self, forKey: .membershipAUCAfter)
            residualAccuracyAfter = try c.decodeIfPresent(Double.self, forKey: .residualAccuracyAfter)
            forgottenLossBefore = try c.decodeIfPresent(Double.self, forKey: .forgottenLossBefore)
            forgottenLossAfter = try c.decodeIfPresent(Double.self, forKey: .forgottenLossAfter)
            forgottenAccuracyBefore = try c.decodeIfPresent(Double.self, forKey: .forgottenAccuracyBefore)
            forgottenAccuracyAfter = try c.decodeIfPresent(Double.self, forKey: .forgottenAccuracyAfter)
            failure = try c.decodeIfPresent(String.self, forKey: .failure)
            reasons = try c.decodeIfPresent([String].self, forKey: .reasons) ?? []
            seconds = try c.decodeIfPresent([String: Double].self, forKey: .seconds) ?? [:]
            release = try c.decodeIfPresent(ReleaseRecord.self, forKey: .release)
            released = try c.decodeIfPresent(Bool.self, forKey: .released) ?? (release?.released ?? false)
            extensions = try c.decodeIfPresent([String: JSONValue].self, forKey: .extensions)
        }
    }
}
