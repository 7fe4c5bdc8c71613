import UnlearningCore

/// What a snapshot says about itself: identity, lineage, model shape, data accounting, stream position, budget and
/// history. Stored as JSON in the safetensors `__metadata__` under ``SnapshotManifest/metadataKey``.
///
/// Versioning: `format_version` is bumped only for changes an older reader would misinterpret; readers reject a
/// newer major version with a message saying so. New optional fields can be added without a bump (unknown keys are
/// ignored on decode; optional fields default to nil). `extensions` carries component-owned data that is not yet
/// part of the schema.
public struct SnapshotManifest: Codable, Sendable, Equatable {
    public static let metadataKey = "unlearnd.manifest"
    public static let currentFormatVersion = 1

    /// Manifest schema version (``currentFormatVersion`` when written by this code).
    public var formatVersion: Int
    /// Model id, `[a-z0-9][a-z0-9._-]{0,63}`.
    public var modelId: String
    /// Snapshot version: 1 for the first snapshot of a model, +1 per snapshot; never reused.
    public var version: UInt64
    /// Version of the snapshot this one was derived from (nil for the first base).
    public var parentVersion: UInt64?
    /// SHA-256 (hex) of the parent's safetensors payload (nil for the first base).
    public var parentSHA256: String?
    /// Budget epoch: 1 for the imported base, +1 per installed retrain.
    public var budgetEpoch: Int
    /// Version of this epoch's base snapshot (equal to `version` for a base). Retention always keeps it.
    public var baseVersion: UInt64
    /// RFC 3339 time of writing.
    public var createdAt: String
    public var architecture: Architecture
    /// L2 coefficient the model was trained with.
    public var lambda: Double
    /// Rows in the original training set.
    public var n0: Int
    /// Rows still in the residual training set (n0 minus tombstoned rows).
    public var residualN: Int
    /// Training-set row indices removed since the base of this epoch (and before).
    public var tombstones: RowSet
    /// Next Kafka offset to consume per topic partition (the position after the last applied request).
    public var kafkaOffsets: [KafkaOffset]
    /// Request ids applied since the base (for replay de-duplication).
    public var appliedRequestIds: [String]
    /// The privacy accountant / removal-limit state; its schema belongs to the engine.
    public var budget: JSONValue
    /// One record per update and per release since the base, oldest first (`UpdateRecord`).
    public var updates: [UpdateRecord]
    /// Component-owned additions not yet in the schema.
    public var extensions: [String: JSONValue]?

    private enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case modelId = "model_id"
        case version
        case parentVersion = "parent_version"
        case parentSHA256 = "parent_sha256"
        case budgetEpoch = "budget_epoch"
        case baseVersion = "base_version"
        case createdAt = "created_at"
        case architecture, lambda, n0
        case residualN = "residual_n"
        case tombstones
        case kafkaOffsets = "kafka_offsets"
        case appliedRequestIds = "applied_request_ids"
        case budget, updates, extensions
    }

    public struct KafkaOffset: Codable, Sendable, Equatable, Hashable {
        public var topic: String
        public var partition: Int32
        public var nextOffset: Int64

        private enum CodingKeys: String, CodingKey {
            case topic, partition
            case nextOffset = "next_offset"
        }

        public init(topic: String, partition: Int32, nextOffset: Int64) {
            self.topic = topic
            self.partition = partition
            self.nextOffset = nextOffset
        }
    }

    /// A parameter slice: one output unit of one dense layer (its weight row plus bias).
    public struct SliceRef: Codable, Sendable, Equatable, Hashable {
        public var layer: Int
        public var unit: Int

        public init(layer: Int, unit: Int) {
            self.layer = layer
            self.unit = unit
        }
    }

    public init(
        modelId: String, version: UInt64, parentVersion: UInt64?, parentSHA256: String?, budgetEpoch: Int,
        baseVersion: UInt64, createdAt: String, architecture: Architecture, lambda: Double, n0: Int,
        residualN: Int, tombstones: RowSet = RowSet(), kafkaOffsets: [KafkaOffset] = [],
        appliedRequestIds: [String] = [], budget: JSONValue = .object([:]), updates: [UpdateRecord] = [],
        extensions: [String: JSONValue]? = nil
    ) {
        self.formatVersion = Self.currentFormatVersion
        self.modelId = modelId
        self.version = version
        self.parentVersion = parentVersion
        self.parentSHA256 = parentSHA256
        self.budgetEpoch = budgetEpoch
        self.baseVersion = baseVersion
        self.createdAt = createdAt
        self.architecture = architecture
        self.lambda = lambda
        self.n0 = n0
        self.residualN = residualN
        self.tombstones = tombstones
        self.kafkaOffsets = kafkaOffsets
        self.appliedRequestIds = appliedRequestIds
        self.budget = budget
        self.updates = updates
        self.extensions = extensions
    }

    /// True for the base snapshot of a budget epoch.
    public var isBase: Bool { baseVersion == version }

    /// Throws unless the manifest is internally consistent.
    public func validate() throws {
        guard formatVersion >= 1, formatVersion <= Self.currentFormatVersion else {
            throw CheckpointError(
                .malformedManifest,
                "manifest format version \(formatVersion) is not supported (this build reads 1...\(Self.currentFormatVersion)); upgrade unlearnd")
        }
        guard Self.isValidModelId(modelId) else {
            throw CheckpointError(.malformedManifest, "model id \"\(modelId.prefix(80))\" does not match [a-z0-9][a-z0-9._-]{0,63}")
        }
        guard version >= 1, baseVersion >= 1, baseVersion <= version else {
            throw CheckpointError(.malformedManifest, "version \(version) / base version \(baseVersion) out of order")
        }
        if let parentVersion, parentVersion >= version {
            throw CheckpointError(.malformedManifest, "parent version \(parentVersion) is not older than version \(version)")
        }
        if let parentSHA256, SHA256.Digest(hex: parentSHA256) == nil {
            throw CheckpointError(.malformedManifest, "parent SHA-256 is not 64 hex digits")
        }
        try architecture.validateForSnapshot()
        guard n0 >= 0, residualN >= 0, residualN <= n0 else {
            throw CheckpointError(.malformedManifest, "residual n \(residualN) is not within 0...n0 (\(n0))")
        }
        if let last = tombstones.ranges.last, last.upperBound > n0 {
            throw CheckpointError(.malformedManifest, "tombstone row \(last.upperBound - 1) is beyond n0 (\(n0))")
        }
    }

    /// `[a-z0-9][a-z0-9._-]{0,63}`.
    public static func isValidModelId(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        func alnum(_ c: UInt8) -> Bool { (0x61...0x7A).contains(c) || (0x30...0x39).contains(c) }
        guard alnum(bytes[0]) else { return false }
        return bytes.dropFirst().allSatisfy { alnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }
}
