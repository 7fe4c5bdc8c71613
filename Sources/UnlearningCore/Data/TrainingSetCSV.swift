/// Parser for the training-set CSV format: a header `sample_id,subject,label,<feature>...` and one row per sample.
///
/// `subject` may be empty (no identity). Features must be finite numbers; labels integers in 0..<classes.
/// Quoting is not supported: ids and subjects are plain tokens without commas, which the parser checks
/// by requiring every row to have exactly as many cells as the header.
public enum TrainingSetCSV {
    public static let fixedColumns = ["sample_id", "subject", "label"]

    /// A defect in a CSV file, located by 1-based line and column as an editor shows them.
    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var file: String
        public var line: Int
        public var column: Int?
        public var columnName: String?
        public var reason: String

        public var description: String {
            var place = "\(file):\(line)"
            if let column { place += ":\(column)" }
            if let columnName { place += " (column \"\(columnName)\")" }
            return "\(place): \(reason)"
        }
    }

    /// Parses UTF-8 CSV bytes. `classes`, when given, bounds the labels; otherwise any label >= 0 is accepted.
    public static func parse(_ bytes: [UInt8], file: String, classes: Int? = nil) throws(ParseError) -> Dataset {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let headerLine = lines.first else {
            throw ParseError(file: file, line: 1, reason: "the file is empty; expected a header line sample_id,subject,label,x0,...")
        }
        let header = cells(headerLine).map { String(decoding: $0, as: UTF8.self) }
        guard Array(header.prefix(3)) == fixedColumns else {
            throw ParseError(
                file: file, line: 1,
                reason:
                    "header starts with \"\(header.prefix(3).joined(separator: ","))\"; expected \"sample_id,subject,label\" followed by feature names"
            )
        }
        let featureNames = Array(header.dropFirst(3))
        guard !featureNames.isEmpty else {
            throw ParseError(file: file, line: 1, reason: "no feature columns after sample_id,subject,label")
        }
        let d = featureNames.count
        let n = lines.count - 1
        guard n > 0 else { throw ParseError(file: file, line: 2, reason: "the file has a header but no data rows") }

        // Filled row by row as cells parse, never sized from the line and column counts alone: a header of many
        // commas over many empty lines would otherwise allocate rows x columns doubles from a few kilobytes.
        var storage: [Double] = []
        // A valid row spends at least two bytes per feature (a digit and a separator).
        storage.reserveCapacity(min(n, bytes.count / (2 * d)) * d)
        var labels: [Int] = []
        var ids: [String] = []
        var subjects: [String?] = []
        labels.reserveCapacity(n)
        ids.reserveCapacity(n)
        subjects.reserveCapacity(n)
        var seen = Set<String>()
        for r in 0..<n {
            let lineNumber = r + 2
            var line = lines[r + 1]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            let row = cells(line)
            guard row.count == header.count else {
                throw ParseError(
                    file: file, line: lineNumber,
                    reason: "row has \(row.count) cells, the header has \(header.count); every row needs one value per column"
                )
            }
            let id = String(decoding: row[0], as: UTF8.self)
            guard !id.isEmpty else {
                throw ParseError(file: file, line: lineNumber, column: 1, columnName: "sample_id", reason: "sample_id is empty")
            }
            guard seen.insert(id).inserted else {
                throw ParseError(file: file, line: lineNumber, column: 1, columnName: "sample_id", reason: "duplicate sample_id; ids must be unique")
            }
            ids.append(id)
            let subject = String(decoding: row[1], as: UTF8.self)
            subjects.append(subject.isEmpty ? nil : subject)
            let labelText = String(decoding: row[2], as: UTF8.self)
            guard let label = Int(labelText) else {
                throw ParseError(
                    file: file, line: lineNumber, column: 3, columnName: "label", reason: "label \"\(labelText.prefix(40))\" is not an integer")
            }
            guard label >= 0, label < (classes ?? Int.max) else {
                let range = classes.map { "0..<\($0)" } ?? ">= 0"
                throw ParseError(file: file, line: lineNumber, column: 3, columnName: "label", reason: "label \(label) is out of range (\(range))")
            }
            labels.append(label)
            for j in 0..<d {
                let cell = row[3 + j]
                guard let value = parseDouble(cell) else {
                    throw ParseError(
                        file: file, line: lineNumber, column: 4 + j, columnName: featureNames[j],
                        reason: "\"\(String(decoding: cell.prefix(40), as: UTF8.self))\" is not a number"
                    )
                }
                guard value.isFinite else {
                    throw ParseError(
                        file: file, line: lineNumber, column: 4 + j, columnName: featureNames[j],
                        reason: "value is \(value); features must be finite (impute or drop missing values first)"
                    )
                }
                storage.append(value)
            }
        }
        return Dataset(
            features: Matrix(rows: n, cols: d, storage: storage), labels: labels, sampleIDs: ids, subjects: subjects, featureNames: featureNames)
    }

    /// Renders a dataset in the same format (features printed exactly: Swift's shortest round-trip form).
    public static func render(_ data: Dataset) -> [UInt8] {
        var out = ""
        out.reserveCapacity(data.count * data.features.cols * 4)
        out += (fixedColumns + data.featureNames).joined(separator: ",") + "\n"
        for i in 0..<data.count {
            out += data.sampleIDs[i] + "," + (data.subjects[i] ?? "") + "," + String(data.labels[i])
            for j in 0..<data.features.cols {
                let v = data.features[i, j]
                out += ","
                if v == v.rounded(), abs(v) < 1e15 { out += String(Int64(v)) } else { out += "\(v)" }
            }
            out += "\n"
        }
        return Array(out.utf8)
    }

    private static func cells(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
    }

    private static func parseDouble(_ cell: ArraySlice<UInt8>) -> Double? {
        // Fast path for plain integers (the bundled data), strtod-equivalent otherwise.
        var value = 0
        var negative = false
        var index = cell.startIndex
        if index < cell.endIndex, cell[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        if index < cell.endIndex, cell.endIndex - index <= 15 {
            var allDigits = true
            for c in cell[index...] {
                guard c >= 48 && c <= 57 else {
                    allDigits = false
                    break
                }
                value = value * 10 + Int(c - 48)
            }
            if allDigits { return Double(negative ? -value : value) }
        }
        let text = String(decoding: cell, as: UTF8.self).trimmingSpaces
        guard !text.isEmpty else { return nil }
        return Double(text)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
