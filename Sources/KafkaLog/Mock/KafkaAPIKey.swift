/// A Kafka protocol API key (the request type), for mock-cluster error injection.
public struct KafkaAPIKey: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int16

    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// The key for a protocol name (`Produce`, `OffsetCommit`, case-insensitive) or a decimal number.
    public init?(name: String) {
        if let number = Int16(name), number >= 0 {
            self.init(rawValue: number)
            return
        }
        guard let index = Self.names.firstIndex(where: { $0.lowercased() == name.lowercased() }) else {
            return nil
        }
        self.init(rawValue: Int16(index))
    }

    /// The protocol name, e.g. `Produce`.
    public var name: String {
        Int(rawValue) < Self.names.count ? Self.names[Int(rawValue)] : "ApiKey\(rawValue)"
    }

    public var description: String { "\(name)(\(rawValue))" }

    /// Protocol names by key, as in the Kafka protocol guide (0 through 50).
    public static let names = [
        "Produce", "Fetch", "ListOffsets", "Metadata", "LeaderAndIsr", "StopReplica", "UpdateMetadata",
        "ControlledShutdown", "OffsetCommit", "OffsetFetch", "FindCoordinator", "JoinGroup", "Heartbeat",
        "LeaveGroup", "SyncGroup", "DescribeGroups", "ListGroups", "SaslHandshake", "ApiVersions", "CreateTopics",
        "DeleteTopics", "DeleteRecords", "InitProducerId", "OffsetForLeaderEpoch", "AddPartitionsToTxn",
        "AddOffsetsToTxn", "EndTxn", "WriteTxnMarkers", "TxnOffsetCommit", "DescribeAcls", "CreateAcls",
        "DeleteAcls", "DescribeConfigs", "AlterConfigs", "AlterReplicaLogDirs", "DescribeLogDirs",
        "SaslAuthenticate", "CreatePartitions", "CreateDelegationToken", "RenewDelegationToken",
        "ExpireDelegationToken", "DescribeDelegationToken", "DeleteGroups", "ElectLeaders",
        "IncrementalAlterConfigs", "AlterPartitionReassignments", "ListPartitionReassignments", "OffsetDelete",
        "DescribeClientQuotas", "AlterClientQuotas", "DescribeUserScramCredentials",
    ]

    public static let produce = KafkaAPIKey(rawValue: 0)
    public static let fetch = KafkaAPIKey(rawValue: 1)
    public static let metadata = KafkaAPIKey(rawValue: 3)
    public static let offsetCommit = KafkaAPIKey(rawValue: 8)
    public static let offsetFetch = KafkaAPIKey(rawValue: 9)
    public static let findCoordinator = KafkaAPIKey(rawValue: 10)
    public static let joinGroup = KafkaAPIKey(rawValue: 11)
    public static let heartbeat = KafkaAPIKey(rawValue: 12)
    public static let syncGroup = KafkaAPIKey(rawValue: 14)
}
