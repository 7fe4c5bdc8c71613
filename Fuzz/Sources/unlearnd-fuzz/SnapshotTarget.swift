import Checkpoints

/// The snapshot codec: zstd frame + safetensors + manifest, with the limits the store uses.
///
/// `run` takes the bytes as a snapshot file (what a store or `unlearnctl verify` reads). Mutations rarely keep the
/// frame's XXH64 checksum valid, so `runPayload` takes them as the uncompressed payload. Properties: a snapshot that
/// decodes verifies against the SHA-256 its decoding recorded (and no other digest), and re-encodes to a file that
/// decodes, verified, to the same snapshot.
enum SnapshotTarget {
    static let limits = SnapshotCodec.Limits.default

    static func run(_ bytes: [UInt8]) {
        guard let decoded = Explain.attempt("snapshot", { try SnapshotCodec.decode(bytes, expectedSHA256: nil, limits: limits) }) else {
            return
        }
        do {
            let again = try SnapshotCodec.decode(bytes, expectedSHA256: decoded.payloadSHA256, limits: limits)
            guard same(again.snapshot, decoded.snapshot) else { fatalError("the snapshot decodes differently the second time") }
        } catch {
            fatalError("a snapshot that decoded does not verify against its recorded SHA-256: \(error)")
        }
        var otherBytes = decoded.payloadSHA256.bytes
        otherBytes[0] ^= 1
        if (try? SnapshotCodec.decode(bytes, expectedSHA256: SHA256.Digest(bytes: otherBytes)!, limits: limits)) != nil {
            fatalError("a snapshot verified against a digest that is not its payload's")
        }
        reencode(decoded.snapshot)
    }

    static func runPayload(_ bytes: [UInt8]) {
        guard let snapshot = Explain.attempt("payload", { try SnapshotCodec.decodePayload(bytes, limits: limits.safetensors) }) else {
            return
        }
        reencode(snapshot)
    }

    /// Equal bit for bit (the payloads' bytes): `==` on the parameters is false for a NaN the codec kept exactly.
    static func same(_ a: Snapshot, _ b: Snapshot) -> Bool {
        do {
            return try SnapshotCodec.payload(a) == SnapshotCodec.payload(b)
        } catch {
            fatalError("a decoded snapshot has no payload: \(error)")
        }
    }

    static func reencode(_ snapshot: Snapshot) {
        do {
            let encoded = try SnapshotCodec.encode(snapshot, level: 1)
            let again = try SnapshotCodec.decode(encoded.file, expectedSHA256: encoded.payloadSHA256, limits: limits)
            guard same(again.snapshot, snapshot) else { fatalError("a re-encoded snapshot decodes to another snapshot") }
            guard again.payloadSHA256 == SHA256.hash(try SnapshotCodec.payload(snapshot)) else {
                fatalError("the recorded SHA-256 is not the payload's")
            }
        } catch {
            fatalError("a decoded snapshot does not re-encode and decode: \(error)")
        }
    }
}
