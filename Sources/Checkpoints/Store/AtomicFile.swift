import Foundation

/// Crash-safe whole-file replacement: a new temporary file in the same directory (written, fsynced), renamed over
/// the target, then the directory fsynced. Readers see the old or the new content, never a mix. Used for exclusion
/// lists, metrics files and training-set files; snapshots have their own exclusive-version protocol.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temp = (directory.isEmpty ? name : directory + "/") + ".\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try PosixIO.writeNewFile(temp, bytes, mode: mode)
            try PosixIO.rename(temp, path)
        } catch {
            try? PosixIO.removeFile(temp)
            throw error
        }
        try PosixIO.fsyncDirectory(directory.isEmpty ? "." : directory)
    }
}
