/// An error raised by the checkpoint codec or store: what kind of defect, what exactly was wrong, and where it was
/// raised.
///
/// `code` is extensible (new codes can be added without breaking callers that switch over the ones they know);
/// `reason` is written for an operator and says what to do where that is not obvious.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    /// The kind of defect. Compare against the static members, e.g. `error.code == .truncated`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// zstd refused to compress (out of memory, bad parameter).
        public static let compressionFailed = Code("compression_failed")
        /// The compressed bytes are not a valid zstd stream (corrupt block, bad magic, checksum mismatch inside the
        /// frame).
        public static let corruptFrame = Code("corrupt_frame")
        /// The zstd frame ends before its declared end: the file was cut short.
        public static let truncated = Code("truncated")
        /// Bytes follow the one zstd frame a snapshot may contain (a second frame or garbage).
        public static let trailingData = Code("trailing_data")
        /// The frame does not carry what a snapshot frame must carry (content size, checksum).
        public static let frameFlagsMissing = Code("frame_flags_missing")
        /// A declared size exceeds the configured cap; nothing was allocated for it.
        public static let tooLarge = Code("too_large")
        /// The safetensors payload is malformed (header JSON, offsets, dtypes, shapes).
        public static let malformedSafetensors = Code("malformed_safetensors")
        /// The manifest in `__metadata__` is missing, not valid JSON or of an unsupported format version.
        public static let malformedManifest = Code("malformed_manifest")
        /// The SHA-256 of the decompressed payload differs from the recorded one.
        public static let hashMismatch = Code("hash_mismatch")
        /// The parameters do not fit the architecture (wrong count, missing tensor, wrong shape).
        public static let shapeMismatch = Code("shape_mismatch")
        /// A system call on the store failed (open, write, rename, read).
        public static let ioFailure = Code("io_failure")
        /// fsync failed: durability of the store is unknown. Fatal: exit and let the supervisor restart from the
        /// last good snapshot (after an fsync error the kernel may have dropped the dirty pages).
        public static let fsyncFailed = Code("fsync_failed")
        /// Another writer created a newer version than the one this writer loaded. Reload and retry.
        public static let stale = Code("stale")
        /// The store holds no snapshot that verifies.
        public static let noValidSnapshot = Code("no_valid_snapshot")
        /// A file or directory of the store is not what the daemon wrote: a symbolic link or another non-regular
        /// file, owned by another user, or open to other users (files above mode 0600, directories writable by others).
        public static let unsafeFile = Code("unsafe_file")
        /// An argument was out of range (bad model id, bad version number, bad retention count).
        public static let invalidArgument = Code("invalid_argument")
    }

    public let code: Code
    public let reason: String
    public let file: String
    public let line: UInt

    public init(_ code: Code, _ reason: String, file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { "\(code): \(reason) (\(file):\(line))" }
}
