import Foundation
import UnlearningCore

/// Small helpers shared by the benchmark suites: timing, number formatting, tables, JSON output.
enum BenchTools {
    /// The default budget policy without the per-update accuracy guard: the benchmarks measure what each method does
    /// to the model, including the steps the daemon would refuse (`Unlearner+UpdateGuard.swift`); a drop cannot exceed 1.
    static let unguardedPolicy: BudgetPolicy = {
        var policy = BudgetPolicy()
        policy.maxUpdateAccuracyDrop = 1
        return policy
    }()

    /// Runs `body` once and returns its result with the wall time in seconds.
    static func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try body()
        return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// Runs `body` once and returns its result with the wall time in seconds.
    static func timedAsync<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try await body()
        return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    static func fmt(_ x: Double, _ digits: Int = 3) -> String {
        x.isFinite ? String(format: "%.\(digits)f", x) : "n/a"
    }

    static func median(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return .nan }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }

    /// The first three fields of /proc/loadavg (1, 5 and 15 minutes), printed by every suite: the cores are shared.
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// Human-readable byte count (binary units).
    static func bytes(_ n: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = n
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.1f %@", value, units[unit])
    }

    /// Prints an aligned text table.
    static func printTable(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        print("    " + line(header))
        print("    " + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for row in rows { print("    " + line(row)) }
    }

    static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(value).write(to: url, options: .atomic)
        print("\nJSON written to \(path)")
    }
}
