import Foundation

/// With `UNLEARND_FUZZ_EXPLAIN` set, each target prints why it rejected an input: for checking that seeds reach
/// past the first checks (`../dev fuzz TARGET --explain`). Silent otherwise, so fuzzing pays nothing for it.
enum Explain {
    static let enabled = ProcessInfo.processInfo.environment["UNLEARND_FUZZ_EXPLAIN"] != nil

    static func attempt<T>(_ what: String, _ body: () throws -> T) -> T? {
        do {
            let value = try body()
            if enabled { print("\(what): accepted") }
            return value
        } catch {
            if enabled { print("\(what): rejected: \(error)") }
            return nil
        }
    }
}
