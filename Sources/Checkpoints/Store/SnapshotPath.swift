import Foundation

/// A command-line path that names either one snapshot file or a model directory (a store).
public enum SnapshotPath {
    case file(String)
    case directory(SnapshotStore)

    public static func resolve(_ path: String) throws -> SnapshotPath {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError(.ioFailure, "\(path) does not exist; pass a snapshot file (*.safetensors.zst) or a model directory")
        }
        return isDirectory.boolValue ? .directory(try SnapshotStore(directory: path)) : .file(path)
    }

    /// Decodes a single snapshot file, verifying its SHA-256 against the store record next to it when there is one.
    public static func decodeFile(_ path: String) throws -> (decoded: SnapshotCodec.Decoded, record: VersionRecord?) {
        let limits = SnapshotCodec.Limits.default
        let name = (path as NSString).lastPathComponent
        var record: VersionRecord?
        if let version = SnapshotStore.version(ofFileName: name) {
            let recordPath = ((path as NSString).deletingLastPathComponent as NSString)
                .appendingPathComponent(SnapshotStore.recordName(version: version))
            if FileManager.default.fileExists(atPath: recordPath) {
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: recordPath)))
                record = try JSONDecoder().decode(VersionRecord.self, from: Data(bytes))
            }
        }
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        if let record, file.count != record.fileBytes {
            throw CheckpointError(
                file.count < record.fileBytes ? .truncated : .trailingData,
                "snapshot file is \(file.count) bytes but was written with \(record.fileBytes)")
        }
        let decoded = try SnapshotCodec.decode(
            file, expectedSHA256: record.flatMap { SHA256.Digest(hex: $0.payloadSHA256) }, limits: limits)
        return (decoded, record)
    }
}
