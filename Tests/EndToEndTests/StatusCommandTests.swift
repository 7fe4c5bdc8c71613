import Foundation
import TestSupport
import Testing

@Suite("unlearnctl status without a daemon", .blockingWaits)
struct StatusCommandTests {
    @Test("a state directory without models/ is named, with what to give instead")
    func noStateDirectory() throws {
        let directory = try Binaries.temporaryDirectory("status-empty")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Binaries.run("unlearnctl", ["status", "--state-dir", directory.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(directory.path) holds no models/ directory"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("--state-dir"))
        #expect(!result.stderr.contains("NSCocoaErrorDomain"), "a Foundation error reached the operator: \(result.stderr)")
    }
}
