import Checkpoints

/// The snapshot codec: zstd frame + safetensors + manifest.
///
/// `run` takes the bytes as a snapshot file (what a store or `unlearnctl verify` reads). Mutations rarely keep the
/// frame's XXH64 checksum valid, so `runPayload` takes them as the uncompressed payload and also decodes the frame
/// the codec writes for it. Properties: a snapshot that decodes verifies against the SHA-256 its decoding recorded
/// (and no other digest), and re-encodes to a file that decodes to the same snapshot.
enum SnapshotTarget {
    /// Small enough that libFuzzer's `-malloc_limit_mb` catches a length field that drives an allocation.
    static let limits = SnapshotCodec.Limits(maxFileBytes: 1 << 20, maxPayloadBytes: 1 << 24)

    static func run(_ bytes: [UInt8]) {
        guard let decoded = Explain.attempt("snapshot", { try SnapshotCodec.decode(bytes, expectedSHA256: nil, limits: limits) }) else {
            return
        }
        check(decoded, file: bytes)
    }

    static func runPayload(_ bytes: [UInt8]) {
        let parsed = Explain.attempt("payload", { try SnapshotCodec.decodePayload(bytes, limits: limits.safetensors) })
        let file: [UInt8]
        do {
            file = try Zstd.compress(bytes, level: 1)
        } catch {
            fatalError("zstd cannot compress \(bytes.count) bytes: \(error)")
        }
        let decoded = try? SnapshotCodec.decode(file, expectedSHA256: SHA256.hash(bytes), limits: limits)
        guard (parsed == nil) == (decoded == nil) else {
            fatalError("the payload decodes \(parsed == nil ? "only inside" : "only outside") a frame")
        }
        guard let decoded else { return }
        guard decoded.snapshot == parsed else { fatalError("the payload decodes to another snapshot inside a frame") }
        check(decoded, file: file)
    }

    static func check(_ decoded: SnapshotCodec.Decoded, file: [UInt8]) {
        let digest = decoded.payloadSHA256
        do {
            let again = try SnapshotCodec.decode(file, expectedSHA256: digest, limits: limits)
            guard again.snapshot == decoded.snapshot else { fatalError("the snapshot decodes differently the second time") }
        } catch {
            fatalError("a snapshot that decoded does not verify against its recorded SHA-256: \(error)")
        }
        var otherBytes = digest.bytes
        otherBytes[0] ^= 1
        if (try? SnapshotCodec.decode(file, expectedSHA256: SHA256.Digest(bytes: otherBytes)!, limits: limits)) != nil {
            fatalError("a snapshot verified against a digest that is not its payload's")
        }
        do {
            let encoded = try SnapshotCodec.encode(decoded.snapshot, level: 1)
            let again = try SnapshotCodec.decode(encoded.file, expectedSHA256: encoded.payloadSHA256, limits: limits)
            guard again.snapshot == decoded.snapshot else { fatalError("a re-encoded snapshot decodes to another snapshot") }
        } catch {
            fatalError("a decoded snapshot does not re-encode and decode: \(error)")
        }
    }
}
