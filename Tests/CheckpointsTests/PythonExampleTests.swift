import Foundation
import ProcessHarness
import TestSupport
import Testing
import UnlearningCore

@testable import Checkpoints

@Suite("Python interop example", .blockingWaits)
struct PythonExampleTests {
    @Test("Deploy/python/predict.py reproduces the predictions from an export")
    func predictMatches() throws {
        guard let python = try SafetensorsTests.python() else { return }
        let root = try TestSupport.makeTemporaryDirectory("py")
        defer { try? FileManager.default.removeItem(at: root) }
        let snapshot = try Fixtures.snapshot(Fixtures.small, version: 3, parent: 2)
        let model = root.appendingPathComponent("model.safetensors")
        try Data(SnapshotCodec.exportSafetensors(snapshot)).write(to: model)
        // 40 rows of raw features around the fixture's input mean.
        var mixer = SplitMix64(state: 5)
        var csv = "sample_id,subject,label,x0,x1,x2,x3,x4,x5\n"
        var rows = [[Double]]()
        for index in 0..<40 {
            let row = (0..<6).map { _ in mixer.double(150) }
            rows.append(row)
            csv += "s\(index),,\(index % 3)," + row.map { "\($0)" }.joined(separator: ",") + "\n"
        }
        let rowsURL = root.appendingPathComponent("rows.csv")
        try Data(csv.utf8).write(to: rowsURL)
        let script = TestSupport.packageRoot.appendingPathComponent("Deploy/python/predict.py").path
        let predict = try ProcessRunner.run(python, [script, model.path, rowsURL.path, "--json"])
        try #require(predict.status == 0, "predict.py failed: \(predict.stderrText)")
        let result = try JSONSerialization.jsonObject(with: predict.stdout) as! [String: Any]
        let logits = result["logits"] as! [[Double]]
        let predicted = result["predicted"] as! [Int]
        for (index, row) in rows.enumerated() {
            let expected = snapshot.parameters.logits(row)
            // Same float64 operations, but NumPy sums dot products in a different order: agree to 1e-9 relative.
            for (a, b) in zip(logits[index], expected) {
                #expect(abs(a - b) <= 1e-9 * max(1, abs(b)), "row \(index): \(a) vs \(b)")
            }
            let argmax = expected.indices.max { expected[$0] < expected[$1] }!
            #expect(predicted[index] == argmax, "row \(index)")
        }
    }
}
