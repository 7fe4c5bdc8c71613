import Foundation
import UnlearningCore

/// The JSON written by `unlearn-bench selection`; all times in seconds, measured in that run.
struct SelectionBenchmarkResult: Codable {
    struct Realistic: Codable {
        var description: String
        var candidates: Int
        var naturalSelected: [Int]
        var naturalScores: [Double]
        var naturalStopReason: String
        var naturalSeconds: Double
        var forcedSelected: [Int]
        var forcedSeconds: [Double]
        var forcedSerialSeconds: Double
        var bruteForceSeconds: Double?
        var bruteForceRatio: Double?
        var bruteForceIdentical: Bool?
    }

    struct Ties: Codable {
        struct Method: Codable {
            var name: String
            var seconds: Double
            var exactlyRight: Int
        }

        var description: String
        var methods: [Method]
        var exactPrunedRatio: Double
        var exactBruteForceRatio: Double
    }

    var benchmark = "selection"
    var cores: Int
    var samples: Int
    var maxSelected: Int
    var realistic: [Realistic]
    var ties: Ties
}
