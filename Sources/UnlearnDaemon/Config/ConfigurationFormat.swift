import Foundation

/// How configuration values are written as text: in the summary, in error messages and in Config/README.md,
/// and how text from the environment, `--set` and credential files is read.
enum ConfigurationFormat {
    /// Shown instead of a secret value.
    static let redacted = "<redacted>"

    /// A number as an operator writes it: `0.1`, `1e-5`, `10` (not `1e-05` or `10.0`).
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(describing: value).replacingOccurrences(of: "e-0", with: "e-")
    }

    /// Booleans in text: true/false, yes/no, on/off, 1/0 (any case), as systemd and swift-configuration accept.
    static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }

    /// A list in text: comma-separated, blanks around items ignored, empty text is the empty list.
    static func list(_ text: String) -> [String] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return [] }
        return trimmed.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    /// The environment variable of a key: `batch.max_rows` is `UNLEARND_BATCH_MAX_ROWS`.
    static func environmentVariable(for key: String) -> String {
        "UNLEARND_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// The closest candidate within a few edits, for "did you mean" hints.
    static func suggestion(for name: String, among candidates: some Sequence<String>) -> String? {
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(name, candidate)
            if distance <= max(2, name.count / 4), distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
