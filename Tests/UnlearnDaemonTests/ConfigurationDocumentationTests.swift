import Foundation
import Testing

@testable import UnlearnDaemon

/// Config/README.md, Config/unlearnd.json and Deploy/unlearnd.env.example against the keys the loader knows.
@Suite("Configuration documentation")
struct ConfigurationDocumentationTests {
    /// One row of the README's key table.
    struct Row: Equatable, CustomStringConvertible {
        var key, type, defaultValue, allowed, variable, meaning: String
        var description: String {
            "| `\(key)` | \(type) | \(defaultValue) | \(allowed) | `\(variable)` | \(meaning) |"
        }
    }

    /// The rows the README must have, in order: one per key, then `kafka.<property>`.
    static var expectedRows: [Row] {
        let defaults = DaemonConfiguration()
        var rows = DaemonConfiguration.configurationKeys.map { key in
            let value = key.render(defaults)
            return Row(
                key: key.name, type: key.type, defaultValue: value.isEmpty ? "(none)" : "`\(value)`",
                allowed: key.allowed, variable: key.environmentVariable, meaning: key.meaning
            )
        }
        let kafka = DaemonConfiguration.kafkaKeyDocumentation
        rows.append(
            Row(
                key: kafka.name, type: kafka.type,
                defaultValue: defaults.kafka.sorted { $0.key < $1.key }.map { "`\($0.key)=\($0.value)`" }.joined(separator: ", "),
                allowed: kafka.allowed, variable: kafka.environmentVariable,
                meaning: kafka.meaning
            ))
        return rows
    }

    /// The README's key table: the rows whose first cell is a backquoted key.
    static func readmeRows() throws -> [Row] {
        let text = try String(contentsOfFile: ConfigTest.readme, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line -> Row? in
            guard line.hasPrefix("| `") else { return nil }
            let cells = line.dropFirst(2).dropLast(2).components(separatedBy: " | ")
            guard cells.count == 6 else { return nil }
            func unquote(_ s: String) -> String { s.trimmingCharacters(in: CharacterSet(charactersIn: "`")) }
            return Row(
                key: unquote(cells[0]), type: cells[1], defaultValue: cells[2], allowed: cells[3],
                variable: unquote(cells[4]), meaning: cells[5]
            )
        }
    }

    /// The example file's keys, flattened as the loader flattens them.
    static func exampleKeys() throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: ConfigTest.exampleFile))
        return Array(try ConfigurationJSON.flattenedObject(data, path: ConfigTest.exampleFile).keys)
    }

    @Test("every key in the example file is documented in Config/README.md, and every documented key is in the example")
    func exampleMatchesReadme() throws {
        let documented = Set(try Self.readmeRows().map(\.key))
        let example = try Self.exampleKeys()
        for key in example {
            let name = key.hasPrefix("kafka.") ? "kafka.<property>" : key
            #expect(documented.contains(name), "\(key) is in Config/unlearnd.json but not in Config/README.md")
        }
        let exampleNames = Set(example.map { $0.hasPrefix("kafka.") ? "kafka.<property>" : $0 })
        for key in documented {
            #expect(exampleNames.contains(key), "\(key) is documented but not used in Config/unlearnd.json")
        }
    }

    @Test("the README's table states each key's type, default, allowed values, variable and meaning as the loader does")
    func readmeMatchesLoader() throws {
        let rows = try Self.readmeRows()
        let expected = Self.expectedRows
        #expect(rows == expected, "Config/README.md's key table should read:\n\(expected.map(\.description).joined(separator: "\n"))")
    }

    @Test("every variable set in Deploy/unlearnd.env.example is accepted with the example file")
    func environmentExample() throws {
        let text = try String(contentsOfFile: ConfigTest.environmentExample, encoding: .utf8)
        var environment: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1)
            environment[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        #expect(!environment.isEmpty)
        #expect(environment.keys.allSatisfy { $0.hasPrefix("UNLEARND_") })
        var example = environment
        example["UNLEARND_CONFIG"] = ConfigTest.exampleFile
        let configuration = try ConfigTest.load(environment: example)
        #expect(configuration != (try ConfigTest.load(["--config", ConfigTest.exampleFile])))
    }
}
