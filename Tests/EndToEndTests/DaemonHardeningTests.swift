import Checkpoints
import Foundation
import KafkaLog
import Logging
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// End to end: bad input and tampered state must never lose, revert or wedge a deletion. Each test runs the
/// real `unlearnd` / `unlearnctl` against the dev broker and says what the code before 10b69b5 (736f18d) did.
///
/// The assertions on the state directory read it with plain file-system calls where they can (quarantine names,
/// symlinks, modes), so that they mean the same against the old binaries (`UNLEARND_BIN_DIR`).
@Suite("unlearnd hardening", .serialized, .enabled(if: Kcat.path != nil, "kcat is not installed (apt-get install kcat)"), .blockingWaits)
struct DaemonHardeningTests {
    static let model = "digits-a"

    // MARK: 1. Poison-pill key

    /// Old behaviour: the dead letter copied the 2 MB key whole, the daemon's producer refused it with
    /// MSG_SIZE_TOO_LARGE and retried forever, so nothing behind it was applied and SIGTERM exited 1.
    @Test(
        "a 2,000,000-byte key is dead-lettered with its key cut to 1 KiB; the requests behind it are applied; SIGTERM exits 0",
        .timeLimit(.minutes(4)))
    func poisonPillKey() async throws {
        // One partition: the valid requests are queued behind the poison pill, not beside it.
        let fixture = try await DaemonFixture(label: "poison-key", models: [Self.model], partitions: 1)
        do {
            let daemon = try await Self.startReady(fixture, config: try fixture.writeConfig())
            let subjects = try Self.subjects(fixture)
            let producer = try Self.producer(fixture)
            let key = [UInt8](repeating: UInt8(ascii: "k"), count: 2_000_000)
            try await producer.send(topic: "unlearn.deletions", key: key, value: Self.request(id: "poison", subject: subjects[0]))
            let valid = (1...3).map { "behind-poison-\($0)" }
            for (i, id) in valid.enumerated() {
                try await producer.send(
                    topic: "unlearn.deletions", key: Array(Self.model.utf8), value: Self.request(id: id, subject: subjects[i + 1]))
            }
            try await producer.close()

            let newest = try await fixture.waitForLedger(Self.model, contains: Set(valid))
            #expect(!newest.manifest.appliedRequestIds.contains("poison"))
            let letters = try await Self.deadLetters(fixture, count: 1)
            #expect(letters.count == 1)
            let letter = try #require(letters.first)
            #expect(letter.headers["reason"] == "key_mismatch")
            #expect(letter.headers["original_key_bytes"] == "2000000")
            #expect(letter.headers["key_truncated"] == "true")
            #expect(
                letter.key == String(repeating: "k", count: 1024),
                "the dead letter's key is not the original's first 1 KiB (\(letter.key.utf8.count) bytes)")
            #expect(daemon.isRunning, "the daemon exited: \(fixture.logs)")
            #expect(await Self.terminate(daemon) == 0, "SIGTERM: \(fixture.logs)")
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    // MARK: 2. Dead letters the broker refuses

    /// Old behaviour: a produce error was retried forever whatever it was, so the first bad message wedged the
    /// partition (no valid request behind it applied) and nothing was written locally.
    @Test(
        "dead letters the broker refuses (TOPIC_AUTHORIZATION_FAILED) go to dead-letters.jsonl with their offsets; valid requests are applied",
        .timeLimit(.minutes(4)))
    func refusedDeadLetters() async throws {
        let fixture = try await DaemonFixture(label: "refused-dlq", models: [Self.model], partitions: 1)
        do {
            let subjects = try Self.subjects(fixture)
            let producer = try Self.producer(fixture)
            let bad: [(key: String, value: [UInt8], reason: String)] = [
                (Self.model, Array("hello".utf8), "not_json"),
                (Self.model, Self.utf16LE(Self.request(id: "bad-utf16", subject: subjects[0])), "not_utf8"),
                ("nope", Self.request(id: "bad-model", subject: subjects[0], model: "nope"), "unknown_model"),
            ]
            var badOffsets: [Int64: String] = [:]
            var valid: [String] = []
            for (i, b) in bad.enumerated() {
                let report = try await producer.send(topic: "unlearn.deletions", key: Array(b.key.utf8), value: b.value)
                badOffsets[report.offset] = b.reason
                valid.append("after-refused-\(i)")
                try await producer.send(
                    topic: "unlearn.deletions", key: Array(Self.model.utf8), value: Self.request(id: valid[i], subject: subjects[i + 1]))
            }
            try await producer.close()
            // Every Produce request from now on (the daemon's dead letters, their payload-free retries) is refused.
            try await fixture.broker.ok("error Produce TOPIC_AUTHORIZATION_FAILED 100")

            let daemon = try fixture.startDaemon(config: try fixture.writeConfig())
            _ = try await fixture.waitForLedger(Self.model, contains: Set(valid))
            let path = fixture.stateDirectory + "/dead-letters.jsonl"
            let entries = try await eventually(.seconds(60), "\(bad.count) lines in \(path)") { () -> [[String: Any]]? in
                let lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
                return lines.count >= bad.count ? try lines.map { try Self.jsonObject(Data($0.utf8)) } : nil
            }
            #expect(entries.count == bad.count)
            var recorded: [Int64: String] = [:]
            for entry in entries {
                #expect(entry["source_topic"] as? String == "unlearn.deletions")
                #expect((entry["source_partition"] as? NSNumber)?.intValue == 0)
                #expect((entry["publish_error"] as? String)?.contains("AUTHORIZATION") == true, "publish_error: \(entry["publish_error"] ?? "none")")
                if let offset = (entry["source_offset"] as? NSNumber)?.int64Value { recorded[offset] = entry["reason"] as? String }
            }
            #expect(recorded == badOffsets, "recorded offsets and reasons \(recorded), produced \(badOffsets)")
            let counted = try await eventually(.seconds(30), "unlearnd_dead_letters_local_total in the metrics file") { () -> Double? in
                let total = Self.metricSum(Self.metrics(fixture), "unlearnd_dead_letters_local_total")
                return total >= Double(bad.count) ? total : nil
            }
            #expect(counted == Double(bad.count))
            #expect(daemon.isRunning, "the daemon exited: \(fixture.logs)")
            #expect(await Self.terminate(daemon) == 0, "SIGTERM: \(fixture.logs)")
            try await fixture.broker.ok("clear Produce")
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    // MARK: 3. Restart loop after every version is corrupted

    /// The restart loop. Old behaviour: the first start quarantined every version and exited 1; the second
    /// (systemd's Restart=on-failure) found no version, logged "Imported model bundle as base snapshot" and ran from
    /// version 1 with no applied ids, while the committed offsets were past those requests: they were never re-applied.
    @Test(
        "every version corrupted: three starts exit 65 with the same error and no re-import; after recover --reimport every deletion is back",
        .timeLimit(.minutes(6)))
    func restartLoop() async throws {
        let fixture = try await DaemonFixture(label: "restart-loop", models: [Self.model])
        do {
            let config = try fixture.writeConfig()
            let daemon = try await Self.startReady(fixture, config: config)
            let subjects = try Self.subjects(fixture)
            // Two rounds, so that the model has several versions to corrupt.
            var ids: [String] = []
            for round in 0..<2 {
                let batch = (0..<3).map { "loop-\(round)-\($0)" }
                try Self.publish(fixture, batch.enumerated().map { ($1, subjects[round * 3 + $0]) })
                _ = try await fixture.waitForLedger(Self.model, contains: Set(batch))
                ids += batch
            }
            #expect(await Self.terminate(daemon) == 0)
            let before = try #require(try fixture.newest(Self.model))
            let tombstones = Set(before.manifest.tombstones.rows)
            #expect(!tombstones.isEmpty)

            let directory = Self.modelDirectory(fixture)
            let corrupted = try Self.snapshotFiles(directory)
            #expect(corrupted.count >= 3, "versions: \(corrupted)")
            for file in corrupted { try Self.flipOneByte(directory + "/" + file) }

            var errors: [String] = []
            for run in 0..<3 {
                let start = try fixture.startDaemon(config: config, label: "restart-\(run)")
                let status = await start.waitForExit(timeout: .seconds(60))
                #expect(status == 65, "run \(run): exit status \(String(describing: status)): \(start.stderr.suffix(3000))")
                #expect(!start.stderr.contains("Imported model bundle"), "run \(run) re-imported the bundle")
                let critical = start.stderr.split(separator: "\n").filter { $0.contains(" critical ") }
                #expect(critical.count == 1, "run \(run): critical lines \(critical)")
                let line = String(critical.first ?? "")
                #expect(line.contains("model \(Self.model) has state but no snapshot that verifies"), "run \(run): \(line)")
                errors.append(Self.withoutTimestampAndDetail(line))
                let written = try Self.snapshotFiles(directory)
                #expect(written.isEmpty, "run \(run) wrote a version: \(written)")
            }
            #expect(Set(errors).count == 1, "the three runs printed different errors: \(errors)")

            let report = try Binaries.run("unlearnctl", ["recover", "--state-dir", fixture.stateDirectory, "--model", Self.model])
            #expect(report.status == 0, "recover: \(report.stderr)")
            for file in corrupted {
                let version = try #require(SnapshotStore.version(ofFileName: file))
                #expect(report.stdout.contains("quarantined v\(version) snapshot"), "recover does not list v\(version): \(report.stdout)")
            }
            let reimport = try Binaries.run(
                "unlearnctl", ["recover", "--state-dir", fixture.stateDirectory, "--model", Self.model, "--reimport", "--force"])
            #expect(reimport.status == 0, "recover --reimport: \(reimport.stdout) \(reimport.stderr)")

            let recovered = try fixture.startDaemon(config: config, label: "recovered")
            let after = try await fixture.waitForLedger(Self.model, contains: Set(ids))
            #expect(Set(after.manifest.tombstones.rows) == tombstones, "tombstones after recovery differ from before the corruption")
            #expect(after.manifest.appliedRequestIds.count == Set(after.manifest.appliedRequestIds).count, "a request was applied twice")
            #expect(recovered.isRunning)
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    // MARK: 4. Request ids compared by their bytes

    /// Old behaviour: Swift `String` equality is canonical equivalence, so "ok-café" in NFD was a duplicate of the
    /// NFC spelling: counted in duplicate_total and its subject never forgotten.
    ///
    /// The subject half of the issue's probe (one subject spelled NFC and NFD) cannot run here: the bundled digits'
    /// subjects are ASCII (`dg-sNNNN`), which has a single spelling.
    @Test("request ids that differ only in Unicode normalisation (NFC vs NFD) are two requests, both applied", .timeLimit(.minutes(3)))
    func exactRequestIDs() async throws {
        let fixture = try await DaemonFixture(label: "exact-ids", models: [Self.model])
        do {
            let daemon = try await Self.startReady(fixture, config: try fixture.writeConfig())
            let bundle = try fixture.bundle(Self.model)
            let subjects = try Self.subjects(fixture)
            let nfc = "ok-caf\u{E9}"
            let nfd = "ok-cafe\u{301}"
            #expect(Array(nfc.utf8) != Array(nfd.utf8))
            #expect(nfc == nfd, "Swift String equality is canonical equivalence: the test relies on it")
            let producer = try Self.producer(fixture)
            try await producer.send(topic: "unlearn.deletions", key: Array(Self.model.utf8), value: Self.request(id: nfc, subject: subjects[0]))
            try await producer.send(topic: "unlearn.deletions", key: Array(Self.model.utf8), value: Self.request(id: nfd, subject: subjects[1]))
            try await producer.close()

            let wanted = Set([Array(nfc.utf8), Array(nfd.utf8)])
            let newest = try await eventually(.seconds(120), "both spellings in the ledger") { () -> Snapshot? in
                guard let s = try? fixture.newest(Self.model) else { return nil }
                return wanted.isSubset(of: Set(s.manifest.appliedRequestIds.map { Array($0.utf8) })) ? s : nil
            }
            let rows = Set(bundle.train.rowsBySubject[subjects[0]]!).union(bundle.train.rowsBySubject[subjects[1]]!)
            #expect(rows.isSubset(of: Set(newest.manifest.tombstones.rows)), "a subject's rows are not tombstoned")
            _ = try await eventually(.seconds(30), "2 consumed requests in the metrics") {
                Self.metricSum(Self.metrics(fixture), "unlearnd_requests_consumed_total") >= 2 ? true : nil
            }
            #expect(
                Self.metricSum(Self.metrics(fixture), "unlearnd_requests_duplicate_total") == 0, "a distinct request id was counted as a duplicate")
            #expect(daemon.isRunning)
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    // MARK: 5. Log injection

    /// Old behaviour: the rejection's warning quoted the `schema` value and extra field names raw, so the newline
    /// forged a whole "critical ... FORGED" line, the ANSI escape reached the terminal and the e-mail address was
    /// logged at warning; the UTF-16 value was decoded by Foundation (and its schema value logged the same way).
    @Test("producer text never reaches the logs at info: no forged line, no escape or NUL byte, no e-mail address", .timeLimit(.minutes(3)))
    func logInjection() async throws {
        let fixture = try await DaemonFixture(label: "log-injection", models: [Self.model], partitions: 1)
        do {
            let daemon = try await Self.startReady(fixture, config: try fixture.writeConfig())
            let subjects = try Self.subjects(fixture)
            let forged = "2026-12-01T00:00:00+0000 critical unlearnd: FORGED"
            let email = "alice@example.com"
            func fields(_ id: String) -> [(String, String)] {
                [
                    ("schema", "unlearn.deletion.v1"), ("request_id", id), ("model", Self.model), ("scope", "subject"),
                    ("subject", subjects[0]), ("requested_at", "2026-11-27T12:00:00Z"),
                ]
            }
            var schemaForged = fields("inject-schema")
            schemaForged[0].1 = "x\n" + forged
            let extraField = fields("inject-field") + [("\(email)\u{1B}[31m", "hi")]
            let bad: [([UInt8], String)] = [
                (Self.json(schemaForged), "unknown_schema"),
                (Self.json(extraField), "extra_field"),
                (Self.utf16LE(Self.json(schemaForged)), "not_utf8"),
                (Self.json(fields("inject-\u{0}-nul")), "not_utf8"),
            ]
            let producer = try Self.producer(fixture)
            for (value, _) in bad { try await producer.send(topic: "unlearn.deletions", key: Array(Self.model.utf8), value: value) }
            try await producer.send(
                topic: "unlearn.deletions", key: Array(Self.model.utf8), value: Self.request(id: "after-injection", subject: subjects[1]))
            try await producer.close()

            _ = try await fixture.waitForLedger(Self.model, contains: ["after-injection"])
            let letters = try await Self.deadLetters(fixture, count: bad.count)
            #expect(letters.map { $0.headers["reason"] ?? "" }.sorted() == bad.map(\.1).sorted())
            for letter in letters {
                let message = letter.headers["reason_message"] ?? ""
                #expect(!message.contains("FORGED") && !message.contains(email), "a rejection message quotes producer text: \(message)")
            }

            let stderr = try Data(contentsOf: URL(fileURLWithPath: try #require(daemon.stderrPath)))
            let text = String(decoding: stderr, as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(!lines.contains { $0.hasPrefix("2026-12-01T00:00:00+0000 critical") }, "a producer forged a log line")
            #expect(!text.contains("FORGED"), "producer text reached the log above debug")
            #expect(!stderr.contains(0x1B), "an ESC byte reached the log")
            #expect(!stderr.contains(0x00), "a NUL byte reached the log")
            #expect(!text.contains(email), "a producer's e-mail address reached the log above debug")
            #expect(
                text.contains("reason=not_utf8") && text.contains("reason=extra_field") && text.contains("reason=unknown_schema"),
                "the reason codes are not logged")
            #expect(daemon.isRunning)
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    // MARK: 6. Symlinks in the model directory

    /// Old behaviour: the symlinked version was refused but left in place, so every later commit collided with its
    /// version number ("another writer created a newer snapshot", 5 retries, "leaving it for a replay"): no request
    /// was applied again. Both cases below waited for the ledger forever.
    @Test(
        "a symlinked snapshot is quarantined (unsafe_file): at start the model replays an older version, while running the commit retries",
        .timeLimit(.minutes(5)))
    func symlinkedSnapshot() async throws {
        let fixture = try await DaemonFixture(label: "symlink", models: [Self.model])
        do {
            let config = try fixture.writeConfig()
            var daemon = try await Self.startReady(fixture, config: config)
            let subjects = try Self.subjects(fixture)
            try Self.publish(fixture, [("link-1", subjects[0])])
            _ = try await fixture.waitForLedger(Self.model, contains: ["link-1"])
            #expect(await Self.terminate(daemon) == 0)

            // At start: the newest snapshot is a symlink to /etc/passwd.
            let directory = Self.modelDirectory(fixture)
            let newestFile = try #require(try Self.snapshotFiles(directory).last)
            try FileManager.default.removeItem(atPath: directory + "/" + newestFile)
            try FileManager.default.createSymbolicLink(atPath: directory + "/" + newestFile, withDestinationPath: "/etc/passwd")
            daemon = try await Self.startReady(fixture, config: config, label: "after-symlink")
            try Self.publish(fixture, [("link-2", subjects[1])])
            _ = try await fixture.waitForLedger(Self.model, contains: ["link-1", "link-2"])
            let quarantined = try Self.quarantine(fixture)
            let link = quarantined.first { $0.name.hasPrefix(newestFile + ".") }
            #expect(link?.reason == "unsafe_file", "quarantine: \(quarantined)")
            #expect(link?.symlinkTarget == "/etc/passwd", "the quarantined file is not the symlink: \(quarantined)")

            // While running: the next version's snapshot and record appear as symlinks before the daemon commits it.
            let next = try #require(try fixture.store(Self.model).versions().map(\.version).max()) + 1
            for name in [SnapshotStore.fileName(version: next), SnapshotStore.recordName(version: next)] {
                try FileManager.default.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: "/etc/passwd")
            }
            try Self.publish(fixture, [("link-3", subjects[2])])
            _ = try await fixture.waitForLedger(Self.model, contains: ["link-1", "link-2", "link-3"])
            let planted = try Self.quarantine(fixture).filter {
                $0.name.hasPrefix(SnapshotStore.fileName(version: next) + ".") || $0.name.hasPrefix(SnapshotStore.recordName(version: next) + ".")
            }
            #expect(
                planted.count == 2 && planted.allSatisfy { $0.reason == "unsafe_file" && $0.symlinkTarget == "/etc/passwd" }, "quarantine: \(planted)"
            )
            #expect(!daemon.stderr.contains("leaving it for a replay"), "the daemon gave up on the batch")
            #expect(daemon.isRunning)
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    // MARK: 7. Files and directories open to other users

    /// Old behaviour: modes were never checked; a world-writable snapshot loaded without a word and the daemon ran
    /// in a world-writable model directory.
    @Test(
        "a world-writable snapshot is quarantined and replayed; a world-writable model directory stops the daemon with status 78 and its path",
        .timeLimit(.minutes(4)))
    func worldWritable() async throws {
        let fixture = try await DaemonFixture(label: "world-writable", models: [Self.model])
        do {
            let config = try fixture.writeConfig()
            var daemon = try await Self.startReady(fixture, config: config)
            let subjects = try Self.subjects(fixture)
            try Self.publish(fixture, [("mode-1", subjects[0])])
            _ = try await fixture.waitForLedger(Self.model, contains: ["mode-1"])
            #expect(await Self.terminate(daemon) == 0)

            let directory = Self.modelDirectory(fixture)
            let newestFile = try #require(try Self.snapshotFiles(directory).last)
            #expect(chmod(directory + "/" + newestFile, 0o666) == 0)
            daemon = try await Self.startReady(fixture, config: config, label: "after-chmod-666")
            try Self.publish(fixture, [("mode-2", subjects[1])])
            _ = try await fixture.waitForLedger(Self.model, contains: ["mode-1", "mode-2"])
            let quarantined = try Self.quarantine(fixture)
            #expect(quarantined.contains { $0.name.hasPrefix(newestFile + ".") && $0.reason == "unsafe_file" }, "quarantine: \(quarantined)")
            #expect(daemon.isRunning)
            #expect(await Self.terminate(daemon) == 0)

            #expect(chmod(directory, 0o777) == 0)
            let refused = try fixture.startDaemon(config: config, label: "after-chmod-777")
            let status = await refused.waitForExit(timeout: .seconds(60))
            #expect(status == 78, "exit status \(String(describing: status)): \(refused.stderr.suffix(3000))")
            #expect(refused.stderr.contains(directory), "stderr does not name \(directory): \(refused.stderr.suffix(3000))")
            _ = chmod(directory, 0o700)
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    // MARK: 8. unlearnctl status

    /// Old behaviour: "validation acc" was the noise-free secret state's accuracy (unlabelled), and consumer lag was
    /// printed from the metrics file however old it was.
    @Test("status shows the released model's accuracy and labels the noise-free one; lag from a stopped daemon is STALE", .timeLimit(.minutes(4)))
    func status() async throws {
        let fixture = try await DaemonFixture(label: "status", models: [Self.model])
        do {
            // A noise floor large enough that the released model's predictions differ from the noise-free ones.
            let config = try fixture.writeConfig([
                "unlearning": ["noise": true, "selection": "full"],
                // Adaptive mode with a large noise floor, every update released: the noise visibly moves accuracy.
                "budget": ["mode": "adaptive", "epsilon": 1000, "epsilon_step": 1, "sigma_max": 100, "sigma_floor": 0.5, "max_accuracy_drop": 1.0],
                "release": ["every_updates": 1],
            ])
            let daemon = try await Self.startReady(fixture, config: config)
            let subjects = try Self.subjects(fixture)
            let ids = (0..<3).map { "status-\($0)" }
            try Self.publish(fixture, Array(zip(ids, subjects)))
            let newest = try await fixture.waitForLedger(Self.model, contains: Set(ids))
            _ = try await eventually(.seconds(30), "consumer lag in the metrics file") {
                Self.metrics(fixture).contains("unlearnd_consumer_lag{") ? true : nil
            }

            let bundle = try fixture.bundle(Self.model)
            let parameters = newest.parameters
            let noiseFreeTheta = try #require(parameters.privateTheta, "noise is on but the snapshot has no private.theta")
            let released = Self.accuracy(theta: parameters.theta, parameters: parameters, on: bundle.validation)
            let noiseFree = Self.accuracy(theta: noiseFreeTheta, parameters: parameters, on: bundle.validation)
            try #require(released != noiseFree, "the noise did not change the validation accuracy (\(released)); the test cannot tell them apart")

            let live = try Binaries.run("unlearnctl", ["status", "--state-dir", fixture.stateDirectory, "--model", Self.model])
            #expect(live.status == 0, "status: \(live.stderr)")
            #expect(
                live.stdout.contains(String(format: "validation acc  %.2f%% (released model)", 100 * released)),
                "released accuracy \(100 * released)%: \(live.stdout)")
            #expect(
                live.stdout.contains(String(format: "%.2f%% (noise-free secret state", 100 * noiseFree)),
                "noise-free accuracy \(100 * noiseFree)%: \(live.stdout)")
            let lagLine = live.stdout.split(separator: "\n").first { $0.hasPrefix("consumer lag") }
            #expect(lagLine != nil && !lagLine!.contains("STALE"), "lag of a live daemon: \(live.stdout)")

            #expect(await Self.terminate(daemon) == 0)
            try await Task.sleep(for: .seconds(2))
            let stopped = try Binaries.run(
                "unlearnctl", ["status", "--state-dir", fixture.stateDirectory, "--model", Self.model, "--lag-max-age", "1"])
            #expect(stopped.status == 0, "status: \(stopped.stderr)")
            #expect(
                stopped.stdout.split(separator: "\n").contains { $0.hasPrefix("consumer lag") && $0.contains("STALE") },
                "stale lag not marked: \(stopped.stdout)")
            let json = try Binaries.run(
                "unlearnctl", ["status", "--state-dir", fixture.stateDirectory, "--model", Self.model, "--lag-max-age", "1", "--json"])
            let object = try Self.jsonObject(Data(json.stdout.utf8))
            let lag = object["consumerLag"] as? [String: Any]
            #expect(lag?["stale"] as? Bool == true, "status --json: \(json.stdout)")
            let model = (object["models"] as? [[String: Any]])?.first
            // JSON's decimal text need not round-trip the last bit; one validation row is worth 1/368, so 1e-9 still
            // tells every count apart.
            let jsonReleased = try #require((model?["validationAccuracy"] as? NSNumber)?.doubleValue, "status --json: \(json.stdout)")
            let jsonNoiseFree = try #require((model?["noiseFreeValidationAccuracy"] as? NSNumber)?.doubleValue, "status --json: \(json.stdout)")
            #expect(abs(jsonReleased - released) < 1e-9 && abs(jsonNoiseFree - noiseFree) < 1e-9, "status --json: \(json.stdout)")
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }
}

// MARK: - Helpers

extension DaemonHardeningTests {
    /// Starts `unlearnd` and waits for READY=1.
    static func startReady(_ fixture: DaemonFixture, config: String, label: String? = nil) async throws -> ChildProcess {
        let notify = try NotifySocket(directory: fixture.directory)
        let daemon = try fixture.startDaemon(config: config, notify: notify, label: label)
        try await daemon.waitUntilReady(notify: notify, timeout: .seconds(60))
        return daemon
    }

    /// SIGTERM, then the exit status (nil if it did not exit within 30 s).
    static func terminate(_ daemon: ChildProcess) async -> Int32? {
        daemon.signal(SIGTERM)
        return await daemon.waitForExit(timeout: .seconds(30))
    }

    /// The model's subjects with training rows, sorted.
    static func subjects(_ fixture: DaemonFixture) throws -> [String] {
        try fixture.bundle(model).train.rowsBySubject.keys.sorted()
    }

    /// A producer that may send messages far above Kafka's default 1 MB limit (the dev broker keeps up to ~5 MB).
    static func producer(_ fixture: DaemonFixture) throws -> KafkaProducer {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: fixture.broker.bootstrapServers, ["message.max.bytes": "16000000"]),
            logger: logger
        )
    }

    /// Publishes subject deletions `(request id, subject)` of `model` with kcat.
    static func publish(_ fixture: DaemonFixture, _ requests: [(String, String)]) throws {
        try Kcat.produce(
            bootstrap: fixture.broker.bootstrapServers, topic: "unlearn.deletions",
            lines: requests.map { Requests.line(id: $0.0, model: model, scope: .subject($0.1)) }
        )
    }

    /// A JSON object with members in this order, built byte by byte: strings keep their exact UTF-8 (no
    /// normalisation), and only `"`, `\` and control characters are escaped.
    static func json(_ members: [(String, String)]) -> [UInt8] {
        func quoted(_ s: String) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for b in s.utf8 {
                switch b {
                case 0x22, 0x5C: out += [0x5C, b]
                case 0x0A: out += Array("\\n".utf8)
                case 0x01..<0x20: out += Array(String(format: "\\u%04x", b).utf8)
                default: out.append(b)  // NUL stays raw on purpose: the decoder must refuse it as not UTF-8 text
                }
            }
            return out + [0x22]
        }
        var out: [UInt8] = [0x7B]
        for (i, m) in members.enumerated() {
            if i > 0 { out.append(0x2C) }
            out += quoted(m.0) + [0x3A] + quoted(m.1)
        }
        return out + [0x7D]
    }

    static func request(id: String, subject: String, model: String = model) -> [UInt8] {
        json([
            ("schema", "unlearn.deletion.v1"), ("request_id", id), ("model", model), ("scope", "subject"),
            ("subject", subject), ("requested_at", "2026-11-27T12:00:00Z"),
        ])
    }

    /// The same text re-encoded as UTF-16LE (no byte order mark).
    static func utf16LE(_ utf8: [UInt8]) -> [UInt8] {
        String(decoding: utf8, as: UTF8.self).utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    }

    static func jsonObject(_ data: Data) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw HarnessError("not a JSON object: \(String(decoding: data, as: UTF8.self))")
        }
        return object
    }

    /// Dead letters as kcat reads them: key, headers (values of `k=v` pairs split at commas; good enough for the
    /// headers the tests look at, whose values have no commas) and value.
    static func deadLetters(_ fixture: DaemonFixture, count: Int) async throws -> [(key: String, headers: [String: String], value: String)] {
        let records = try await eventually(.seconds(60), "\(count) dead letters") { () -> [String]? in
            let records = try Kcat.consume(bootstrap: fixture.broker.bootstrapServers, topic: "unlearn.deletions.dlq")
            return records.count >= count ? records : nil
        }
        return records.map { record in
            let parts = record.components(separatedBy: "\u{1}")
            var headers: [String: String] = [:]
            for pair in (parts.count > 1 ? parts[1] : "").split(separator: ",") {
                guard let eq = pair.firstIndex(of: "=") else { continue }
                let key = String(pair[..<eq])
                if headers[key] == nil { headers[key] = String(pair[pair.index(after: eq)...]) }
            }
            return (parts[0], headers, parts.count > 2 ? parts[2] : "")
        }
    }

    static func metrics(_ fixture: DaemonFixture) -> String {
        (try? String(contentsOfFile: fixture.stateDirectory + "/metrics/unlearnd.prom", encoding: .utf8)) ?? ""
    }

    /// The sum of a metric's samples over all label sets (0 when absent).
    static func metricSum(_ text: String, _ name: String) -> Double {
        text.split(separator: "\n")
            .filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }

    static func modelDirectory(_ fixture: DaemonFixture) -> String { fixture.stateDirectory + "/models/" + model }

    /// Snapshot file names (`v<version>.safetensors.zst`) in the model directory, oldest first.
    static func snapshotFiles(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("v") && $0.hasSuffix(".safetensors.zst") }.sorted()
    }

    /// Files in `quarantine/`, named `<original>.<unix time>.<reason>[.n]`, and where each points if it is a symlink.
    static func quarantine(_ fixture: DaemonFixture) throws -> [(name: String, reason: String, symlinkTarget: String?)] {
        let dir = modelDirectory(fixture) + "/quarantine"
        guard FileManager.default.fileExists(atPath: dir) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { name in
            let original = [".safetensors.zst.", ".json."].compactMap { name.range(of: $0) }.first
            let rest = original.map { name[$0.upperBound...].split(separator: ".") } ?? []
            return (name, rest.count > 1 ? String(rest[1]) : "", try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/" + name))
        }
    }

    /// Flips one byte in the middle of a file (inside the compressed payload: the checksum no longer matches).
    static func flipOneByte(_ path: String) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// A log line without its timestamp and without the parenthesised detail (which names what the first run found
    /// and what later runs found in quarantine), for comparing the errors of several runs.
    static func withoutTimestampAndDetail(_ line: String) -> String {
        var text = String(line.drop { $0 != " " })
        if let open = text.range(of: "verifies ("), let close = text.range(of: "); the daemon", range: open.upperBound..<text.endIndex) {
            text.replaceSubrange(open.upperBound..<close.lowerBound, with: "...")
        }
        return text
    }

    /// Validation accuracy of a logistic-regression parameter vector (flat layout of ModelParameters: per class its
    /// weights, then its bias), computed here from the snapshot's standardisation rather than by the engine's MLP.
    static func accuracy(theta: [Double], parameters: ModelParameters, on data: Dataset) -> Double {
        let inputs = parameters.architecture.inputs
        let classes = theta.count / (inputs + 1)
        precondition(classes * (inputs + 1) == theta.count, "not a logistic-regression parameter vector")
        var correct = 0
        for i in 0..<data.features.rows {
            var x = (0..<inputs).map { data.features[i, $0] }
            if let mean = parameters.inputMean, let std = parameters.inputStd {
                x = (0..<inputs).map { (x[$0] - mean[$0]) / std[$0] }
            }
            var best = 0
            var bestLogit = -Double.infinity
            for c in 0..<classes {
                let base = c * (inputs + 1)
                var logit = theta[base + inputs]
                for k in 0..<inputs { logit += theta[base + k] * x[k] }
                if logit > bestLogit {
                    best = c
                    bestLogit = logit
                }
            }
            if best == data.labels[i] { correct += 1 }
        }
        return Double(correct) / Double(data.features.rows)
    }
}
