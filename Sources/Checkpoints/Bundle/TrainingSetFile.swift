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
            let reason = FileManager.default.fileExists(atPath: path)
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

    /// Writes `data` compressed (level 9) to `path`, durably (fsync before returning).
    public static func write(_ data: Dataset, to path: String) throws {
        let compressed = try Zstd.compress(TrainingSetCSV.render(data), level: 9)
        try DurableFile.write(compressed, to: path)
    }
}

/// Small durable-write helper for bundle files (write, fsync, close; the caller renames directories atomically).
enum DurableFile {
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw CheckpointError(.ioFailure, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var written = 0
        try bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CheckpointError(.ioFailure, "cannot write \(path): \(String(cString: strerror(errno)))")
                }
                written += n
            }
        }
        guard fsync(fd) == 0 else {
            throw CheckpointError(.fsyncFailed, "fsync of \(path) failed: \(String(cString: strerror(errno)))")
        }
    }

    static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError(.ioFailure, "cannot open directory \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw CheckpointError(.fsyncFailed, "fsync of directory \(path) failed: \(String(cString: strerror(errno)))")
        }
    }
}
