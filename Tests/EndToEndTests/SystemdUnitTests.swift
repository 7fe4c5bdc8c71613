import Foundation
import ProcessHarness
import TestSupport
import Testing

/// Deploy/systemd/unlearnd.service checked by systemd's own tools.
enum SystemdAnalyze {
    static let path: String? = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }
}

@Suite("systemd unit", .enabled(if: SystemdAnalyze.path != nil, "systemd-analyze is not installed"), .blockingWaits)
struct SystemdUnitTests {
    /// The unit with ExecStart pointing at the built daemon (verify checks that the binary exists).
    static func unitFile() throws -> String {
        let text = try String(contentsOfFile: Binaries.repositoryRoot + "/Deploy/systemd/unlearnd.service", encoding: .utf8)
        let dir = try Binaries.temporaryDirectory("systemd")
        let path = dir.appendingPathComponent("unlearnd.service").path
        try text.replacingOccurrences(of: "/usr/local/bin/unlearnd", with: Binaries.path("unlearnd")).write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs systemd-analyze; its status and everything it printed (stderr after stdout).
    static func run(_ arguments: [String]) throws -> (Int32, String) {
        let result = try ProcessRunner.run(SystemdAnalyze.path!, arguments)
        return (result.status, result.stdoutText + result.stderrText)
    }

    @Test("systemd-analyze verify passes")
    func verify() throws {
        let (status, output) = try Self.run(["verify", try Self.unitFile()])
        #expect(status == 0, "\(output)")
        #expect(!output.contains("Unknown"), "\(output)")
    }

    /// The unit the Debian package installs: Deploy/debian/build-package points ExecStart at /usr/bin/unlearnd
    /// (Deploy/debian/package-check verifies the installed unit; this runs without installing the package).
    @Test("the Debian package's unit starts /usr/bin/unlearnd and passes systemd-analyze verify without warnings")
    func packagedUnit() throws {
        let dir = try Binaries.temporaryDirectory("systemd-package")
        let packaged = dir.appendingPathComponent("packaged.service").path
        let result = try Binaries.capture(Binaries.repositoryRoot + "/Deploy/debian/build-package", ["--unit", packaged])
        try #require(result.status == 0, "\(result.stderr)")
        let text = try String(contentsOfFile: packaged, encoding: .utf8)
        #expect(text.contains("\nExecStart=/usr/bin/unlearnd --config /etc/unlearnd/unlearnd.json\n"), "\(text)")
        // verify checks that ExecStart's binary exists: the built daemon stands in for the uninstalled package's.
        let path = dir.appendingPathComponent("unlearnd.service").path
        try text.replacingOccurrences(of: "\nExecStart=/usr/bin/unlearnd ", with: "\nExecStart=\(Binaries.path("unlearnd")) ")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let (status, output) = try Self.run(["verify", path])
        #expect(status == 0, "\(output)")
        #expect(output.isEmpty, "\(output)")
    }

    @Test("systemd-analyze security rates the unit OK or better")
    func security() throws {
        let (status, output) = try Self.run(["security", "--offline=true", try Self.unitFile()])
        #expect(status == 0, "\(output)")
        let verdict = output.split(separator: "\n").last { $0.contains("Overall exposure level") }.map(String.init) ?? ""
        #expect(verdict.contains(" OK") || verdict.contains(" SAFE"), "verdict: \(verdict)")
        print(verdict)
    }
}
