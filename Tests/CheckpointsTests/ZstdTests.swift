import Foundation
import ProcessHarness
import TestSupport
import Testing

@testable import Checkpoints

@Suite("Zstd", .computeBound)
struct ZstdTests {
    private func sample(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { index in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return index % 3 == 0 ? UInt8(truncatingIfNeeded: state >> 56) : UInt8(index % 7)
        }
    }

    @Test("round trip, one frame with content size and checksum")
    func roundTrip() throws {
        for count in [0, 1, 100, 200_000] {
            let bytes = sample(count)
            let compressed = try Zstd.compress(bytes)
            #expect(try Zstd.decompress(compressed, maxSize: count) == bytes)
            #expect(try Zstd.decompress(compressed, maxSize: count, strictSingleFrame: true) == bytes)
            // Frame header descriptor: bit 2 = checksum flag; content size recorded (single segment or FCS field).
            let info = try compressed.withUnsafeBytes { try FrameInfo.strict($0, maxSize: count) }
            #expect(info.contentSize == count)
        }
    }

    @Test("bundled data files (zstd CLI output without content size) decompress")
    func bundledDataFile() throws {
        let url = TestSupport.packageRoot.appendingPathComponent("data/digits.csv.zst")
        let compressed = [UInt8](try Data(contentsOf: url))
        let csv = try Zstd.decompress(compressed, maxSize: 64 << 20)
        #expect(String(decoding: csv.prefix(22), as: UTF8.self) == "sample_id,subject,labe")
        #expect(csv.filter { $0 == UInt8(ascii: "\n") }.count == 1798)  // header + 1,797 rows
        // The same file is not acceptable as a snapshot frame: it does not record its content size.
        #expect(throws: CheckpointError.self) { try Zstd.decompress(compressed, maxSize: 64 << 20, strictSingleFrame: true) }
    }

    @Test("zstd CLI streaming output from stdin round trips")
    func cliStreaming() throws {
        guard let zstd = ProcessRunner.which("zstd") else { return }  // the CLI is optional; the data file test covers it
        let bytes = sample(300_000)
        let compressed = try ProcessRunner.run(zstd, ["-q", "-c", "-"], stdin: Data(bytes))
        #expect(compressed.status == 0)
        #expect(try Zstd.decompress([UInt8](compressed.stdout), maxSize: bytes.count) == bytes)
    }

    @Test("multiple frames: accepted leniently, rejected strictly")
    func multipleFrames() throws {
        let a = sample(1000)
        let b = Array(sample(500).reversed())
        let joined = try Zstd.compress(a) + Zstd.compress(b)
        #expect(try Zstd.decompress(joined, maxSize: 1500) == a + b)
        let error = try #require(throws: CheckpointError.self) {
            try Zstd.decompress(joined, maxSize: 1500, strictSingleFrame: true)
        }
        #expect(error.code == .trailingData)
    }

    @Test("size cap enforced with and without a declared content size")
    func sizeCap() throws {
        let bytes = [UInt8](repeating: 7, count: 100_000)
        let compressed = try Zstd.compress(bytes)
        let strict = try #require(throws: CheckpointError.self) {
            try Zstd.decompress(compressed, maxSize: 99_999, strictSingleFrame: true)
        }
        #expect(strict.code == .tooLarge)
        let lenient = try #require(throws: CheckpointError.self) { try Zstd.decompress(compressed, maxSize: 99_999) }
        #expect(lenient.code == .tooLarge)
        #expect(try Zstd.decompress(compressed, maxSize: 100_000).count == 100_000)
    }

    @Test("a declared content size the blocks cannot produce is rejected before allocating")
    func declaredSizeBeyondBlocks() throws {
        // 21 bytes: a frame header declaring 2 GiB (single segment, checksum flag), one raw block of 1 byte, a
        // checksum. The fuzz harness's allocation bound (README, "Development") caught the 2 GiB allocation.
        let path = TestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/fuzz/zstd-declares-2gib.zst").path
        let file = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        #expect(file.count == 21)
        let error = try #require(throws: CheckpointError.self) {
            try file.withUnsafeBytes { try FrameInfo.strict($0, maxSize: 1 << 32) }
        }
        #expect(error.code == .corruptFrame)
        #expect(error.reason.contains("its blocks can produce at most 1"))
        // Frames whose blocks do produce the declared size still pass: RLE (one byte per 128 KiB block), raw, compressed.
        for bytes in [[UInt8](repeating: 7, count: 1 << 20), sample(300_000), []] {
            let compressed = try Zstd.compress(bytes)
            #expect(try compressed.withUnsafeBytes { try FrameInfo.strict($0, maxSize: 1 << 32) }.contentSize == bytes.count)
        }
    }

    @Test("truncation and garbage detected")
    func truncation() throws {
        let bytes = sample(50_000)
        let compressed = try Zstd.compress(bytes)
        for cut in [1, 5, compressed.count / 2, compressed.count - 1] {
            let truncated = Array(compressed.prefix(cut))
            #expect(throws: CheckpointError.self) { try Zstd.decompress(truncated, maxSize: 1 << 20) }
            #expect(throws: CheckpointError.self) { try Zstd.decompress(truncated, maxSize: 1 << 20, strictSingleFrame: true) }
        }
        #expect(throws: CheckpointError.self) { try Zstd.decompress(compressed + [0x00], maxSize: 1 << 20) }
        #expect(throws: CheckpointError.self) { try Zstd.decompress([1, 2, 3, 4, 5, 6, 7, 8], maxSize: 1 << 20) }
    }
}
