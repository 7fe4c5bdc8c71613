/// Labelled rows the model is trained on, with a stable id per row and an optional subject (identity).
public struct Dataset: Sendable, Equatable {
    /// n x d features.
    public var features: Matrix
    /// Class label of each row, in 0..<classes.
    public var labels: [Int]
    /// Stable, unique id of each row.
    public var sampleIDs: [String]
    /// Identity each row belongs to (nil when unknown).
    public var subjects: [String?]
    public var featureNames: [String]

    public init(features: Matrix, labels: [Int], sampleIDs: [String], subjects: [String?], featureNames: [String]) {
        precondition(labels.count == features.rows && sampleIDs.count == features.rows && subjects.count == features.rows)
        precondition(featureNames.count == features.cols)
        self.features = features
        self.labels = labels
        self.sampleIDs = sampleIDs
        self.subjects = subjects
        self.featureNames = featureNames
    }

    public var count: Int { labels.count }

    /// The rows at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        Dataset(
            features: features.selectingRows(indices),
            labels: indices.map { labels[$0] },
            sampleIDs: indices.map { sampleIDs[$0] },
            subjects: indices.map { subjects[$0] },
            featureNames: featureNames
        )
    }

    /// The training rows of each subject (rows without a subject are left out).
    public var rowsBySubject: [String: [Int]] {
        var rows: [String: [Int]] = [:]
        for (i, s) in subjects.enumerated() { if let s { rows[s, default: []].append(i) } }
        return rows
    }

    /// `splitBySubject`, then both sides standardised with statistics fitted on the training side.
    public func standardizedSplit(validationFraction fraction: Double, seed: UInt64)
        -> (train: Dataset, validation: Dataset, standardization: Standardization)
    {
        var (train, validation) = splitBySubject(validationFraction: fraction, seed: seed)
        let standardization = Standardization(fitting: train.features)
        train.features = standardization.apply(train.features)
        validation.features = standardization.apply(validation.features)
        return (train, validation, standardization)
    }

    /// Splits by subject so that no identity appears on both sides: whole subjects (rows without a subject count
    /// as singletons) are drawn into validation in a seeded random order until it holds `fraction` of the rows.
    public func splitBySubject(validationFraction fraction: Double, seed: UInt64) -> (train: Dataset, validation: Dataset) {
        var groups: [String: [Int]] = [:]
        var order: [String] = []
        for i in 0..<count {
            let key = subjects[i].map { "s:" + $0 } ?? "r:\(i)"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(i)
        }
        var rng = SeededGenerator(seed: seed)
        order.shuffle(using: &rng)
        let target = Int((Double(count) * fraction).rounded())
        var validation: [Int] = []
        var train: [Int] = []
        for key in order {
            if validation.count < target { validation += groups[key]! } else { train += groups[key]! }
        }
        return (subset(train.sorted()), subset(validation.sorted()))
    }
}
