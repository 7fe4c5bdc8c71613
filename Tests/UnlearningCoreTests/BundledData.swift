import Checkpoints
import Foundation
import UnlearningCore

/// The datasets shipped in `data/`, loaded once per test process.
enum BundledData {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    static let digits: Dataset = load("digits")
    static let mnist: Dataset = load("mnist5k")

    static func load(_ name: String) -> Dataset {
        do {
            return try TrainingSetFile.read("\(repositoryRoot)/data/\(name).csv.zst", classes: 10)
        } catch {
            fatalError("cannot load bundled dataset \(name): \(error)")
        }
    }

    /// Standardised train/validation split by subject (20% validation), as `unlearnctl train` makes it.
    static func split(_ data: Dataset, seed: UInt64 = 1) -> (train: Dataset, validation: Dataset, standardization: Standardization) {
        data.standardizedSplit(validationFraction: 0.2, seed: seed)
    }
}
