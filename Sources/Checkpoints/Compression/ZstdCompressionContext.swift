import CZstd

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
