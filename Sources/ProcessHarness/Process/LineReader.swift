import Dispatch
import Foundation

/// Reads lines from a pipe with a deadline, on its own queue (a blocked read never holds a cooperative thread).
public final class LineReader: @unchecked Sendable {
    public struct TimedOut: Error, CustomStringConvertible {
        public var what: String
        public var description: String { "timed out waiting for \(what)" }
    }

    private let fd: Int32
    private let queue = DispatchQueue(label: "ProcessHarness.LineReader")
    // Only touched on `queue`.
    private var buffer: [UInt8] = []

    public init(fileDescriptor: Int32) { fd = fileDescriptor }

    /// The next line without its newline, or nil at end of file.
    public func readLine(timeout: Duration, what: String) async throws -> String? {
        let deadline = ContinuousClock.now + timeout
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.readLineBlocking(deadline: deadline, what: what) })
            }
        }
    }

    private func readLineBlocking(deadline: ContinuousClock.Instant, what: String) throws -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw TimedOut(what: what) }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(clamping: Int(remaining / .milliseconds(1)) + 1))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 {
                guard !buffer.isEmpty else { return nil }
                defer { buffer.removeAll() }
                return String(decoding: buffer, as: UTF8.self)
            }
            buffer += chunk[..<count]
        }
    }
}
