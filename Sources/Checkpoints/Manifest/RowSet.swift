/// A set of training-row indices stored compactly as sorted, disjoint, non-adjacent ranges.
///
/// JSON form: `{"count": 7, "ranges": "3-5,9,12-14"}` (inclusive ranges, ascending; `count` is redundant and
/// checked on decode). Deletions by subject or class remove runs of rows, which this keeps short; the whole
/// manifest is zstd-compressed with the snapshot, which takes care of the rest.
public struct RowSet: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Half-open ranges, sorted, disjoint and non-adjacent.
    public private(set) var ranges: [Range<Int>]

    public init() { ranges = [] }

    public init<S: Sequence>(_ rows: S) where S.Element == Int {
        self.init()
        for row in rows.sorted() { insertSortedTail(row) }
    }

    public var count: Int { ranges.reduce(0) { $0 + $1.count } }
    public var isEmpty: Bool { ranges.isEmpty }

    public func contains(_ row: Int) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].upperBound <= row { low = mid + 1 } else { high = mid }
        }
        return low < ranges.count && ranges[low].contains(row)
    }

    /// Every row, ascending.
    public var rows: [Int] { ranges.flatMap { Array($0) } }

    public mutating func insert(_ row: Int) {
        precondition(row >= 0, "row indices are non-negative")
        formUnion(RowSet(ranges: [row..<(row + 1)]))
    }

    public mutating func formUnion(_ other: RowSet) {
        var merged = [Range<Int>]()
        merged.reserveCapacity(ranges.count + other.ranges.count)
        var a = 0
        var b = 0
        while a < ranges.count || b < other.ranges.count {
            let next: Range<Int>
            if b >= other.ranges.count || (a < ranges.count && ranges[a].lowerBound <= other.ranges[b].lowerBound) {
                next = ranges[a]
                a += 1
            } else {
                next = other.ranges[b]
                b += 1
            }
            if let last = merged.last, next.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, next.upperBound)
            } else {
                merged.append(next)
            }
        }
        ranges = merged
    }

    private init(ranges: [Range<Int>]) { self.ranges = ranges }

    private mutating func insertSortedTail(_ row: Int) {
        precondition(row >= 0, "row indices are non-negative")
        if let last = ranges.last {
            if last.contains(row) { return }
            if last.upperBound == row {
                ranges[ranges.count - 1] = last.lowerBound..<(row + 1)
                return
            }
        }
        ranges.append(row..<(row + 1))
    }

    /// `3-5,9,12-14`.
    public var description: String {
        ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound - 1)" }
            .joined(separator: ",")
    }

    private enum CodingKeys: String, CodingKey { case count, ranges }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        try container.encode(description, forKey: .ranges)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let count = try container.decode(Int.self, forKey: .count)
        let text = try container.decode(String.self, forKey: .ranges)
        var ranges = [Range<Int>]()
        if !text.isEmpty {
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
                guard (1...2).contains(bounds.count), let low = Int(bounds[0]), low >= 0,
                    let high = bounds.count == 2 ? Int(bounds[1]) : low, high >= low, high < Int.max
                else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .ranges, in: container, debugDescription: "bad row range \"\(part.prefix(40))\"")
                }
                if let last = ranges.last, low <= last.upperBound {
                    throw DecodingError.dataCorruptedError(
                        forKey: .ranges, in: container, debugDescription: "row ranges not ascending and disjoint at \"\(part.prefix(40))\"")
                }
                ranges.append(low..<(high + 1))
            }
        }
        self.ranges = ranges
        guard self.count == count else {
            throw DecodingError.dataCorruptedError(
                forKey: .count, in: container, debugDescription: "count \(count) but the ranges hold \(self.count) rows")
        }
    }
}
