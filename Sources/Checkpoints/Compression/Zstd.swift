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
        return FrameInfo(contentSize: Int(header.frameContentSize))
    }
}

/// `ZSTD_CONTENTSIZE_UNKNOWN` is a macro Swift does not import (it is an expression, `0ULL - 1`).
let ZSTD_CONTENTSIZE_UNKNOWN_VALUE: UInt64 = .max
let ZSTD_CONTENTSIZE_ERROR_VALUE: UInt64 = .max - 1

/// Owns a `ZSTD_CCtx`, configured for snapshot frames.
final class ZstdCompressionContext {
    private let context: OpaquePointer

    private init(context: OpaquePointer) { self.context = context }

    deinit { ZSTD_freeCCtx(context) }

    static func make(level: Int32) throws -> ZstdCompressionContext {
        guard let raw = ZSTD_createCCtx() else {
            throw CheckpointError(.compressionFailed, "ZSTD_createCCtx returned NULL (out of memory)")
        }
        // Owned from here on: deinit frees it if a parameter below is refused.
        let owned = ZstdCompressionContext(context: raw)
        try owned.set(ZSTD_c_compressionLevel, level, "compression level")
        try owned.set(ZSTD_c_contentSizeFlag, 1, "content size flag")
        try owned.set(ZSTD_c_checksumFlag, 1, "checksum flag")
        return owned
    }

    private func set(_ parameter: ZSTD_cParameter, _ value: Int32, _ what: String) throws {
        let result = ZSTD_CCtx_setParameter(context, parameter, value)
        if Zstd.isError(result) {
            throw CheckpointError(.compressionFailed, "zstd refused \(what) \(value): \(Zstd.errorName(result))")
        }
    }

    func compress(_ source: UnsafeRawBufferPointer) throws -> [UInt8] {
        let bound = ZSTD_compressBound(source.count)
        if Zstd.isError(bound) {
            throw CheckpointError(.tooLarge, "\(source.count) bytes are too many for one zstd frame")
        }
        var failure: CheckpointError?
        let output = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            // ZSTD_compress2 is one-shot: it knows the source size, so the frame records it (contentSizeFlag).
            let written = ZSTD_compress2(context, buffer.baseAddress, bound, source.baseAddress, source.count)
            if Zstd.isError(written) {
                failure = CheckpointError(.compressionFailed, "ZSTD_compress2 failed: \(Zstd.errorName(written))")
                count = 0
            } else {
                count = written
            }
        }
        if let failure { throw failure }
        return output
    }
}

/// Owns a `ZSTD_DCtx`.
final class ZstdDecompressionContext {
    private let context: OpaquePointer

    private init(context: OpaquePointer) { self.context = context }

    deinit { ZSTD_freeDCtx(context) }

    static func make() throws -> ZstdDecompressionContext {
        guard let raw = ZSTD_createDCtx() else {
            throw CheckpointError(.corruptFrame, "ZSTD_createDCtx returned NULL (out of memory)")
        }
        return ZstdDecompressionContext(context: raw)
    }

    /// Decompresses one frame whose content size was read (and capped) from its header.
    func decompressSingleFrame(_ source: UnsafeRawBufferPointer, contentSize: Int) throws -> [UInt8] {
        var failure: CheckpointError?
        let output = [UInt8](unsafeUninitializedCapacity: contentSize) { buffer, count in
            let produced = ZSTD_decompressDCtx(context, buffer.baseAddress, contentSize, source.baseAddress, source.count)
            if Zstd.isError(produced) {
                failure = Zstd.decompressionError(produced, context: "snapshot frame")
                count = 0
            } else if produced != contentSize {
                failure = CheckpointError(
                    .corruptFrame, "zstd frame declared \(contentSize) bytes of content but produced \(produced)")
                count = 0
            } else {
                count = produced
            }
        }
        if let failure { throw failure }
        return output
    }

    /// Decompresses any sequence of frames (content size known or not), growing the output up to `maxSize`.
    func decompressStreaming(_ source: UnsafeRawBufferPointer, maxSize: Int) throws -> [UInt8] {
        guard source.count > 0 else {
            throw CheckpointError(.truncated, "zstd input is empty")
        }
        // Start from the declared total when every frame declares it; otherwise guess and grow.
        let declared = ZSTD_findDecompressedSize(source.baseAddress, source.count)
        var capacity: Int
        if declared == ZSTD_CONTENTSIZE_ERROR_VALUE {
            capacity = min(maxSize, max(source.count * 4, 1 << 16))  // the stream will report the real error
        } else if declared == ZSTD_CONTENTSIZE_UNKNOWN_VALUE {
            capacity = min(maxSize, max(source.count * 4, 1 << 16))
        } else if declared > UInt64(maxSize) {
            throw CheckpointError(.tooLarge, "zstd frames declare \(declared) bytes of content, above the cap of \(maxSize) bytes")
        } else {
            capacity = Int(declared)
        }
        // One byte beyond the cap lets us tell "exactly maxSize" from "more than maxSize".
        let hardLimit = maxSize == Int.max ? maxSize : maxSize + 1
        capacity = min(max(capacity, 1), hardLimit)
        var output = [UInt8](repeating: 0, count: capacity)
        var produced = 0
        var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
        while true {
            if produced == output.count {
                if output.count >= hardLimit {
                    throw CheckpointError(.tooLarge, "zstd data decompresses to more than the cap of \(maxSize) bytes")
                }
                let grown = min(hardLimit, max(output.count * 2, 1 << 16))
                output.append(contentsOf: repeatElement(0, count: grown - output.count))
            }
            let (result, newProduced) = output.withUnsafeMutableBytes { buffer -> (Int, Int) in
                var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: produced)
                let result = ZSTD_decompressStream(context, &out, &input)
                return (result, out.pos)
            }
            if Zstd.isError(result) {
                throw Zstd.decompressionError(result, context: "zstd stream")
            }
            produced = newProduced
            let inputDone = input.pos == input.size
            // 0 means: a frame ended and everything it produced is flushed. With no input left, we are done;
            // with input left, the next frame starts on the next call.
            if result == 0 && inputDone { break }
            if inputDone && produced < output.count {
                // Output space left, nothing more to read, frame not finished.
                throw CheckpointError(.truncated, "zstd input ends inside a frame; the data was cut short")
            }
        }
        if produced > maxSize {
            throw CheckpointError(.tooLarge, "zstd data decompresses to more than the cap of \(maxSize) bytes")
        }
        output.removeSubrange(produced...)
        return output
    }
}
