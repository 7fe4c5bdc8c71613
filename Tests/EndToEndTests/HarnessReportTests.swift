import Foundation
import ProcessHarness
import Testing

/// The fixture reads a daemon's partitions from its log lines as the daemon writes them.
@Suite("end-to-end test harness")
struct HarnessReportTests {
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
