import Foundation

/// The store's record of one snapshot version: the SHA-256 and sizes of its payload and file.
///
/// Kept in `v{version:012}.json` next to `v{version:012}.safetensors.zst`. Creating the record with link(2) is how a
/// writer claims the version number: it fails if the name exists, so two writers can never both write one version.
public struct VersionRecord: Codable, Sendable, Equatable {
    public static let currentFormat = "unlearnd.snapshot-record.v1"

    public var format: String
    public var version: UInt64
    /// SHA-256 (hex) of the decompressed safetensors payload: `zstd -dc <file> | sha256sum` prints it.
    public var payloadSHA256: String
    public var payloadBytes: Int
    public var fileBytes: Int

    private enum CodingKeys: String, CodingKey {
        case format, version
        case payloadSHA256 = "payload_sha256"
        case payloadBytes = "payload_bytes"
        case fileBytes = "file_bytes"
    }

    public init(version: UInt64, payloadSHA256: SHA256.Digest, payloadBytes: Int, fileBytes: Int) {
        self.format = Self.currentFormat
        self.version = version
        self.payloadSHA256 = payloadSHA256.hex
        self.payloadBytes = payloadBytes
        self.fileBytes = fileBytes
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self)) + [UInt8(ascii: "\n")]
    }

    static func decode(_ bytes: [UInt8], path: String) throws -> VersionRecord {
        let record: VersionRecord
        do {
            record = try JSONDecoder().decode(VersionRecord.self, from: Data(bytes))
        } catch {
            throw CheckpointError(.malformedManifest, "version record \(path) is not valid: \(error)")
        }
        guard record.format == currentFormat else {
            throw CheckpointError(.malformedManifest, "version record \(path) has format \"\(record.format)\"; expected \(currentFormat)")
        }
        guard SHA256.Digest(hex: record.payloadSHA256) != nil else {
            throw CheckpointError(.malformedManifest, "version record \(path) has no valid payload_sha256")
        }
        return record
    }

    public var digest: SHA256.Digest { SHA256.Digest(hex: payloadSHA256)! }
}
