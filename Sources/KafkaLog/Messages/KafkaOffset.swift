/// librdkafka's logical offsets.
public enum KafkaOffset {
    /// Start at the beginning of the partition.
    public static let beginning: Int64 = -2
    /// Start at the end of the partition (only new messages).
    public static let end: Int64 = -1
    /// Use the committed offset (or `auto.offset.reset` if there is none).
    public static let stored: Int64 = -1000
    /// No offset (e.g. nothing committed yet).
    public static let invalid: Int64 = -1001

    static func describe(_ offset: Int64) -> String {
        switch offset {
        case beginning: "beginning"
        case end: "end"
        case stored: "stored"
        case invalid: "invalid"
        default: String(offset)
        }
    }
}
