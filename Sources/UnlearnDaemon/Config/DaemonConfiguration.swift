import KafkaLog
import UnlearningCore

/// Everything `unlearnd` can be configured with. Defaults are the documented defaults (Config/README.md);
/// `DaemonConfiguration.load` fills it from the JSON file, the environment and command-line overrides.
public struct DaemonConfiguration: Sendable, Equatable {
    /// A registered model: its id and the bundle it was trained as (read-only to the daemon).
    public struct Model: Sendable, Equatable {
        public var id: String
        public var bundle: String

        public init(id: String, bundle: String) {
            self.id = id
            self.bundle = bundle
        }
    }

    /// `state_directory`: where snapshots, exclusion lists and metrics live (systemd: StateDirectory=).
    public var stateDirectory: String = "/var/lib/unlearnd"
    /// `models`: registered models, as "id=bundle path" strings in the file.
    public var models: [Model] = []

    /// `kafka.*`: librdkafka properties passed through unchanged (bootstrap.servers, security.protocol, sasl.*,
    /// ssl.*, ...). Secrets may come from files instead (`$CREDENTIALS_DIRECTORY/kafka.<property>`).
    public var kafka: [String: String] = ["bootstrap.servers": "localhost:9092"]
    /// `kafka.*` properties whose values are secret although their names do not say so
    /// (`KafkaConfiguration.isSecret(_:)`): the ones read from credential files. Never log their values.
    public var secretKafkaProperties: Set<String> = []
    /// `consumer.group_id`: the consumer group shared by all daemons that split the models between them.
    public var groupID: String = "unlearnd"
    /// `topics.deletions`, `topics.dead_letter`, `topics.alerts`, `topics.receipts`.
    public var deletionsTopic: String = "unlearn.deletions"
    public var deadLetterTopic: String = "unlearn.deletions.dlq"
    public var alertsTopic: String = "unlearn.alerts"
    public var receiptsTopic: String = "unlearn.receipts"

    /// `batch.max_rows`: flush a group's batch when it holds this many rows.
    public var batchMaxRows: Int = 256
    /// `batch.max_wait_ms`: flush a group's batch this long after its first request arrived.
    public var batchMaxWaitMilliseconds: Int = 200
    /// `batch.group_by`: "subject_or_class" (default; sample requests form one group per model) or "request".
    public var batchGroupBy: String = "subject_or_class"

    /// `unlearning.*`: how updates are computed (UnlearningOptions).
    public var unlearning = UnlearningOptions()
    /// `budget.*`: privacy budget and removal limits (BudgetPolicy).
    public var budget = BudgetPolicy()

    /// `release.every_updates`, `release.every_seconds`: the release cadence (docs/ARCHITECTURE.md, section 3.3).
    /// Updates change the noise-free state at once; a release publishes it after this many waiting updates, or once
    /// the oldest waiting update is this old (0 disables a rule), or on `unlearnctl release`.
    public var releaseEveryUpdates: Int = 10
    public var releaseEverySeconds: Double = 30

    /// `snapshots.retain`: newest snapshots kept besides the epoch's base.
    public var snapshotsRetain: Int = 8
    /// `snapshots.compression_level`: zstd level of snapshot files (1...19).
    public var snapshotsCompressionLevel: Int = 3

    /// `metrics.textfile`: Prometheus text file rewritten atomically (node_exporter textfile collector);
    /// empty to disable. Relative paths are under the state directory.
    public var metricsTextfile: String = "metrics/unlearnd.prom"
    /// `metrics.interval_ms`: how often the metrics file and the systemd STATUS line are refreshed.
    public var metricsIntervalMilliseconds: Int = 1000

    /// `log.level`: trace, debug, info, notice, warning, error, critical.
    public var logLevel: String = "info"

    /// The JSON file the configuration was read from; nil when there was none (the default path is optional).
    /// Not a key: `load` records it so that the daemon can say at start which file it used.
    public var configurationFile: String? = nil

    public init() {}
}
