import Configuration
import Logging
import UnlearningCore

extension DaemonConfiguration {
    /// Every configuration key except the `kafka.*` passthrough, in the order of Config/README.md.
    /// This list is the single source of the key names, environment variables, allowed values and meanings;
    /// the tests check the README's table against it.
    static var configurationKeys: [ConfigurationKey] {
        [
            .string(
                "state_directory", \.stateDirectory, allowed: "non-empty path",
                "Where snapshots, exclusion lists and the metrics file live (systemd StateDirectory=). Daemons of one consumer group may share it.",
                isValid: { !$0.isEmpty }
            ),
            modelsKey,
            .string(
                "consumer.group_id", \.groupID, allowed: "1 to 255 characters",
                "Kafka consumer group shared by all daemons that split the models between them.",
                isValid: { (1...255).contains($0.count) }
            ),
            .string(
                "topics.deletions", \.deletionsTopic, allowed: topicRule,
                "Topic the deletion requests are consumed from (key = model id).", isValid: isTopicName
            ),
            .string(
                "topics.dead_letter", \.deadLetterTopic, allowed: topicRule,
                "Topic bad inputs are forwarded to, with the original bytes and a reason header.", isValid: isTopicName
            ),
            .string(
                "topics.alerts", \.alertsTopic, allowed: topicRule,
                "Topic the retrain-required events are published to.", isValid: isTopicName
            ),
            .string(
                "topics.receipts", \.receiptsTopic, allowed: topicRule,
                "Topic the release receipts (unlearn.released.v1) are published to.", isValid: isTopicName
            ),
            .integer(
                "batch.max_rows", \.batchMaxRows, 1...100_000,
                "Flush a group's batch when it holds this many rows."
            ),
            .integer(
                "batch.max_wait_ms", \.batchMaxWaitMilliseconds, 0...600_000,
                "Flush a group's batch this many milliseconds after its first request arrived (0: at once)."
            ),
            .choice(
                "batch.group_by", \.batchGroupBy, ["subject_or_class", "request"],
                "subject_or_class: one batch per subject or class (sample requests form one group per model); request: every request is its own batch."
            ),
            .optionalChoice(
                "unlearning.method", \.unlearning.method, none: "auto",
                "Update method: newton (Newton-CG on the residual objective until ||grad F_residual|| <= unlearning.newton_tolerance; certified for logistic regression, a heuristic for MLPs), lfoci (the paper's L-FOCI block Newton step; unlearning.selection picks its block), dampening (Selective Synaptic Dampening; MLPs, heuristic), finetune (Adam on the residual rows), neggrad (NegGrad+), scrub (SCRUB), salun (SalUn); the last four are heuristics for deep models (docs/ARCHITECTURE.md, section 3.1). Only newton releases are ever certified. auto: the measured default per model kind, newton for logistic regression and dampening for MLPs (README, Methods)."
            ),
            .choice(
                "unlearning.selection", \.unlearning.selection,
                "Parameter block of the lfoci method's Newton step: lfoci (L-FOCI, the paper's method), full (every parameter), random (as many random slices as L-FOCI chose; a control), top1 (the single best slice)."
            ),
            .number(
                "unlearning.newton_tolerance", \.unlearning.newtonTolerance, .open(0, closed: 1),
                "newton stops once ||grad F_residual|| is at most this; the residual bound is this / lambda (certified for logistic regression)."
            ),
            .integer(
                "unlearning.newton_max_iterations", \.unlearning.newtonMaxIterations, 1...1000,
                "Cap on newton's Newton steps per update; an update that reaches it is not applied (rows recorded, retrain required)."
            ),
            .optionalNumber(
                "unlearning.newton_max_seconds", \.unlearning.newtonMaxSeconds, .open(0, closed: 86_400), zeroMeans: "no cap",
                "Cap on newton's wall time per update, in seconds; reaching it is handled like the step cap."
            ),
            .number(
                "unlearning.newton_damping", \.unlearning.newtonDamping, .closed(0, 100),
                "Initial Levenberg-Marquardt damping of newton on MLPs (ignored for logistic regression)."
            ),
            .integer(
                "unlearning.newton_preconditioner_rank", \.unlearning.newtonPreconditionerRank, 0...4096,
                "Rank of newton's Nyström preconditioner, built from the base model at load and after each rebase and kept in memory (logistic regression; MLPs run plain CG). 0: plain CG."
            ),
            .integer(
                "unlearning.newton_preconditioner_memory_limit", \.unlearning.newtonPreconditionerMemoryLimit, 0...(1 << 40),
                "Largest newton preconditioner kept in memory, in bytes (rank x parameters x 4 + rank x 8); a model whose preconditioner would exceed it runs plain CG, with a warning at load."
            ),
            .integer(
                "unlearning.newton_preconditioner_rows", \.unlearning.newtonPreconditionerRows, 1...10_000_000,
                "The preconditioner's products run over a seeded uniform subsample of at most this many residual rows (bounds its build time; the solves stay exact)."
            ),
            .integer(
                "unlearning.cg_max_iterations", \.unlearning.cgMaxIterations, 1...100_000,
                "Cap on conjugate-gradient iterations per linear solve (newton's steps, large lfoci blocks)."
            ),
            .number(
                "unlearning.cg_tolerance", \.unlearning.cgTolerance, .open(0, closed: 1),
                "Relative residual at which a conjugate-gradient solve stops (newton tightens it where a step needs more)."
            ),
            .number(
                "unlearning.dampening_alpha", \.unlearning.dampeningAlpha, .open(0, closed: 1_000_000),
                "dampening: a parameter is dampened when its importance on the forgotten rows exceeds this times its importance on the training rows (SSD's alpha; paper default 10)."
            ),
            .number(
                "unlearning.dampening_lambda", \.unlearning.dampeningLambda, .closed(0, 1_000_000),
                "dampening: a selected parameter is multiplied by min(this x training importance / forgotten importance, 1) (SSD's lambda; paper default 1)."
            ),
            .choice(
                "unlearning.dampening_scope", \.unlearning.dampeningScope,
                "dampening: all (every parameter may be dampened) or lfoci (only parameters of the slices L-FOCI selects)."
            ),
            .integer(
                "unlearning.dampening_repair_steps", \.unlearning.dampeningRepairSteps, 0...1_000_000,
                "dampening: residual fine-tuning steps after the dampening (finetune's loop with unlearning.finetune_batch_size and unlearning.finetune_learning_rate, every parameter); 0 keeps SSD alone."
            ),
            .integer(
                "unlearning.lfoci_steps", \.unlearning.lfociSteps, 1...1000,
                "lfoci: block Newton steps, each on a fresh L-FOCI selection (randomized block-coordinate Newton); stops early once ||grad F_residual|| stops falling. 1: the paper's single step."
            ),
            .integer(
                "unlearning.finetune_steps", \.unlearning.finetuneSteps, 0...1_000_000,
                "finetune: Adam steps on residual mini-batches of the model's own objective (also the unit of unlearning.dampening_repair_steps)."
            ),
            .integer(
                "unlearning.finetune_batch_size", \.unlearning.finetuneBatchSize, 1...100_000,
                "finetune (and the dampening repair): residual rows per mini-batch."
            ),
            .number(
                "unlearning.finetune_learning_rate", \.unlearning.finetuneLearningRate, .open(0, closed: 10),
                "finetune (and the dampening repair): Adam's learning rate."
            ),
            .choice(
                "unlearning.finetune_scope", \.unlearning.finetuneScope,
                "finetune: all (every parameter may change) or lfoci (only parameters of the slices L-FOCI selects)."
            ),
            .integer(
                "unlearning.neggrad_steps", \.unlearning.neggradSteps, 0...1_000_000,
                "neggrad: optimiser steps, each on a residual mini-batch and a mini-batch of the forgotten rows."
            ),
            .integer(
                "unlearning.neggrad_batch_size", \.unlearning.neggradBatchSize, 1...100_000,
                "neggrad: rows per mini-batch (residual and forgotten)."
            ),
            .number(
                "unlearning.neggrad_learning_rate", \.unlearning.neggradLearningRate, .open(0, closed: 10),
                "neggrad: the optimiser's learning rate."
            ),
            .number(
                "unlearning.neggrad_beta", \.unlearning.neggradBeta, .closed(0, 1),
                "neggrad: the step descends beta x residual objective - (1 - beta) x forgotten rows' loss."
            ),
            .choice(
                "unlearning.neggrad_optimizer", \.unlearning.neggradOptimizer,
                "neggrad: adam or sgd (plain, no momentum)."
            ),
            .integer(
                "unlearning.scrub_max_steps", \.unlearning.scrubMaxSteps, 0...1_000_000,
                "scrub: max-steps (ascent of the KL divergence from the teacher on a mini-batch of the forgotten rows), spread evenly before the min-steps."
            ),
            .integer(
                "unlearning.scrub_min_steps", \.unlearning.scrubMinSteps, 0...1_000_000,
                "scrub: min-steps (descent of alpha x KL + gamma x loss on residual mini-batches)."
            ),
            .integer(
                "unlearning.scrub_batch_size", \.unlearning.scrubBatchSize, 1...100_000,
                "scrub: rows per mini-batch (residual and forgotten)."
            ),
            .number(
                "unlearning.scrub_learning_rate", \.unlearning.scrubLearningRate, .open(0, closed: 10),
                "scrub: Adam's learning rate (paper default 5e-4)."
            ),
            .number(
                "unlearning.scrub_alpha", \.unlearning.scrubAlpha, .closed(0, 1_000_000),
                "scrub: weight of the KL divergence in the min-steps (paper default 0.001)."
            ),
            .number(
                "unlearning.scrub_gamma", \.unlearning.scrubGamma, .closed(0, 1_000_000),
                "scrub: weight of the residual rows' loss in the min-steps (paper default 0.99)."
            ),
            .number(
                "unlearning.scrub_temperature", \.unlearning.scrubTemperature, .open(0, closed: 1000),
                "scrub: distillation temperature of the KL divergence (paper default 4)."
            ),
            .number(
                "unlearning.salun_fraction", \.unlearning.salunFraction, .open(0, closed: 1),
                "salun: fraction of the parameters, those with the largest forget-loss gradient, that the update may change (paper default 0.5)."
            ),
            .integer(
                "unlearning.salun_steps", \.unlearning.salunSteps, 0...1_000_000,
                "salun: Adam steps, each on forgotten rows with random wrong labels plus a residual mini-batch."
            ),
            .integer(
                "unlearning.salun_batch_size", \.unlearning.salunBatchSize, 1...100_000,
                "salun: rows per mini-batch (residual and forgotten)."
            ),
            .number(
                "unlearning.salun_learning_rate", \.unlearning.salunLearningRate, .open(0, closed: 10),
                "salun: Adam's learning rate."
            ),
            .number(
                "unlearning.salun_alpha", \.unlearning.salunAlpha, .closed(0, 1_000_000),
                "salun: weight of the residual rows' loss against the random-label loss of the forgotten rows."
            ),
            .integer(
                "unlearning.dense_block_limit", \.unlearning.denseBlockLimit, 1...50_000,
                "lfoci solves blocks up to this many parameters by dense Cholesky, larger ones by conjugate gradients."
            ),
            .choice(
                "unlearning.noise_scope", \.unlearning.noiseScope,
                "Parameters that receive the Gaussian noise: all (certified: the residual bound covers the whole model) or block (the updated block only, as the paper's code; reported as not certified)."
            ),
            .boolean(
                "unlearning.noise", \.unlearning.noise,
                "Add the Gaussian noise at all; false is for accuracy experiments and claims no privacy."
            ),
            .integer(
                "unlearning.perturbations", \.unlearning.perturbations, 10...100_000,
                "Perturbed copies of the batch drawn for the slice selection (m_pert)."
            ),
            .number(
                "unlearning.input_noise_sd", \.unlearning.inputNoiseSD, .open(0, closed: 10),
                "Standard deviation of the input perturbation, in standardised input units."
            ),
            .integer(
                "unlearning.perturbation_rows", \.unlearning.perturbationRows, 1...100_000,
                "At most this many rows of a batch enter the perturbation statistics (a seeded uniform subsample beyond it)."
            ),
            .integer(
                "unlearning.max_block_parameters", \.unlearning.maxBlockParameters, 1...50_000,
                "Cap on the lfoci block's size in parameters; L-FOCI stops before exceeding it. Blocks up to unlearning.dense_block_limit take 8 p^2 bytes for their dense Hessian; larger ones are solved matrix-free."
            ),
            .integer(
                "unlearning.max_slices", \.unlearning.maxSlices, 1...10_000,
                "Cap on the number of slices L-FOCI selects."
            ),
            .optionalInteger(
                "unlearning.hessian_rows", \.unlearning.hessianRows, 1...1_000_000_000, zeroMeans: "all rows",
                "Estimate the residual Hessian on a uniform subsample of this many residual rows; 0 uses every residual row."
            ),
            .number(
                "unlearning.tie_noise_fraction", \.unlearning.tieNoiseFraction, .open(0, closed: 1),
                "L-CODEC tie-breaking noise, as a fraction of each candidate's smallest non-zero gap."
            ),
            .number(
                "unlearning.selection_level", \.unlearning.selectionLevel,
                NumberInterval(lower: 0, lowerOpen: false, upper: 0.5, upperOpen: true),
                "L-FOCI adds a slice only if its score is above what the slice scores without information (32 row permutations of it), at this level per step; 0 gives FOCI's plain rule (score > 0)."
            ),
            .seed(
                "unlearning.seed", \.unlearning.seed,
                "Seed of the perturbation sampling, slice selection and subsampling. The privacy noise never uses it: it is drawn from the system CSPRNG."
            ),
            .optionalChoice(
                "budget.mode", \.budget.mode, none: "auto",
                "certified: every release of an epoch has the noise sd budget.sigma, and a release is made only while the residual bound Delta is at most budget.sigma x budget.epsilon_step / sqrt(2 ln(1.25 / budget.delta)); otherwise the supported-removal limit is reached (convex models only). adaptive: sigma = Delta sqrt(2 ln(1.25 / delta)) / budget.epsilon_step per release, so the published sigma depends on the data (never called certified). auto: certified for logistic regression, adaptive for MLPs."
            ),
            .number(
                "budget.sigma", \.budget.sigma, .open(0, closed: 100),
                "certified: the noise standard deviation of every release of a budget epoch (README, Privacy guarantee, on choosing it)."
            ),
            .number(
                "budget.epsilon", \.budget.epsilonBudget, .open(0, closed: 1000),
                "Total privacy budget (epsilon) per budget epoch; reaching it raises the retrain alert."
            ),
            .number(
                "budget.delta", \.budget.delta, .open(0, closed: 0.01),
                "delta of the (epsilon, delta) guarantee."
            ),
            .number(
                "budget.epsilon_step", \.budget.epsilonStep,
                NumberInterval(lower: 0, lowerOpen: true, upper: 1000, upperOpen: false, upperText: "budget.epsilon"),
                "Epsilon of each release on its own (the Gaussian mechanism's calibration holds up to 1). certified: with budget.sigma it sets the largest residual bound a release may have; adaptive: sigma follows from it and the residual bound."
            ),
            .number(
                "budget.sigma_floor", \.budget.sigmaFloor,
                NumberInterval(lower: 0, lowerOpen: false, upper: 100, upperOpen: false, upperText: "budget.sigma_max"),
                "adaptive: smallest noise standard deviation ever used."
            ),
            .number(
                "budget.sigma_max", \.budget.sigmaMax, .open(0, closed: 100),
                "adaptive: largest noise standard deviation the model tolerates; a release needing more is the supported-removal limit (retrain alert)."
            ),
            .optionalInteger(
                "budget.max_removals", \.budget.maxRemovals, 1...1_000_000_000, zeroMeans: "no cap",
                "Hard cap on removed rows per budget epoch; 0 for no cap."
            ),
            .number(
                "budget.max_accuracy_drop", \.budget.maxAccuracyDrop, .closed(0, 1),
                "Largest tolerated drop of validation accuracy versus the epoch's base (the release guard); a release beyond it is refused, the served weights stay, and accuracy_drop is raised."
            ),
            .automaticNumber(
                "budget.max_update_accuracy_drop", \.budget.maxUpdateAccuracyDrop, .closed(0, 1),
                autoMeans: "two binomial standard errors of the base's validation accuracy",
                "Largest tolerated drop of validation accuracy by one heuristic update (every method on MLPs and CNNs, lfoci and dampening on logistic regression; certified newton on logistic regression is exempt), against the model before it, on the validation rows whose class keeps training rows. A step beyond it is not applied: the rows are recorded and removal_limit is raised (retrain alert). auto: 2 sqrt(p (1 - p) / n), p the epoch base's validation accuracy, n the validation rows (at least one row)."
            ),
            .integer(
                "release.every_updates", \.releaseEveryUpdates, 0...1_000_000,
                "Release (publish new noisy weights, spend budget, send a receipt) once this many updates wait; 0: only by time or on demand."
            ),
            .number(
                "release.every_seconds", \.releaseEverySeconds, .closed(0, 86_400),
                "Release once the oldest waiting update is this many seconds old; 0: only by count or on demand (unlearnctl release)."
            ),
            .integer(
                "snapshots.retain", \.snapshotsRetain, 1...1000,
                "Newest snapshots kept besides the epoch's base."
            ),
            .integer(
                "snapshots.compression_level", \.snapshotsCompressionLevel, 1...19,
                "zstd level of snapshot files."
            ),
            .string(
                "metrics.textfile", \.metricsTextfile, allowed: "path, or empty",
                "Prometheus text file rewritten atomically (node_exporter textfile collector); relative paths are under state_directory; empty disables it.",
                isValid: { _ in true }
            ),
            .integer(
                "metrics.interval_ms", \.metricsIntervalMilliseconds, 100...60_000,
                "How often the metrics file and the systemd STATUS line are refreshed."
            ),
            .choice(
                "log.level", \.logLevel, Logger.Level.allCases.map(\.rawValue),
                "Lowest level logged to stderr."
            ),
        ]
    }

    /// The `kafka.*` row of the README: librdkafka properties pass through unchecked.
    static let kafkaKeyDocumentation = (
        name: "kafka.<property>", type: "string",
        allowed: "any librdkafka property (librdkafka validates it when the client starts)",
        environmentVariable: "UNLEARND_KAFKA_<PROPERTY>",
        meaning:
            "librdkafka properties (`bootstrap.servers`, `security.protocol`, `sasl.*`, `ssl.*`, ...), passed through unchanged; secrets may come from credential files (below)."
    )

    private static let topicRule = "Kafka topic name: 1 to 249 of a-z A-Z 0-9 . _ -"

    private static func isTopicName(_ name: String) -> Bool {
        (1...249).contains(name.count) && name != "." && name != ".."
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
    }

    static let modelIDRule = "[a-z0-9][a-z0-9._-]{0,63}"

    /// Whether `id` matches `[a-z0-9][a-z0-9._-]{0,63}` (docs/ARCHITECTURE.md, section 2.1).
    static func isModelID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        func isAlphanumeric(_ b: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
        }
        return isAlphanumeric(bytes[0])
            && bytes.dropFirst().allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static var modelsKey: ConfigurationKey {
        let name = "models"
        let allowed = "at least one \"id=bundle path\"; id matches `\(modelIDRule)`, each id once"
        return ConfigurationKey(
            name: name, type: "list of strings", allowed: allowed,
            meaning:
                "Registered models: id and bundle directory. On first start a bundle becomes the model's base snapshot; from then on the state directory is the truth.",
            defaultContent: { .stringArray($0.models.map { "\($0.id)=\($0.bundle)" }) },
            apply: { configuration, reader throws(ConfigurationError) in
                let entries = try reader.list(name, allowed: allowed)
                guard !entries.isEmpty else {
                    throw reader.invalid(name, allowed: allowed, detail: "no model is registered")
                }
                var models: [Model] = []
                for entry in entries {
                    guard let equals = entry.firstIndex(of: "=") else {
                        throw reader.invalid(name, allowed: allowed, detail: "\"\(entry)\" has no \"=\"")
                    }
                    let id = String(entry[..<equals])
                    let bundle = String(entry[entry.index(after: equals)...])
                    guard isModelID(id) else {
                        throw reader.invalid(name, allowed: allowed, detail: "model id \"\(id)\" does not match \(modelIDRule)")
                    }
                    guard !bundle.isEmpty else {
                        throw reader.invalid(name, allowed: allowed, detail: "model \(id) has an empty bundle path")
                    }
                    guard !models.contains(where: { $0.id == id }) else {
                        throw reader.invalid(name, allowed: allowed, detail: "model id \(id) is registered twice")
                    }
                    models.append(Model(id: id, bundle: bundle))
                }
                configuration.models = models
            },
            render: { $0.models.map { "\($0.id)=\($0.bundle)" }.joined(separator: ",") }
        )
    }
}
