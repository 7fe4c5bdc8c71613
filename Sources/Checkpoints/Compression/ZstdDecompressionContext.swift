import CZstd

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
