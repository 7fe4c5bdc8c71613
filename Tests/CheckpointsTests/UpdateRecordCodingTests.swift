import Foundation
import TestSupport
import Testing

@testable import Checkpoints

@Suite("update records: the gradient-step methods' audit fields", .computeBound)
struct UpdateRecordCodingTests {
    @Test("optimizer_steps and salient_parameters are written under their names, read back, and absent when nil")
    func auditFields() throws {
        var record = SnapshotManifest.UpdateRecord(time: "2026-12-07T14:00:00Z", requestIds: ["r1"], rowsRemoved: 3)
        record.method = "salun"
        record.optimizerSteps = 50
        record.salientParameters = 4_321
        let data = try JSONEncoder().encode(record)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["optimizer_steps"] as? Int == 50 && object["salient_parameters"] as? Int == 4_321)
        #expect(try JSONDecoder().decode(SnapshotManifest.UpdateRecord.self, from: data) == record)

        record.optimizerSteps = nil
        record.salientParameters = nil
        let plain = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(record)) as? [String: Any])
        #expect(plain["optimizer_steps"] == nil && plain["salient_parameters"] == nil)
    }
}
