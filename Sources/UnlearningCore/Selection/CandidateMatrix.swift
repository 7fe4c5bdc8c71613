/// The candidate variables of a selection: `sampleCount` samples (m) of `variableCount` variables (p),
/// stored **column-major**: variable `j` occupies `values[j * sampleCount ..< (j + 1) * sampleCount]`.
///
/// Column-major because every kernel of L-FOCI walks one candidate's m values at a time (its sort order, its
/// coordinate in the nearest-neighbour search); a contiguous column keeps that walk in cache. The unlearning
/// engine records one activation vector per perturbation sample, i.e. rows = samples: build from that with
/// `init(samplesAsRows:)`, which transposes once (O(mp), negligible next to the selection).
public struct CandidateMatrix: Sendable, Equatable {
    /// m: samples (rows of the data, e.g. perturbation draws).
    public let sampleCount: Int
    /// p: candidate variables (e.g. network slices).
    public let variableCount: Int
    /// Column-major values; see the type's documentation.
    public let values: [Double]

    /// Wraps a column-major buffer of `sampleCount * variableCount` values (variable j's samples contiguous).
    public init(sampleCount: Int, variableCount: Int, columnMajor values: [Double]) throws(SelectionError) {
        guard sampleCount >= 0, variableCount >= 0, values.count == sampleCount * variableCount else {
            throw SelectionError(
                .lengthMismatch,
                "column-major buffer has \(values.count) values, expected sampleCount * variableCount = "
                    + "\(sampleCount) * \(variableCount); pass one value per (sample, variable)"
            )
        }
        self.sampleCount = sampleCount
        self.variableCount = variableCount
        self.values = values
    }

    /// One array per variable, each holding that variable's value for every sample (all the same length).
    public init(columns: [[Double]]) throws(SelectionError) {
        let m = columns.first?.count ?? 0
        var values = [Double]()
        values.reserveCapacity(m * columns.count)
        for (j, column) in columns.enumerated() {
            guard column.count == m else {
                throw SelectionError(
                    .lengthMismatch,
                    "candidate \(j) has \(column.count) values but candidate 0 has \(m); every candidate needs one "
                        + "value per sample"
                )
            }
            values.append(contentsOf: column)
        }
        self.sampleCount = m
        self.variableCount = columns.count
        self.values = values
    }

    /// From a matrix with one row per sample and one column per variable (transposed once into columns).
    public init(samplesAsRows matrix: Matrix) {
        self.sampleCount = matrix.rows
        self.variableCount = matrix.cols
        self.values = matrix.transposed.storage
    }

    /// From a matrix with one row per variable and one column per sample (already column-major; no copy).
    public init(variablesAsRows matrix: Matrix) {
        self.sampleCount = matrix.cols
        self.variableCount = matrix.rows
        self.values = matrix.storage
    }

    /// Variable `j`'s values, one per sample.
    public func column(_ j: Int) -> ArraySlice<Double> {
        precondition(j >= 0 && j < variableCount, "candidate index \(j) out of range 0..<\(variableCount)")
        return values[(j * sampleCount)..<((j + 1) * sampleCount)]
    }
}
