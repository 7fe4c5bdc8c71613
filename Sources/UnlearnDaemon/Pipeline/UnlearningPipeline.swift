import Checkpoints
import Foundation
import KafkaLog
import Logging
import ServiceLifecycle
import UnlearningCore

/// The daemon's one long-running service: consume deletion requests, validate, batch, unlearn, write the
/// snapshot that records offsets and request ids, then commit (docs/ARCHITECTURE.md, section 4).
public final class UnlearningPipeline: Service, Sendable {
    let configuration: DaemonConfiguration
    let logger: Logger
    let metrics: DaemonMetrics
    let notifier: SystemdNotifier
    let engine = EngineQueue()
    let runtimes: RuntimeTable
    /// The models' recorded offsets, for the rebalance callback.
    let offsetBook = LockedValue(OffsetClaims())
    let stopping = LockedValue(false)

    public init(configuration: DaemonConfiguration, logger: Logger, metrics: DaemonMetrics, notifier: SystemdNotifier) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.notifier = notifier
        self.runtimes = RuntimeTable()
    }

    public func run() async throws {
        logger.notice(
            "unlearnd starting",
            metadata: [
                LogKey.librdkafka: "\(LibRdKafka.version)",
                LogKey.blasKernels: "\(BLASLibrary.coreName)",
                LogKey.config: "\(configuration.models.count) models, group \(configuration.groupID), topic \(configuration.deletionsTopic)",
            ]
        )
        if !LibRdKafka.meetsProductionMinimum {
            logger.warning(
                "librdkafka is older than the minimum for production brokers",
                metadata: [
                    LogKey.librdkafka: "\(LibRdKafka.version)",
                    LogKey.reason: """
                    use librdkafka >= \(LibRdKafka.minimumProductionVersion) against real brokers \
                    (KRaft ApiVersions tagged fields); the dev broker works
                    """,
                ]
            )
        }
        if let better = BLASLibrary.kernelsToForce {
            logger.warning(
                "OpenBLAS chose kernels that do not use this CPU's vector units",
                metadata: [
                    LogKey.blasKernels: "\(BLASLibrary.coreName)",
                    LogKey.reason: """
                    this OpenBLAS does not recognise the CPU model and fell back to its \(BLASLibrary.coreName) kernels, \
                    and unlearnd could not restart itself with better ones; set OPENBLAS_CORETYPE=\(better) in the \
                    daemon's environment (/etc/unlearnd/unlearnd.env) to use its AVX2/AVX-512 kernels (README, Install \
                    as a service)
                    """,
                ]
            )
        }
        try await openModels()
        let kafka = KafkaConfiguration(configuration.kafka)
        let producer = try KafkaProducer(configuration: kafka, logger: logger)
        let book = offsetBook
        var consumerProperties = configuration.kafka
        if consumerProperties["statistics.interval.ms"] == nil { consumerProperties["statistics.interval.ms"] = "5000" }
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(consumerProperties), groupID: configuration.groupID, logger: logger,
            startOffsets: { [topic = configuration.deletionsTopic] assigned in
                let claims = book.withLock { $0 }
                var starts: [KafkaTopicPartition: Int64] = [:]
                for tp in assigned where tp.topic == topic {
                    if let o = claims.start(tp.partition) { starts[tp] = o }
                }
                return starts
            }
        )
        try consumer.subscribe(topics: [configuration.deletionsTopic])
        var loop = Loop(pipeline: self, consumer: consumer, producer: producer)
        try await loop.start()
        notifier.ready(status: "consuming \(configuration.deletionsTopic)")
        logger.notice("unlearnd ready", metadata: [LogKey.topic: "\(configuration.deletionsTopic)"])

        try await withGracefulShutdownHandler {
            try await loop.run()
        } onGracefulShutdown: { [stopping] in
            stopping.withLock { $0 = true }
        }
        notifier.stopping(status: "shutting down")
        try await loop.shutdown()
        try? await consumer.close()
        try? await producer.flush(timeout: .seconds(5))
        try? await producer.close(timeout: .seconds(5))
        logger.notice("unlearnd stopped")
    }

    func openModels() async throws {
        let configuration = configuration
        let logger = logger
        let table = runtimes
        try await engine.run {
            for model in configuration.models {
                let runtime = try ModelRuntime.open(
                    id: model.id, bundlePath: model.bundle, stateDirectory: configuration.stateDirectory,
                    retain: configuration.snapshotsRetain, compressionLevel: Int32(configuration.snapshotsCompressionLevel),
                    logger: logger
                )
                if configuration.budget.mode == .certified && !runtime.state.model.architecture.isConvex {
                    throw DaemonExit(
                        status: 78,
                        reason:
                            "model \(model.id) has hidden layers: budget.mode certified needs a convex model (logistic regression); use auto or adaptive"
                    )
                }
                runtime.prepareNewtonPreconditioner(options: configuration.unlearning)
                table.set(runtime, for: model.id)
            }
        }
        await refreshModels()
        await publishModelMetrics()
    }

    /// Re-reads every model's recorded offsets into the book read by the rebalance callback, and returns the models
    /// waiting for a retrain (for the state machine's status), or nil if the engine could not be asked.
    @discardableResult
    func refreshModels() async -> Set<String>? {
        let topic = configuration.deletionsTopic
        guard
            let models = try? await engine.run({ [runtimes] in
                runtimes.all.map { runtime in
                    (
                        id: runtime.id,
                        offsets: Dictionary(runtime.recordedOffsets.filter { $0.topic == topic }.map { ($0.partition, $0.nextOffset) }) {
                            max($0, $1)
                        },
                        replaying: runtime.replaying, retrainRequired: runtime.state.budget.retrainRequired
                    )
                }
            })
        else { return nil }
        offsetBook.withLock { book in
            book.replaying = []
            for model in models { book.add(model.offsets, replaying: model.replaying) }
        }
        return Set(models.filter(\.retrainRequired).map(\.id))
    }

    func publishModelMetrics() async {
        let policy = configuration.budget
        let metrics = metrics
        _ = try? await engine.run { [runtimes] in
            for runtime in runtimes.all {
                let budget = runtime.state.budget
                metrics.budget(
                    model: runtime.id, epsilonSpent: budget.epsilonSpent(delta: policy.delta), epsilonBudget: policy.epsilonBudget,
                    removals: budget.removedRows, residualRows: runtime.state.residualCount,
                    retrainRequired: budget.retrainRequired, epoch: runtime.manifest.budgetEpoch, version: runtime.manifest.version
                )
                metrics.newtonPreconditioner(model: runtime.id, bytes: runtime.state.newtonPreconditioning?.bytes ?? 0)
            }
        }
    }

    var isStopping: Bool { stopping.withLock { $0 } }
}
