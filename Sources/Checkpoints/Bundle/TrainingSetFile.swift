import Foundation
import UnlearningCore

/// Reads and writes training-set CSV files, plain (`.csv`) or zstd-compressed (`.csv.zst`).
public enum TrainingSetFile {
    /// Largest decompressed CSV accepted (1 GiB): enough for any dataset the daemon can hold in memory anyway.
    public static let maxBytes = 1 << 30

    public static func read(_ path: String, classes: Int? = nil) throws -> Dataset {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            let reason =
                FileManager.default.fileExists(atPath: path)
                ? "cannot be read (\((error as NSError).localizedDescription))" : "does not exist"
            throw CheckpointError(.ioFailure, "\(path): \(reason); pass the path of a training-set CSV (.csv or .csv.zst)")
        }
        let text: [UInt8]
        if path.hasSuffix(".zst") || bytes.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) {
            do {
                text = try Zstd.decompress(bytes, maxSize: maxBytes)
            } catch {
                throw CheckpointError(.corruptFrame, "\(path): not a readable zstd file (\(error)); recompress it with `zstd`")
            }
        } else {
            text = bytes
        }
        return try TrainingSetCSV.parse(text, file: path, classes: classes)
    }

    /// Writes `data` compressed (level 9) to `path`, atomically and durably.
    public static func write(_ data: Dataset, to path: String) throws {
        let compressed = try Zstd.compress(TrainingSetCSV.render(data), level: 9)
        try AtomicFile.write(compressed, to: path)
    }
}
