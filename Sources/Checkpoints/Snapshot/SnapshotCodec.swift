import Dispatch
import Foundation

/// Encodes and decodes snapshot files.
///
/// A snapshot file is a safetensors payload (tensors of ``ModelParameters``; `__metadata__` holds `format: pt`
/// and the manifest JSON under ``SnapshotManifest/metadataKey``) compressed as exactly one zstd frame with content
/// size and checksum. The SHA-256 of the payload is not inside the file: the store records it next to the file
/// (see ``SnapshotStore``), so a file whose bytes were swapped for another valid snapshot is caught too.
public enum SnapshotCodec {
    /// Caps applied while decoding, before allocating.
    public struct Limits: Sendable {
        /// Largest compressed file read.
        public var maxFileBytes: Int
        /// Largest decompressed payload accepted (checked against the frame header before allocating).
        public var maxPayloadBytes: Int
        public var safetensors: SafetensorsFile.Limits

        public init(
            maxFileBytes: Int = 1 << 32, maxPayloadBytes: Int = 1 << 32,
            safetensors: SafetensorsFile.Limits = SafetensorsFile.Limits(maxHeaderBytes: 1 << 28)
        ) {
            self.maxFileBytes = maxFileBytes
            self.maxPayloadBytes = maxPayloadBytes
            self.safetensors = safetensors
        }

        public static let `default` = Limits()
    }

    /// A snapshot file's bytes with the record of its payload.
    public struct Encoded: Sendable {
        public var file: [UInt8]
        public var payloadSHA256: SHA256.Digest
        public var payloadBytes: Int
    }

    /// A decoded snapshot with what was measured while decoding it.
    public struct Decoded: Sendable {
        public var snapshot: Snapshot
        public var payloadSHA256: SHA256.Digest
        public var payloadBytes: Int
        public var fileBytes: Int
    }

    /// The uncompressed safetensors payload of `snapshot`.
    public static func payload(_ snapshot: Snapshot) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let manifest = String(decoding: try encoder.encode(snapshot.manifest), as: UTF8.self)
        let file = SafetensorsFile(
            metadata: ["format": "pt", SnapshotManifest.metadataKey: manifest],
            tensors: try snapshot.parameters.tensors())
        return try file.encoded()
    }

    /// Encodes `snapshot`: payload, its SHA-256 and the compressed frame (hash and compression run in parallel).
    public static func encode(_ snapshot: Snapshot, level: Int32 = Zstd.defaultLevel) throws -> Encoded {
        let payload = try payload(snapshot)
        let (digest, compressed) = try hashAndCompress(payload, level: level)
        return Encoded(file: compressed, payloadSHA256: digest, payloadBytes: payload.count)
    }

    /// SHA-256 of `payload` on one thread while zstd compresses it on another.
    static func hashAndCompress(_ payload: [UInt8], level: Int32) throws -> (SHA256.Digest, [UInt8]) {
        nonisolated(unsafe) var digest: SHA256.Digest?
        nonisolated(unsafe) var compressed: Result<[UInt8], any Error> = .success([])
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            if index == 0 {
                digest = SHA256.hash(payload)
            } else {
                compressed = Result { try Zstd.compress(payload, level: level) }
            }
        }
        return (digest!, try compressed.get())
    }

    /// Decodes a snapshot file: strict single zstd frame spanning the file, payload SHA-256 equal to `expected`
    /// (when given), strict safetensors, valid manifest, parameters matching the manifest's architecture.
    public static func decode(
        _ file: [UInt8], expectedSHA256 expected: SHA256.Digest?, limits: Limits = .default
    ) throws -> Decoded {
        guard file.count <= limits.maxFileBytes else {
            throw CheckpointError(.tooLarge, "snapshot file is \(file.count) bytes, above the cap of \(limits.maxFileBytes)")
        }
        let payload = try Zstd.decompress(file, maxSize: limits.maxPayloadBytes, strictSingleFrame: true)
        nonisolated(unsafe) var digest: SHA256.Digest?
        nonisolated(unsafe) var parsed: Result<Snapshot, any Error> = .failure(CheckpointError(.malformedSafetensors, "not parsed"))
        // Parsing is safe on hostile input, so it runs while the hash is computed; its result is used only if the
        // hash matches.
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            if index == 0 {
                digest = SHA256.hash(payload)
            } else {
                parsed = Result { try decodePayload(payload, limits: limits.safetensors) }
            }
        }
        if let expected, digest! != expected {
            throw CheckpointError(
                .hashMismatch,
                "payload SHA-256 is \(digest!.hex) but the store recorded \(expected.hex): the file was altered or replaced")
        }
        return Decoded(snapshot: try parsed.get(), payloadSHA256: digest!, payloadBytes: payload.count, fileBytes: file.count)
    }

    /// Decodes an uncompressed payload.
    public static func decodePayload(_ payload: [UInt8], limits: SafetensorsFile.Limits = .default) throws -> Snapshot {
        let file = try SafetensorsFile.decode(payload, limits: limits)
        let manifest = try manifest(from: file)
        let parameters = try ModelParameters(architecture: manifest.architecture, tensors: file.tensors)
        return try Snapshot(manifest: manifest, parameters: parameters)
    }

    /// The manifest stored in a safetensors file's metadata.
    public static func manifest(from file: SafetensorsFile) throws -> SnapshotManifest {
        guard let json = file.metadata?[SnapshotManifest.metadataKey] else {
            throw CheckpointError(
                .malformedManifest, "__metadata__ has no \"\(SnapshotManifest.metadataKey)\": this is not an unlearnd snapshot")
        }
        let manifest: SnapshotManifest
        do {
            // Check the version first so a newer format gets "upgrade", not a confusing missing-field message.
            struct Version: Decodable {
                var formatVersion: Int
                enum CodingKeys: String, CodingKey { case formatVersion = "format_version" }
            }
            let version = try JSONDecoder().decode(Version.self, from: Data(json.utf8)).formatVersion
            guard version <= SnapshotManifest.currentFormatVersion else {
                throw CheckpointError(
                    .malformedManifest,
                    "manifest format version \(version) is newer than this build reads (\(SnapshotManifest.currentFormatVersion)); upgrade unlearnd")
            }
            manifest = try JSONDecoder().decode(SnapshotManifest.self, from: Data(json.utf8))
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError(.malformedManifest, "manifest JSON is invalid: \(error)")
        }
        try manifest.validate()
        return manifest
    }

    /// A plain safetensors file with the weights only (for PyTorch/NumPy users): the parameter tensors, and in
    /// `__metadata__` `format: pt`, the model id, the version and the architecture JSON (needed to know the
    /// activations).
    public static func exportSafetensors(_ snapshot: Snapshot) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let architecture = String(decoding: try encoder.encode(snapshot.manifest.architecture), as: UTF8.self)
        let file = SafetensorsFile(
            metadata: [
                "format": "pt",
                "unlearnd.architecture": architecture,
                "unlearnd.model_id": snapshot.manifest.modelId,
                "unlearnd.version": String(snapshot.manifest.version),
            ],
            tensors: try snapshot.parameters.tensors(includingPrivate: false))
        return try file.encoded()
    }
}
