import Checkpoints
import Foundation
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// On the mock cluster and on Tansu.
@Suite("unlearnd budget and retrain", .serialized, .enabled(if: Kcat.path != nil, "kcat is not installed (apt-get install kcat)"), .blockingWaits)
struct DaemonBudgetTests {
    static func subjects(_ bundle: ModelBundle) -> [String] {
        Array(Set(bundle.train.subjects.compactMap { $0 })).sorted()
    }

    /// One retrain event per epoch (re-sent copies carry the same alert_id), later
    /// deletions tombstoned and on the exclusion list, and after `unlearnctl rebase` updates resume in epoch 2.
    @Test(
        "budget exhaustion: one alert per epoch, exclusion list kept current, rebase starts a new epoch", .timeLimit(.minutes(5)),
        arguments: Broker.allCases)
    func exhaustion(broker: Broker) async throws {
        let fixture = try await DaemonFixture(label: "budget", models: ["digits-a"], broker: broker)
        do {
            let config = try fixture.writeConfig([
                "unlearning": ["noise": true, "selection": "full"],
                // Adaptive mode, every update released: the budget runs out after a few releases.
                "budget": ["mode": "adaptive", "epsilon": 12, "epsilon_step": 5, "sigma_max": 0.2, "max_accuracy_drop": 0.05],
                "release": ["every_updates": 1],
                // One update (and release) per subject, as if they arrived apart.
                "batch": ["group_by": "request"],
            ])
            var daemon = try fixture.startDaemon(config: config)
            let bundle = try fixture.bundle("digits-a")
            let names = Self.subjects(bundle)
            let first = Array(names.prefix(12))
            let ids = first.indices.map { "budget-\($0)" }
            try fixture.produce(
                lines: zip(ids, first).map { Requests.line(id: $0, model: "digits-a", scope: .subject($1)) }
            )
            let exhausted = try await fixture.waitForLedger("digits-a", contains: Set(ids))
            let budget = try exhausted.manifest.budget.decode(BudgetState.self)
            #expect(budget.retrainReasons.contains(.privacyBudget), "reasons: \(budget.retrainReasons)")
            #expect(budget.epsilonSpent(delta: 1e-5) <= 12)
            #expect(budget.appliedUpdates >= 1 && budget.appliedUpdates < 12)
            #expect(
                exhausted.manifest.residualN == exhausted.manifest.n0 - first.reduce(0) { n, s in n + bundle.train.subjects.filter { $0 == s }.count }
            )

            func alerts() throws -> [RetrainEvent] {
                try fixture.consume(topic: "unlearn.alerts").compactMap { record in
                    let value = record.components(separatedBy: "\u{1}").last ?? ""
                    return try? JSONDecoder().decode(RetrainEvent.self, from: Data(value.utf8))
                }
            }
            let firstAlerts = try await eventually(.seconds(30), "the retrain alert") { () -> [RetrainEvent]? in
                let a = try alerts()
                return a.isEmpty ? nil : a
            }
            #expect(Set(firstAlerts.map(\.alertID)) == ["digits-a:1"])
            let alert = firstAlerts[0]
            #expect(alert.reasons.contains("privacy_budget"))
            #expect(alert.snapshotVersion >= 2)

            // A restart re-sends the alert with the same id; consumers de-duplicate by alert_id.
            await daemon.stop()
            #expect(daemon.status == 0)
            daemon = try fixture.startDaemon(config: config)
            _ = try await eventually(.seconds(60), "the re-sent alert") { () -> Bool? in try alerts().count >= 2 ? true : nil }
            #expect(Set(try alerts().map(\.alertID)) == ["digits-a:1"])

            // Deletions after the limit are recorded (tombstoned, on the exclusion list) but not applied.
            let later = Array(names.dropFirst(12).prefix(3))
            let laterIDs = later.indices.map { "later-\($0)" }
            let before = try #require(try fixture.newest("digits-a"))
            try fixture.produce(
                lines: zip(laterIDs, later).map { Requests.line(id: $0, model: "digits-a", scope: .subject($1)) }
            )
            let recorded = try await fixture.waitForLedger("digits-a", contains: Set(laterIDs))
            #expect(recorded.parameters.theta == before.parameters.theta, "weights changed after the limit")
            let laterSamples = bundle.train.sampleIDs.indices.filter { later.contains(bundle.train.subjects[$0] ?? "") }.map {
                bundle.train.sampleIDs[$0]
            }
            // The daemon rewrites the exclusion list just after the snapshot that records the tombstones: wait for it.
            func exclusionList() -> [String] {
                ((try? String(contentsOfFile: alert.tombstonesFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            }
            let listed = try? await eventually(.seconds(30), "the exclusion list with the later deletions") { () -> Bool? in
                let lines = exclusionList()
                return Set(laterSamples).isSubset(of: Set(lines)) && lines.count == recorded.manifest.tombstones.count ? true : nil
            }
            #expect(listed == true, "the exclusion list did not catch up with the snapshot within 30 s")
            let exclusions = exclusionList()
            #expect(Set(laterSamples).isSubset(of: Set(exclusions)), "later deletions are missing from the exclusion list")
            #expect(exclusions.count == recorded.manifest.tombstones.count)
            let mode = try FileManager.default.attributesOfItem(atPath: alert.tombstonesFile)[.posixPermissions] as? Int
            #expect(mode == 0o600)

            // Install a retrained base; updates resume in epoch 2.
            await daemon.stop()
            let rebase = try Binaries.run("unlearnctl", ["rebase", "--state-dir", fixture.stateDirectory, "--model", "digits-a", "--retrain"])
            #expect(rebase.status == 0, "rebase: \(rebase.stderr)")
            daemon = try fixture.startDaemon(config: config)
            let resumedIDs = ["resume-0"]
            try fixture.produce(
                lines: [Requests.line(id: resumedIDs[0], model: "digits-a", scope: .subject(names[20]))]
            )
            let resumed = try await fixture.waitForLedger("digits-a", contains: Set(resumedIDs))
            #expect(resumed.manifest.budgetEpoch == 2)
            let state = try resumed.manifest.budget.decode(BudgetState.self)
            #expect(state.epoch == 2)
            #expect(!state.retrainRequired)
            #expect(state.appliedUpdates == 1)
            #expect(resumed.parameters.theta != recorded.parameters.theta)
            #expect(resumed.manifest.tombstones.count == recorded.manifest.tombstones.count + bundle.train.subjects.filter { $0 == names[20] }.count)

            // Every request is in exactly one receipt: epoch 1's releases, the retrained base's (what epoch 1 recorded
            // after its last release: unreleased and tombstoned after the limit), and epoch 2's.
            let everyID = ids + laterIDs + resumedIDs
            let receipts = try await eventually(.seconds(30), "receipts covering every request") { () -> [String: ReleaseEvent]? in
                let byID = Dictionary(try ReleaseReceiptTests.receipts(fixture).map { ($0.event.eventID, $0.event) }) { first, _ in first }
                return Set(byID.values.flatMap(\.requestIDs)).isSuperset(of: everyID) ? byID : nil
            }
            #expect(receipts.values.flatMap(\.requestIDs).sorted() == everyID.sorted(), "a request is in more than one receipt")
            let retrained = receipts.values.filter { $0.mode == "retrained" }
            #expect(retrained.count == 1 && retrained.first?.budgetEpoch == 2 && retrained.first?.certified == false)
            #expect(
                Set(laterIDs).isSubset(of: Set(retrained.first?.requestIDs ?? [])), "the tombstoned requests are not in the retrained base's receipt")
            await daemon.stop()
            #expect(daemon.status == 0)
        } catch {
            Issue.record("\(error)\n\(fixture.logs)")
        }
        await fixture.tearDown()
    }
}
