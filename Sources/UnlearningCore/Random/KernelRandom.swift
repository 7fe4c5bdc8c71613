import CSysRandom

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Random bits from the kernel's CSPRNG: getrandom(2) on Linux, getentropy(2) on Darwin.
///
/// Words are read 4 KiB at a time and handed out once each; the buffer is private to the instance (a class, so a
/// copy can never replay the same bits). getrandom is called with no flags, so it blocks until the kernel's pool is
/// initialised and then never blocks; an interrupted call (EINTR) or a short read is retried. Any other failure
/// (ENOSYS on a kernel older than 3.17, a seccomp filter, EFAULT) stops the process with `fatalError`, as the
/// standard library's `SystemRandomNumberGenerator` does: releasing weights with noise from a weaker source, or
/// without noise, is the one outcome that must not happen, and the daemon restarts from its last durable snapshot.
///
/// Not `Sendable`: make one per release (cheap: one 4 KiB read).
public final class KernelRandom: RandomNumberGenerator {
    private static let words = 512
    private var buffer: [UInt64]
    private var index: Int

    public init() {
        buffer = [UInt64](repeating: 0, count: Self.words)
        index = Self.words
    }

    public func next() -> UInt64 {
        if index == buffer.count {
            buffer.withUnsafeMutableBytes { Self.fill($0) }
            index = 0
        }
        defer { index += 1 }
        return buffer[index]
    }

    /// Fills `bytes` from the kernel or stops the process.
    private static func fill(_ bytes: UnsafeMutableRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var filled = 0
        while filled < bytes.count {
            #if canImport(Glibc)
                let n = getrandom(base + filled, bytes.count - filled, 0)
            #else
                // getentropy returns at most 256 bytes per call, all or nothing.
                let chunk = min(256, bytes.count - filled)
                let n = getentropy(base + filled, chunk) == 0 ? chunk : -1
            #endif
            if n > 0 {
                filled += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                let code = errno
                fatalError(
                    "the kernel CSPRNG failed (getrandom/getentropy errno \(code): \(String(cString: strerror(code)))); refusing to draw privacy noise from any other source"
                )
            }
        }
    }
}
