import UnlearningCore

/// Resolves the selections of deletion requests to training-row indices. Sample ids and subjects match by their exact
/// UTF-8 bytes (two spellings of "café" are two identities).
public struct RowIndex: Sendable {
    private var bySample: [ExactText: Int] = [:]
    private var bySubject: [ExactText: [Int]] = [:]
    private var byClass: [Int: [Int]] = [:]
    public let classes: Int

    public init(_ train: Dataset, classes: Int) {
        self.classes = classes
        for i in 0..<train.count {
            bySample[ExactText(train.sampleIDs[i])] = i
            if let s = train.subjects[i] { bySubject[ExactText(s), default: []].append(i) }
            byClass[train.labels[i], default: []].append(i)
        }
    }

    /// The training rows a request selects (removed or not), or why it selects nothing valid.
    public func rows(for scope: DeletionRequest.Scope) -> Result<[Int], RejectionReason> {
        switch scope {
        case .samples(let ids):
            var rows: [Int] = []
            rows.reserveCapacity(ids.count)
            for (i, id) in ids.enumerated() {
                guard let row = bySample[ExactText(id)] else {
                    return .failure(
                        RejectionReason(
                            RejectionReason.unknownSample,
                            "sample_ids[\(i)] is not a training sample of this model; check the id against the model's training set"
                        ))
                }
                rows.append(row)
            }
            return .success(Array(Set(rows)).sorted())
        case .subject(let subject):
            guard let rows = bySubject[ExactText(subject)] else {
                return .failure(
                    RejectionReason(
                        RejectionReason.emptySelection,
                        "the subject has no rows in this model's training set; nothing to forget"
                    ))
            }
            return .success(rows)
        case .class(let label):
            guard label >= 0 && label < classes else {
                return .failure(
                    RejectionReason(
                        RejectionReason.invalidValue, "class \(label) is outside this model's labels 0..<\(classes)"
                    ))
            }
            guard let rows = byClass[label], !rows.isEmpty else {
                return .failure(RejectionReason(RejectionReason.emptySelection, "class \(label) has no training rows; nothing to forget"))
            }
            return .success(rows)
        }
    }
}
