import Foundation

/// Crash-safe whole-file replacement: write a temporary file in the same directory (owner-only), fsync it, rename
/// it over the target, fsync the directory. Readers see the old or the new content, never a mix.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temp = (directory as NSString).appendingPathComponent(".\((path as NSString).lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw WriteError(description: "cannot create \(temp): \(String(cString: strerror(errno)))") }
        var ok = false
        defer {
            if !ok { unlink(temp) }
        }
        do {
            defer { close(fd) }
            var written = 0
            try bytes.withUnsafeBytes { buffer in
                while written < buffer.count {
                    let n = Foundation.write(fd, buffer.baseAddress! + written, buffer.count - written)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw WriteError(description: "cannot write \(temp): \(String(cString: strerror(errno)))")
                    }
                    written += n
                }
            }
            guard fsync(fd) == 0 else { throw WriteError(description: "fsync of \(temp) failed: \(String(cString: strerror(errno)))") }
        }
        guard rename(temp, path) == 0 else {
            throw WriteError(description: "cannot rename \(temp) to \(path): \(String(cString: strerror(errno)))")
        }
        ok = true
        let dfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            defer { close(dfd) }
            guard fsync(dfd) == 0 else { throw WriteError(description: "fsync of directory \(directory) failed: \(String(cString: strerror(errno)))") }
        }
    }
}
