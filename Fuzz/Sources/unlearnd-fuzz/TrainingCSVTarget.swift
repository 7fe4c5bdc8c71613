import UnlearningCore

/// The bundle's training-set CSV reader. Property: a parsed set renders to CSV that parses to the same set.
enum TrainingCSVTarget {
    static func run(_ bytes: [UInt8]) {
        guard let data = Explain.attempt("csv", { try TrainingSetCSV.parse(bytes, file: "fuzz.csv") }) else { return }
        do {
            guard try TrainingSetCSV.parse(TrainingSetCSV.render(data), file: "rendered.csv") == data else {
                fatalError("a parsed training set renders to CSV that parses to another set")
            }
        } catch {
            fatalError("a parsed training set renders to CSV that does not parse: \(error)")
        }
    }
}
