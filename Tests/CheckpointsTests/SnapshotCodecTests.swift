import Foundation
import TestSupport
import Testing
import UnlearningCore

@testable import Checkpoints

@Suite("Snapshot codec and corruption", .computeBound)
struct SnapshotCodecTests {
    @Test("snapshot round trip is bit-exact, manifest included")
    func roundTrip() throws {
        let snapshot = try Fixtures.snapshot(Fixtures.small, version: 4, parent: 3)
        let encoded = try SnapshotCodec.encode(snapshot)
        let decoded = try SnapshotCodec.decode(encoded.file, expectedSHA256: encoded.payloadSHA256)
        #expect(decoded.snapshot == snapshot)
        #expect(decoded.snapshot.parameters.theta.map(\.bitPattern) == snapshot.parameters.theta.map(\.bitPattern))
        #expect(decoded.payloadSHA256 == encoded.payloadSHA256)
        #expect(decoded.payloadSHA256 == SHA256.hash(try SnapshotCodec.payload(snapshot)))
        #expect(decoded.snapshot.manifest.tombstones.count == 9)
    }

    @Test("tensor layout: layers.{l}.weight [out, in] rows are units, bias follows in theta")
    func tensorLayout() throws {
        let architecture = Architecture(inputs: 2, hidden: [], classes: 2)
        // Unit 0: w = (1, 2), b = 3; unit 1: w = (4, 5), b = 6.
        let parameters = try ModelParameters(architecture: architecture, theta: [1, 2, 3, 4, 5, 6])
        let tensors = try parameters.tensors()
        #expect(try tensors["layers.0.weight"]!.float64Values() == [1, 2, 4, 5])
        #expect(tensors["layers.0.weight"]!.shape == [2, 2])
        #expect(try tensors["layers.0.bias"]!.float64Values() == [3, 6])
        #expect(try ModelParameters(architecture: architecture, tensors: tensors) == parameters)
        #expect(parameters.logits([1, 1]) == [6, 15])
    }

    @Test("manifest JSON uses the documented snake_case keys and survives unknown additions")
    func manifestSchema() throws {
        let manifest = Fixtures.manifest(Fixtures.small, version: 3, parent: 2)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(manifest)) as! [String: Any]
        for key in [
            "format_version", "model_id", "version", "parent_version", "budget_epoch", "base_version", "created_at",
            "architecture", "lambda", "n0", "residual_n", "tombstones", "kafka_offsets", "applied_request_ids",
            "budget", "updates",
        ] {
            #expect(json[key] != nil, "\(key)")
        }
        var extended = json
        extended["some_future_field"] = ["x": 1]
        let decoded = try JSONDecoder().decode(SnapshotManifest.self, from: JSONSerialization.data(withJSONObject: extended))
        #expect(decoded == manifest)
        var newer = json
        newer["format_version"] = 99
        let file = SafetensorsFile(metadata: [
            SnapshotManifest.metadataKey: String(decoding: try JSONSerialization.data(withJSONObject: newer), as: UTF8.self)
        ])
        let error = try #require(throws: CheckpointError.self) { try SnapshotCodec.manifest(from: file) }
        #expect(error.reason.contains("upgrade"))
    }

    @Test("budget state round-trips through JSONValue")
    func budgetJSONValue() throws {
        struct Budget: Codable, Equatable {
            var epsilonSpent: Double
            var orders: [Double]
            var exhausted: Bool
        }
        let budget = Budget(epsilonSpent: 0.75, orders: [1.5, 2, 32], exhausted: false)
        let value = try JSONValue(encoding: budget)
        #expect(value["epsilonSpent"]?.doubleValue == 0.75)
        #expect(try value.decode(Budget.self) == budget)
    }

    @Test("row sets encode as compact ranges and reject malformed text")
    func rowSet() throws {
        var rows = RowSet([9, 3, 4, 5, 12, 13, 14])
        #expect(rows.description == "3-5,9,12-14")
        rows.insert(6)
        rows.insert(11)
        #expect(rows.description == "3-6,9,11-14")
        #expect(rows.contains(13) && !rows.contains(10) && rows.count == 9)
        let data = try JSONEncoder().encode(rows)
        #expect(try JSONDecoder().decode(RowSet.self, from: data) == rows)
        for bad in [#"{"count":2,"ranges":"5,3"}"#, #"{"count":1,"ranges":"3-1"}"#, #"{"count":5,"ranges":"1-3"}"#, #"{"count":1,"ranges":"x"}"#] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(RowSet.self, from: Data(bad.utf8)) }
        }
    }

    // MARK: Corruption suite, on the MNIST-shaped model

    static let mnistSnapshot: (snapshot: Snapshot, encoded: SnapshotCodec.Encoded) = {
        let snapshot = try! Fixtures.snapshot(Fixtures.mnist, version: 2, parent: 1)
        return (snapshot, try! SnapshotCodec.encode(snapshot))
    }()

    private func expectRejected(
        _ file: [UInt8], expected: SHA256.Digest?, code: CheckpointError.Code, reasonContains: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            _ = try SnapshotCodec.decode(file, expectedSHA256: expected)
            Issue.record("corrupted file was accepted", sourceLocation: sourceLocation)
        } catch let error as CheckpointError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            if let reasonContains {
                #expect(error.reason.contains(reasonContains), "\(error.reason)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("truncated at every 1/16 of the file: detected as truncated", arguments: 0..<16)
    func truncated(sixteenth: Int) {
        let (_, encoded) = Self.mnistSnapshot
        let cut = encoded.file.count * sixteenth / 16
        expectRejected(Array(encoded.file.prefix(cut)), expected: encoded.payloadSHA256, code: .truncated)
    }

    @Test("flipped byte in the zstd frame header")
    func flippedFrameHeader() {
        let (_, encoded) = Self.mnistSnapshot
        var magic = encoded.file
        magic[1] ^= 0x40
        expectRejected(magic, expected: encoded.payloadSHA256, code: .corruptFrame, reasonContains: "does not start with a zstd frame")
        // Frame header descriptor: clearing the checksum flag.
        var descriptor = encoded.file
        descriptor[4] &= ~0x04
        expectRejected(descriptor, expected: encoded.payloadSHA256, code: .frameFlagsMissing, reasonContains: "checksum")
        // Content size field (first byte after the descriptor/window bytes): the frame no longer matches its size.
        var size = encoded.file
        size[6] ^= 0x01
        do {
            _ = try SnapshotCodec.decode(size, expectedSHA256: encoded.payloadSHA256)
            Issue.record("altered content size accepted")
        } catch let error as CheckpointError {
            #expect([.corruptFrame, .truncated, .tooLarge, .trailingData].contains(error.code), "\(error)")
        } catch { Issue.record("\(error)") }
    }

    @Test("flipped byte in the compressed payload: zstd checksum or block error")
    func flippedPayload() {
        let (_, encoded) = Self.mnistSnapshot
        for position in [encoded.file.count / 3, encoded.file.count / 2, encoded.file.count * 3 / 4] {
            var file = encoded.file
            file[position] ^= 0x10
            expectRejected(file, expected: encoded.payloadSHA256, code: .corruptFrame)
        }
    }

    @Test("flipped byte in the zstd trailer (content checksum)")
    func flippedTrailer() {
        let (_, encoded) = Self.mnistSnapshot
        var file = encoded.file
        file[file.count - 2] ^= 0x01
        expectRejected(file, expected: encoded.payloadSHA256, code: .corruptFrame, reasonContains: "checksum")
    }

    @Test("a second frame appended is rejected")
    func secondFrame() throws {
        let (_, encoded) = Self.mnistSnapshot
        let file = encoded.file + (try Zstd.compress([1, 2, 3]))
        expectRejected(file, expected: encoded.payloadSHA256, code: .trailingData, reasonContains: "after its zstd frame")
    }

    @Test("a wrong SHA-256 is rejected")
    func wrongHash() {
        let (_, encoded) = Self.mnistSnapshot
        expectRejected(encoded.file, expected: SHA256.hash([0]), code: .hashMismatch, reasonContains: "store recorded")
    }

    @Test("a valid frame around an altered payload fails the SHA-256")
    func alteredPayloadRecompressed() throws {
        let (snapshot, encoded) = Self.mnistSnapshot
        var payload = try SnapshotCodec.payload(snapshot)
        payload[payload.count - 3] ^= 0x01  // a weight's low mantissa bit: still a valid safetensors file
        expectRejected(try Zstd.compress(payload), expected: encoded.payloadSHA256, code: .hashMismatch)
    }

    @Test("a header claiming 1 TB is refused before allocating")
    func claimsOneTerabyte() throws {
        // (a) The zstd frame declares 1 TB of content: single-segment frame, 8-byte content size, checksum flag,
        // one empty last raw block, checksum.
        var frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE4]
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { frame.append(contentsOf: $0) }
        frame += [0x01, 0x00, 0x00, 0, 0, 0, 0]
        expectRejected(frame, expected: nil, code: .tooLarge, reasonContains: "1099511627776")
        // (b) The safetensors header length field claims 1 TB inside an honest frame with the right hash.
        var payload: [UInt8] = []
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { payload.append(contentsOf: $0) }
        payload += Array("{}      ".utf8)
        expectRejected(try Zstd.compress(payload), expected: SHA256.hash(payload), code: .tooLarge, reasonContains: "header claims")
    }

    @Test("not a snapshot: safetensors without a manifest")
    func missingManifest() throws {
        let payload = try SafetensorsFile(tensors: ["x": SafetensorsTensor(float64: [1], shape: [1])]).encoded()
        expectRejected(try Zstd.compress(payload), expected: nil, code: .malformedManifest, reasonContains: "not an unlearnd snapshot")
    }
}
