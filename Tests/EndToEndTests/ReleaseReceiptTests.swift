import Checkpoints
import Foundation
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// Releases against the real processes: the receipts on the receipts topic cover every applied request exactly once,
/// a receipt lost to a crash is re-sent with the same id, and the released file is what the daemon serves; on the mock
/// cluster and on Tansu.
@Suite("release receipts end to end", .serialized, .enabled(if: Kcat.path != nil, "kcat is not installed (apt-get install kcat)"), .blockingWaits)
struct ReleaseReceiptTests {
    static let model = "digits-a"
    static let topic = "unlearn.receipts"

    /// Noise on (so released and noise-free weights differ) in certified mode, with room for many releases: sigma and
    /// epsilon_step give a residual-bound limit far above what newton leaves on logistic regression.
    static func config(_ fixture: DaemonFixture, everyUpdates: Int, everySeconds: Double) throws -> String {
        try fixture.writeConfig([
            "unlearning": ["noise": true],
            "budget": ["mode": "certified", "sigma": 0.05, "epsilon": 1000, "epsilon_step": 1, "max_accuracy_drop": 1.0],
            "release": ["every_updates": everyUpdates, "every_seconds": everySeconds],
        ])
    }

    /// One message of the receipts topic: its key, its value as published, and the value decoded.
    struct Message {
        var key: String
        var value: String
        var event: ReleaseEvent
        var object: [String: Any]
    }

    /// Every message on the receipts topic, in no particular order across partitions; values that do not decode fail.
    static func receipts(_ fixture: DaemonFixture) throws -> [Message] {
        try fixture.consume(topic: topic, format: "%k\u{1}%s").map { record in
            let parts = record.components(separatedBy: "\u{1}")
            guard parts.count == 2 else { throw HarnessError("unexpected kcat record \(record.debugDescription)") }
            let data = Data(parts[1].utf8)
            let event = try JSONDecoder().decode(ReleaseEvent.self, from: data)
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "a receipt is not a JSON object")
            return Message(key: parts[0], value: parts[1], event: event, object: object)
        }
    }

    /// The distinct receipts by event id; copies of one event id must be byte-identical (a re-send is the same event).
    static func distinct(_ messages: [Message]) -> [String: Message] {
        var byID: [String: Message] = [:]
        for m in messages {
            if let first = byID[m.event.eventID] {
                #expect(first.value == m.value, "two copies of \(m.event.eventID) differ:\n\(first.value)\n\(m.value)")
            } else {
                byID[m.event.eventID] = m
            }
        }
        return byID
    }

    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The schema's rules, and agreement with the release record of the snapshot that made the release.
    static func check(_ m: Message, fixture: DaemonFixture) throws {
        let e = m.event
        let required: Set<String> = [
            "schema", "event_id", "model", "version", "budget_epoch", "sha256", "file", "request_ids", "mode", "certified",
            "sigma", "epsilon_release", "epsilon_spent", "epsilon_budget", "delta", "released_at",
        ]
        #expect(Set(m.object.keys) == required, "\(e.eventID): fields \(m.object.keys.sorted())")
        #expect(e.schema == ReleaseEvent.schema)
        #expect(m.key == model && e.model == model)
        #expect(e.eventID == "\(model):\(e.version)")
        #expect(e.version >= 2, "the base (version 1) is never a release")
        #expect(e.budgetEpoch == 1)
        #expect(isSHA256(e.sha256), "\(e.eventID): sha256 \(e.sha256.debugDescription)")
        #expect(e.file == fixture.stateDirectory + "/released/\(model)/current.safetensors")
        #expect(!e.requestIDs.isEmpty && Set(e.requestIDs).count == e.requestIDs.count, "\(e.eventID): request_ids \(e.requestIDs)")
        #expect(e.mode == "certified" && e.certified)
        #expect(e.sigma == 0.05)
        #expect(e.epsilonRelease > 0 && e.epsilonSpent >= e.epsilonRelease && e.epsilonSpent <= e.epsilonBudget)
        #expect(e.epsilonBudget == 1000 && e.delta == 1e-5)
        #expect(RFC3339.parse(e.releasedAt) != nil, "released_at \(e.releasedAt)")

        let snapshot = try fixture.store(model).load(version: UInt64(e.version)).snapshot
        let last = try #require(snapshot.manifest.updates.last, "\(e.eventID): version \(e.version) has no update record")
        let release = try #require(last.release, "\(e.eventID): version \(e.version) made no release")
        #expect(last.released && release.released && release.version == UInt64(e.version))
        #expect(release.fileSHA256 == e.sha256, "\(e.eventID): the record says \(release.fileSHA256 ?? "nil")")
        #expect(release.requestIds == e.requestIDs)
        #expect(release.sigma == e.sigma && release.epsilonSpent == e.epsilonSpent && release.epsilonRelease == e.epsilonRelease)
        #expect(last.time == e.releasedAt)
    }

    /// The released file and its checksum file: the file's own SHA-256, which the checksum file must state
    /// (sha256sum format), and the version in the file's safetensors metadata.
    static func releasedFile(_ fixture: DaemonFixture) throws -> (sha256: String, version: String?) {
        let path = fixture.stateDirectory + "/released/\(model)/current.safetensors"
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let digest = SHA256.hash(bytes).description
        let line = try String(contentsOfFile: path + ".sha256", encoding: .utf8)
        #expect(line == "\(digest)  current.safetensors\n", "current.safetensors.sha256 says \(line.debugDescription), the file hashes to \(digest)")
        // safetensors: an 8-byte little-endian header length, then the JSON header with __metadata__.
        guard bytes.count >= 8 else { throw HarnessError("\(path) is \(bytes.count) bytes") }
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        guard length > 0, 8 + length <= bytes.count else { throw HarnessError("\(path): header length \(length)") }
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any]
        let metadata = header?["__metadata__"] as? [String: String]
        #expect(metadata?["unlearnd.model_id"] == model)
        return (digest, metadata?["unlearnd.version"])
    }

    static func subjects(_ fixture: DaemonFixture) throws -> [String] {
        Array(Set(try fixture.bundle(model).train.subjects.compactMap { $0 })).sorted()
    }

    static func publish(_ fixture: DaemonFixture, _ requests: [(id: String, subject: String)]) throws {
        try fixture.produce(lines: requests.map { Requests.line(id: $0.id, model: model, scope: .subject($0.subject)) })
    }

    // MARK: - Tests

    @Test(
        "every applied request id is in exactly one receipt; fewer receipts than updates; each receipt matches its release",
        .timeLimit(.minutes(4)), arguments: Broker.allCases
    )
    func everyRequestInOneReceipt(broker: Broker) async throws {
        let fixture = try await DaemonFixture(label: "receipts-cover", models: [Self.model], broker: broker)
        do {
            // A release every 4 updates, and by time for the ones left over at the end (14 is not a multiple of 4).
            let config = try Self.config(fixture, everyUpdates: 4, everySeconds: 3)
            let daemon = try fixture.startDaemon(config: config)
            let requests = try Self.subjects(fixture).prefix(14).enumerated().map { (id: "cover-\($0.offset)", subject: $0.element) }
            // One request at a time, each applied before the next is sent, so every request is an update of its own
            // (requests that are ready together merge into one update).
            for request in requests {
                try Self.publish(fixture, [request])
                _ = try await fixture.waitForLedger(Self.model, contains: [request.id])
            }
            let ids = requests.map(\.id)
            let applied = try await fixture.waitForLedger(Self.model, contains: Set(ids))
            #expect(applied.manifest.appliedRequestIds == ids, "ledger \(applied.manifest.appliedRequestIds)")

            let messages = try await eventually(.seconds(90), "receipts covering all \(ids.count) requests") { () -> [Message]? in
                let m = try Self.receipts(fixture)
                return Set(ids).isSubset(of: Set(m.flatMap(\.event.requestIDs))) ? m : nil
            }
            let receipts = Self.distinct(messages).values.sorted { $0.event.version < $1.event.version }
            for id in ids {
                let holders = receipts.filter { $0.event.requestIDs.contains(id) }.map(\.event.eventID)
                #expect(holders.count == 1, "\(id) is in the receipts \(holders)")
            }
            // In applied order, each receipt continuing where the previous one stopped.
            #expect(receipts.flatMap(\.event.requestIDs) == ids, "receipts list \(receipts.map(\.event.requestIDs))")
            for r in receipts { try Self.check(r, fixture: fixture) }

            let newest = try #require(try fixture.newest(Self.model))
            let updates = newest.manifest.updates.filter { $0.outcome == .applied }.count
            let releases = newest.manifest.updates.filter(\.released).count
            #expect(updates == ids.count, "\(updates) updates for \(ids.count) one-request batches")
            #expect(receipts.count == releases, "\(receipts.count) receipts for \(releases) releases")
            #expect(receipts.count >= 2 && receipts.count < updates, "\(receipts.count) receipts for \(updates) updates")
            print("\(updates) updates, \(receipts.count) receipts of \(receipts.map(\.event.requestIDs.count)) requests")

            // The newest receipt describes the file being served now.
            let last = try #require(receipts.last)
            let served = try Self.releasedFile(fixture)
            #expect(last.event.sha256 == served.sha256, "newest receipt \(last.event.eventID) says \(last.event.sha256), file is \(served.sha256)")
            #expect(served.version == "\(last.event.version)")
            #expect(newest.manifest.updates.last(where: \.released)?.release?.version == UInt64(last.event.version))

            await daemon.stop()
            #expect(daemon.status == 0, "\(fixture.logs)")
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }

    @Test(
        "kill -9 after a release is durable but before its receipt is published: the restart re-sends it with the same id",
        .timeLimit(.minutes(4)), arguments: Broker.allCases
    )
    func receiptResentAfterCrash(broker: Broker) async throws {
        let fixture = try await DaemonFixture(label: "receipts-crash", models: [Self.model], broker: broker)
        var brokerStopped = false
        do {
            // Releases only on demand, so the test decides when the one release happens.
            let config = try Self.config(fixture, everyUpdates: 0, everySeconds: 0)
            let first = try fixture.startDaemon(config: config, label: "before-kill")
            let requests = try Self.subjects(fixture).prefix(3).enumerated().map { (id: "crash-\($0.offset)", subject: $0.element) }
            let ids = requests.map(\.id)
            try Self.publish(fixture, requests)
            let durable = try await fixture.waitForLedger(Self.model, contains: Set(ids))
            #expect(durable.manifest.updates.allSatisfy { !$0.released }, "released before it was asked to")

            // A frozen broker accepts connections' bytes but answers nothing: the receipt cannot be delivered. (SIGSTOP
            // of the broker process on both brokers: Tansu has no fault injection of its own.)
            fixture.broker.pause()
            brokerStopped = true
            let ask = try Binaries.run("unlearnctl", ["release", "--state-dir", fixture.stateDirectory, "--model", Self.model, "--timeout", "0"])
            #expect(ask.status == 0, "unlearnctl release: \(ask.stderr)")
            // The release is durable and its file written (both happen before the receipt is sent).
            let release = try await eventually(.seconds(60), "the release snapshot and its file") { () -> SnapshotManifest.ReleaseRecord? in
                guard let s = try? fixture.newest(Self.model), let last = s.manifest.updates.last, last.released,
                    let r = last.release, r.version == s.manifest.version, let sha = r.fileSHA256
                else { return nil }
                let checksum = fixture.stateDirectory + "/released/\(Self.model)/current.safetensors.sha256"
                let line = try? String(contentsOfFile: checksum, encoding: .utf8)
                return line == "\(sha)  current.safetensors\n" ? r : nil
            }
            #expect(release.requestIds == durable.manifest.appliedRequestIds)
            // Give the daemon time to reach the send, which then waits on the frozen broker.
            try await Task.sleep(for: .seconds(1))
            #expect(first.isRunning, "the daemon exited while the broker was frozen: \(first.status.map(String.init) ?? "")")
            first.signal(SIGKILL)
            #expect(await first.waitForExit(timeout: .seconds(10)) != nil)
            fixture.broker.resume()
            brokerStopped = false
            // A send the killed daemon had handed to its socket may still reach the broker now that it runs again:
            // let it land, then count, so that a new copy can only come from the restarted daemon.
            let eventID = "\(Self.model):\(release.version)"
            try await Task.sleep(for: .seconds(2))
            let beforeRestart = try Self.receipts(fixture).filter { $0.event.eventID == eventID }.count

            let second = try fixture.startDaemon(config: config, label: "after-kill")
            let messages = try await eventually(.seconds(120), "the receipt \(eventID) sent by the restarted daemon") { () -> [Message]? in
                let m = try Self.receipts(fixture)
                return m.filter { $0.event.eventID == eventID }.count > beforeRestart ? m : nil
            }
            let copies = messages.filter { $0.event.eventID == eventID }
            #expect(Set(copies.map(\.value)).count == 1, "copies of \(eventID) differ: \(copies.map(\.value))")
            let receipts = Self.distinct(messages)
            let covering = receipts.values.filter { !Set($0.event.requestIDs).isDisjoint(with: ids) }.map(\.event.eventID)
            #expect(covering == [eventID], "receipts covering the requests: \(covering)")
            let receipt = try #require(receipts[eventID])
            #expect(receipt.event.requestIDs == ids, "\(eventID) lists \(receipt.event.requestIDs)")
            try Self.check(receipt, fixture: fixture)
            let served = try Self.releasedFile(fixture)
            #expect(receipt.event.sha256 == served.sha256)
            #expect(served.version == "\(release.version)")

            // The restart released nothing new: the request had been taken, and nothing waits.
            let after = try #require(try fixture.newest(Self.model))
            #expect(after.manifest.updates.filter(\.released).count == 1)
            #expect(!FileManager.default.fileExists(atPath: try fixture.store(Self.model).directory + "/release.request"))
            print("receipt \(eventID): \(beforeRestart) copies before the restart, \(copies.count) after")
            await second.stop()
            #expect(second.status == 0, "\(fixture.logs)")
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        if brokerStopped { fixture.broker.resume() }
        await fixture.tearDown()
    }

    @Test(
        "the released file loads with Python safetensors and reproduces the daemon's released predictions and accuracy",
        .timeLimit(.minutes(4)),
        .enabled(if: PythonSafetensors.available, "python3 with numpy and safetensors is not available (./dev test installs them)"),
        arguments: Broker.allCases
    )
    func releasedFileInPython(broker: Broker) async throws {
        let fixture = try await DaemonFixture(label: "receipts-python", models: [Self.model], broker: broker)
        do {
            let config = try Self.config(fixture, everyUpdates: 0, everySeconds: 0)
            let daemon = try fixture.startDaemon(config: config)
            let subjects = try Self.subjects(fixture)
            // Two releases on demand, so the served file is a later release on top of an earlier one.
            for round in 0..<2 {
                let requests = subjects.dropFirst(3 * round).prefix(3).enumerated().map { (id: "py-\(round)-\($0.offset)", subject: $0.element) }
                try Self.publish(fixture, requests)
                _ = try await fixture.waitForLedger(Self.model, contains: Set(requests.map(\.id)))
                let ask = try Binaries.run(
                    "unlearnctl", ["release", "--state-dir", fixture.stateDirectory, "--model", Self.model, "--timeout", "60"]
                )
                #expect(ask.status == 0 && ask.stdout.hasPrefix("released version"), "unlearnctl release: \(ask.stdout) \(ask.stderr)")
            }
            let snapshot = try #require(try fixture.newest(Self.model))
            let record = try #require(snapshot.manifest.updates.last?.release, "the newest snapshot is not a release")
            #expect(record.released && record.version == snapshot.manifest.version)
            #expect(snapshot.manifest.updates.filter(\.released).count == 2)
            let accuracy = try #require(record.validationAccuracy)
            // The noise is in the released weights only: the snapshot keeps the noise-free ones beside them.
            let privateTheta = try #require(snapshot.parameters.privateTheta, "the release added no noise")
            #expect(privateTheta != snapshot.parameters.theta)

            // The validation rows in predict.py's input layout (raw features; the file holds the standardisation).
            let bundle = try fixture.bundle(Self.model)
            let validation = bundle.validation
            var csv = "sample_id,subject,label," + (0..<validation.features.cols).map { "x\($0)" }.joined(separator: ",") + "\n"
            for i in 0..<validation.count {
                let features = validation.features.row(i).map { "\($0)" }.joined(separator: ",")
                csv += "\(validation.sampleIDs[i]),\(validation.subjects[i] ?? ""),\(validation.labels[i]),\(features)\n"
            }
            let rows = fixture.directory.appendingPathComponent("validation.csv").path
            try csv.write(toFile: rows, atomically: true, encoding: .utf8)
            let released = fixture.stateDirectory + "/released/\(Self.model)/current.safetensors"
            let run = try PythonSafetensors.predict(model: released, rows: rows, directory: fixture.directory)
            #expect(run.status == 0, "python: \(run.stderr)")
            let output = try JSONDecoder().decode(PythonSafetensors.Output.self, from: Data(run.stdout.utf8))
            #expect(output.sha256 == record.fileSHA256, "python hashed \(output.sha256), the release record says \(record.fileSHA256 ?? "nil")")
            #expect(output.modelID == Self.model && output.version == "\(record.version)")
            #expect(output.ids == validation.sampleIDs)

            // The daemon's released model, from the snapshot, on the same rows.
            let standardization = try #require(snapshot.parameters.standardization)
            let x = standardization.apply(validation.features)
            let releasedModel = try snapshot.parameters.model(lambda: snapshot.manifest.lambda)
            let swiftPredicted = releasedModel.predict(x)
            // The logits agree to rounding (NumPy and BLAS sum in different orders), and clearly differ from the
            // noise-free model's, so agreement means Python read the released weights, not merely similar ones.
            let swiftLogits = releasedModel.logits(x)
            let noiseFree = try snapshot.parameters.engineModel(lambda: snapshot.manifest.lambda).logits(x)
            func largestDifference(_ m: Matrix) -> Double {
                var worst = 0.0
                for (i, row) in output.logits.enumerated() {
                    for (j, v) in row.enumerated() { worst = max(worst, abs(v - m[i, j])) }
                }
                return worst
            }
            #expect(output.logits.count == validation.count && output.logits.allSatisfy { $0.count == swiftLogits.cols })
            let toReleased = largestDifference(swiftLogits)
            let toNoiseFree = largestDifference(noiseFree)
            #expect(toReleased <= 1e-9, "python's logits differ from the released model's by up to \(toReleased)")
            #expect(toNoiseFree > 1e-6, "the noise-free model's logits are within \(toNoiseFree) of the released ones")
            #expect(output.predicted.count == validation.count)
            let differing = zip(output.predicted, swiftPredicted).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            #expect(differing.isEmpty && output.predicted == swiftPredicted, "\(differing.count) predictions differ, rows \(differing.prefix(10))")
            let correct = zip(output.predicted, validation.labels).filter { $0 == $1 }.count
            #expect(Double(correct) / Double(validation.count) == accuracy, "python: \(correct)/\(validation.count), record: \(accuracy)")

            await daemon.stop()
            #expect(daemon.status == 0, "\(fixture.logs)")
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }
}

/// python3 with numpy and safetensors, running Deploy/python/predict.py's forward pass on a released file.
enum PythonSafetensors {
    static let available: Bool = {
        (try? Binaries.capture("/bin/sh", ["-c", "python3 -c 'import numpy, safetensors'"]))?.status == 0
    }()

    struct Output: Decodable {
        var sha256: String
        var modelID: String?
        var version: String?
        var ids: [String]
        var logits: [[Double]]
        var predicted: [Int]

        enum CodingKeys: String, CodingKey {
            case sha256, ids, logits, predicted
            case modelID = "model_id"
            case version
        }
    }

    /// Checks the file against its `.sha256` file (exits non-zero on a mismatch), then prints the file's SHA-256, its
    /// metadata's model id and version, and predict.py's logits and predictions for the rows, as one JSON object.
    static let script = #"""
        import hashlib, json, os, sys
        sys.path.insert(0, sys.argv[1])
        import predict

        model, rows = sys.argv[2], sys.argv[3]
        with open(model, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        with open(model + ".sha256", encoding="utf-8") as f:
            stated, name = f.read().split()
        if stated != digest or name != os.path.basename(model):
            sys.exit(f"{model} hashes to {digest}; {model}.sha256 says {stated} {name}")
        tensors, architecture, metadata = predict.load_model(model)
        ids, labels, x = predict.read_rows(rows)
        scores = predict.logits(tensors, architecture, x)
        json.dump({"sha256": digest, "model_id": metadata.get("unlearnd.model_id"), "version": metadata.get("unlearnd.version"),
                   "ids": ids, "logits": scores.tolist(), "predicted": [int(p) for p in scores.argmax(axis=1)]}, sys.stdout)
        """#

    static func predict(model: String, rows: String, directory: URL) throws -> Binaries.Result {
        let path = directory.appendingPathComponent("released_predict.py").path
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return try Binaries.capture("/bin/sh", ["-c", "exec python3 \"$@\"", "sh", path, "\(Binaries.repositoryRoot)/Deploy/python", model, rows])
    }
}
