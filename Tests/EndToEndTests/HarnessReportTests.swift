import Foundation
import ProcessHarness
import TestSupport
import Testing

/// The failure messages of the end-to-end tests say what they could not show, and the fixture reads a daemon's
/// partitions from its log lines as the daemon writes them.
@Suite("end-to-end test harness", .blockingWaits)
struct HarnessReportTests {
    @Test("a log tail names a missing file, a vanished directory and an empty file; invalid UTF-8 does not hide the text")
    func logTailSaysWhy() throws {
        let directory = try Binaries.temporaryDirectory("harness-report")
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = directory.appendingPathComponent("empty.log").path
        let mixed = directory.appendingPathComponent("mixed.log").path
        #expect(FileManager.default.createFile(atPath: empty, contents: nil))
        #expect(FileManager.default.createFile(atPath: mixed, contents: Data("started\n".utf8) + Data([0xFF, 0xFE]) + Data("\nstill here\n".utf8)))

        #expect(LogTail.of(empty) == "\(empty): empty (0 bytes)")
        let tail = LogTail.of(mixed)
        #expect(tail.hasPrefix("\(mixed) (22 bytes):\n"))
        #expect(tail.contains("started") && tail.contains("still here"))
        #expect(LogTail.read(mixed).contains("still here"))
        #expect(LogTail.of(directory.appendingPathComponent("absent.log").path).hasSuffix("no such file"))
        let gone = directory.appendingPathComponent("gone/first.stderr").path
        #expect(LogTail.of(gone) == "\(gone): no such file, and its directory \(directory.path)/gone no longer exists")
    }

    @Test("a child's report gives its pid, how it ended and its stderr")
    func childReport() async throws {
        let directory = try Binaries.temporaryDirectory("harness-report")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("child.stderr").path
        let child = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "echo last words >&2; kill -KILL $$"], name: "child", stdout: .discard, stderr: .file(log))
        #expect(await child.waitForExit(timeout: .seconds(30)) == SIGKILL)
        #expect(child.statusDescription == "killed by signal \(SIGKILL)")
        let report = child.report()
        #expect(report.hasPrefix("--- child (pid \(child.pid), killed by signal \(SIGKILL)) ---\n\(log) (11 bytes):\n"))
        #expect(report.contains("last words"))
    }

    @Test("partitions owned follow the daemon's assigned and revoked notices in order")
    func assignedPartitionsFromLog() async throws {
        let directory = try Binaries.temporaryDirectory("harness-report")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The lines as unlearnd writes them; the KafkaLog line of the same event must not count twice.
        let lines = [
            "2026-12-01T14:47:48+0000 info unlearnd: kafka.client=rdkafka#consumer-2 kafka.partitions=unlearn.deletions[0]@stored,unlearn.deletions[1]@stored [KafkaLog] Kafka partitions assigned",
            "2026-12-01T14:47:48+0000 notice unlearnd: unlearnd.kafka.partition=[0, 1, 2, 3] [UnlearnDaemon] Partitions assigned",
            "2026-12-01T14:47:57+0000 notice unlearnd: unlearnd.kafka.partition=[0, 1, 2, 3] unlearnd.requests=0 pending requests left to the next owner [UnlearnDaemon] Partitions revoked",
            "2026-12-01T14:48:00+0000 notice unlearnd: unlearnd.kafka.partition=[2, 3] [UnlearnDaemon] Partitions assigned",
        ]
        let log = directory.appendingPathComponent("daemon.stderr").path
        let child = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "cat >&2"], name: "daemon", stdout: .discard, stderr: .file(log))
        for line in lines { try child.send(line) }
        try child.closeInput()
        #expect(await child.waitForExit(timeout: .seconds(30)) == 0)
        #expect(child.assignedPartitions == [2, 3])
    }
}
