import CZstd

/// One-shot zstd compression and decompression of byte arrays.
///
/// `compress` always writes exactly one frame with the content size and the XXH64 content checksum in it.
/// `decompress` accepts what the `zstd` tool writes (frames without content size, several concatenated frames,
/// skippable frames) unless `strictSingleFrame` is set; snapshots use strict mode, where the input must be exactly
/// one frame that records its content size and checksum and spans the whole input.
public enum Zstd {
    /// The default compression level (zstd's own default).
    public static let defaultLevel: Int32 = 3

    /// Compresses `bytes` into one zstd frame with content size and checksum.
    public static func compress(_ bytes: [UInt8], level: Int32 = defaultLevel) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try compress(UnsafeRawBufferPointer($0), level: level) }
    }

    /// Compresses the bytes at `source` into one zstd frame with content size and checksum.
    public static func compress(_ source: UnsafeRawBufferPointer, level: Int32 = defaultLevel) throws -> [UInt8] {
        let context = try ZstdCompressionContext.make(level: level)
        return try context.compress(source)
    }

    /// Decompresses `bytes`, refusing to produce more than `maxSize` bytes.
    ///
    /// - Parameters:
    ///   - maxSize: the largest output accepted; a frame that declares or produces more is rejected before (or, for
    ///     frames without a content size, while) allocating.
    ///   - strictSingleFrame: require exactly one frame, with content size and checksum recorded, spanning all of
    ///     `bytes` (no trailing data, no second frame, no skippable frames).
    public static func decompress(_ bytes: [UInt8], maxSize: Int, strictSingleFrame: Bool = false) throws -> [UInt8] {
        try bytes.withUnsafeBytes {
            try decompress(UnsafeRawBufferPointer($0), maxSize: maxSize, strictSingleFrame: strictSingleFrame)
        }
    }

    /// Decompresses the bytes at `source`; see ``decompress(_:maxSize:strictSingleFrame:)-([UInt8],_,_)``.
    public static func decompress(
        _ source: UnsafeRawBufferPointer, maxSize: Int, strictSingleFrame: Bool = false
    ) throws -> [UInt8] {
        precondition(maxSize >= 0, "maxSize must not be negative")
        let context = try ZstdDecompressionContext.make()
        if strictSingleFrame {
            let header = try FrameInfo.strict(source, maxSize: maxSize)
            return try context.decompressSingleFrame(source, contentSize: header.contentSize)
        }
        return try context.decompressStreaming(source, maxSize: maxSize)
    }

    /// The content size recorded in a strict snapshot frame, validated as in strict decompression but without
    /// decompressing (used by `inspect` to report sizes cheaply).
    public static func strictFrameContentSize(_ source: UnsafeRawBufferPointer, maxSize: Int) throws -> Int {
        try FrameInfo.strict(source, maxSize: maxSize).contentSize
    }

    static func isError(_ code: Int) -> Bool { ZSTD_isError(code) != 0 }
    static func errorName(_ code: Int) -> String { String(cString: ZSTD_getErrorName(code)) }
    static func errorCode(_ code: Int) -> ZSTD_ErrorCode { ZSTD_getErrorCode(code) }

    /// Maps a libzstd decompression error to a checkpoint error code.
    static func decompressionError(_ code: Int, context: String) -> CheckpointError {
        let name = errorName(code)
        switch errorCode(code) {
        case ZSTD_error_srcSize_wrong:
            return CheckpointError(.truncated, "\(context): zstd input ends inside a frame (\(name)); the file was cut short")
        case ZSTD_error_checksum_wrong:
            return CheckpointError(.corruptFrame, "\(context): zstd content checksum mismatch (\(name)); the compressed data was altered")
        case ZSTD_error_dstSize_tooSmall:
            return CheckpointError(.corruptFrame, "\(context): frame produces more bytes than its header declares (\(name))")
        default:
            return CheckpointError(.corruptFrame, "\(context): zstd rejected the data: \(name)")
        }
    }
}

/// What strict snapshot decoding needs to know about the single frame before allocating.
struct FrameInfo {
    var contentSize: Int

    static func strict(_ source: UnsafeRawBufferPointer, maxSize: Int) throws -> FrameInfo {
        guard let base = source.baseAddress, source.count >= 4 else {
            throw CheckpointError(.truncated, "snapshot is \(source.count) bytes: too short to hold a zstd frame header")
        }
        var header = ZSTD_frameHeader()
        let headerResult = ZSTD_getFrameHeader(&header, base, source.count)
        if Zstd.isError(headerResult) {
            throw CheckpointError(.corruptFrame, "snapshot does not start with a zstd frame: \(Zstd.errorName(headerResult))")
        }
        if headerResult > 0 {
            throw CheckpointError(.truncated, "snapshot is \(source.count) bytes: the zstd frame header needs \(headerResult)")
        }
        guard header.frameType == ZSTD_frame else {
            throw CheckpointError(.corruptFrame, "snapshot starts with a skippable zstd frame; a snapshot is one data frame")
        }
        guard header.frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN_VALUE else {
            throw CheckpointError(.frameFlagsMissing, "zstd frame does not record its content size; snapshots are written with it")
        }
        guard header.checksumFlag != 0 else {
            throw CheckpointError(.frameFlagsMissing, "zstd frame has no content checksum; snapshots are written with it")
        }
        guard header.frameContentSize <= UInt64(maxSize) else {
            throw CheckpointError(
                .tooLarge,
                "zstd frame declares \(header.frameContentSize) bytes of content, above the cap of \(maxSize) bytes")
        }
        let frameSize = ZSTD_findFrameCompressedSize(base, source.count)
        if Zstd.isError(frameSize) {
            throw Zstd.decompressionError(frameSize, context: "snapshot frame")
        }
        guard frameSize == source.count else {
            throw CheckpointError(
                .trailingData,
                "snapshot holds \(source.count - frameSize) bytes after its zstd frame (\(frameSize) bytes); a second frame or garbage was appended")
        }
        // The declared size is allocated before decompressing, so it must be one the blocks can produce: a 21-byte
        // file must not make the reader allocate gigabytes.
        let bound = try contentBound(source, headerSize: Int(header.headerSize), frameSize: frameSize)
        guard header.frameContentSize <= bound else {
            throw CheckpointError(
                .corruptFrame,
                "zstd frame declares \(header.frameContentSize) bytes of content but its blocks can produce at most \(bound)")
        }
        return FrameInfo(contentSize: Int(header.frameContentSize))
    }

    /// The most bytes the blocks of a frame can regenerate, from their headers (RFC 8878, section 3.1.1.2): a raw
    /// or RLE block regenerates its Block_Size bytes, a compressed block at most Block_Maximum_Size (128 KiB).
    static func contentBound(_ source: UnsafeRawBufferPointer, headerSize: Int, frameSize: Int) throws -> UInt64 {
        let blockMax: UInt64 = 1 << 17
        var position = headerSize
        var bound: UInt64 = 0
        while true {
            guard position + 3 <= frameSize else {
                throw CheckpointError(.truncated, "zstd frame ends inside a block header at byte \(position)")
            }
            let header = Int(source[position]) | Int(source[position + 1]) << 8 | Int(source[position + 2]) << 16
            let last = header & 1 == 1
            let type = (header >> 1) & 3
            let size = header >> 3
            bound += type == 2 ? blockMax : UInt64(size)
            position += 3 + (type == 1 ? 1 : size)
            if last { return bound }
        }
    }
}

/// `ZSTD_CONTENTSIZE_UNKNOWN` is a macro Swift does not import (it is an expression, `0ULL - 1`).
// swift-format-ignore: AlwaysUseLowerCamelCase
let ZSTD_CONTENTSIZE_UNKNOWN_VALUE: UInt64 = .max  // named after the C macros it stands for
// swift-format-ignore: AlwaysUseLowerCamelCase
let ZSTD_CONTENTSIZE_ERROR_VALUE: UInt64 = .max - 1
