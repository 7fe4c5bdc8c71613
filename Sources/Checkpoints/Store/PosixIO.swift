import Foundation

/// The system calls the store needs, with errors mapped to ``CheckpointError``.
enum PosixIO {
    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// Reads a whole regular file, refusing (before allocating) files larger than `maxBytes`.
    static func readFile(_ path: String, maxBytes: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            throw CheckpointError(.ioFailure, "cannot open \(path): \(errorText())")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw CheckpointError(.ioFailure, "cannot stat \(path): \(errorText())")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(.ioFailure, "\(path) is not a regular file")
        }
        let size = Int(status.st_size)
        guard size <= maxBytes else {
            throw CheckpointError(.tooLarge, "\(path) is \(size) bytes, above the cap of \(maxBytes)")
        }
        var failure: CheckpointError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var done = 0
            while done < size {
                let n = read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = CheckpointError(.ioFailure, "cannot read \(path): \(errorText())")
                    break
                }
                if n == 0 { break }  // shrank while reading: the caller sees the short length
                done += n
            }
            count = done
        }
        if let failure { throw failure }
        return bytes
    }

    /// Creates `path` exclusively (O_EXCL, mode 0600 unless given), writes `bytes`, fsyncs and closes it.
    /// An fsync failure is ``CheckpointError/Code/fsyncFailed``.
    static func writeNewFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else {
            throw CheckpointError(.ioFailure, "cannot create \(path): \(errorText())")
        }
        var closed = false
        defer { if !closed { close(fd) } }
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CheckpointError(.ioFailure, "cannot write \(path): \(errorText())")
                }
                done += n
            }
        }
        guard fsync(fd) == 0 else {
            throw CheckpointError(
                .fsyncFailed,
                "fsync of \(path) failed (\(errorText())): durability is unknown; exit and restart from the last good snapshot")
        }
        closed = true
        guard close(fd) == 0 else {
            throw CheckpointError(.ioFailure, "close of \(path) failed: \(errorText())")
        }
    }

    /// fsyncs a directory so that renames and links in it are durable.
    static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CheckpointError(.ioFailure, "cannot open directory \(path): \(errorText())")
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw CheckpointError(
                .fsyncFailed,
                "fsync of directory \(path) failed (\(errorText())): durability is unknown; exit and restart from the last good snapshot")
        }
    }

    /// Creates `path` (and missing parents) with mode 0700; an existing directory is left as it is.
    static func makeDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CheckpointError(.ioFailure, "\(path) exists and is not a directory")
            }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectory(parent) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw CheckpointError(.ioFailure, "cannot create directory \(path): \(errorText())")
        }
    }

    /// Hard-links `source` to `destination`, failing if `destination` exists (link(2) never replaces).
    /// Returns false on EEXIST.
    static func linkNoReplace(_ source: String, _ destination: String) throws -> Bool {
        if link(source, destination) == 0 { return true }
        if errno == EEXIST { return false }
        throw CheckpointError(.ioFailure, "cannot link \(source) to \(destination): \(errorText())")
    }

    static func rename(_ source: String, _ destination: String) throws {
        guard Foundation.rename(source, destination) == 0 else {
            throw CheckpointError(.ioFailure, "cannot rename \(source) to \(destination): \(errorText())")
        }
    }

    static func removeFile(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else {
            throw CheckpointError(.ioFailure, "cannot remove \(path): \(errorText())")
        }
    }

    static func fileExists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// Why `path` (not followed if a link) is not a regular file of this process's user with mode <= 0600, or nil.
    static func unsafeFileProblem(_ path: String) -> String? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        let type = status.st_mode & S_IFMT
        if type == S_IFLNK { return "\(path) is a symbolic link, not a file the daemon wrote" }
        if type != S_IFREG { return "\(path) is not a regular file" }
        if status.st_uid != geteuid() { return "\(path) is owned by uid \(status.st_uid), not by the daemon's user (uid \(geteuid()))" }
        if status.st_mode & 0o077 != 0 {
            return
                "\(path) has mode \(String(status.st_mode & 0o7777, radix: 8)); snapshot files are written with mode 600 and must not be open to other users"
        }
        return nil
    }

    /// Why directory `path` is unsafe to keep state in (a link, another owner, writable by group or others), or nil.
    static func unsafeDirectoryProblem(_ path: String) -> String? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        if status.st_mode & S_IFMT != S_IFDIR { return "\(path) is not a directory (a symbolic link or a file)" }
        if status.st_uid != geteuid() { return "\(path) is owned by uid \(status.st_uid), not by the daemon's user (uid \(geteuid())); chown it" }
        if status.st_mode & 0o022 != 0 {
            return "\(path) has mode \(String(status.st_mode & 0o7777, radix: 8)): other users can write to it; chmod 700 \(path)"
        }
        return nil
    }

    static func listDirectory(_ path: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw CheckpointError(.ioFailure, "cannot list \(path): \(error.localizedDescription)")
        }
    }
}
