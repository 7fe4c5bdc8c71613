import Foundation
import UnlearnSupport

/// A `$NOTIFY_SOCKET` of our own: a bound AF_UNIX datagram socket collecting what a child sends through
/// sd_notify(3) (READY=1, STATUS=..., STOPPING=1), the way systemd learns that `unlearnd` is ready.
public final class NotifySocket: Sendable {
    public let path: String
    private let fd: Int32
    private let received = LockedValue<[String]>([])

    /// Binds `notify.sock` in `directory`; the path must fit `sockaddr_un` (107 bytes, unix(7)).
    public init(directory: URL) throws {
        path = directory.appendingPathComponent("notify.sock").path
        var address = sockaddr_un()
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw HarnessError("\(path) is too long for an AF_UNIX socket (unix(7)); use a shorter directory")
        }
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("cannot create a datagram socket: \(String(cString: strerror(errno)))") }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw HarnessError("cannot bind \(path): \(reason)")
        }
        let socketFD = fd
        let received = received
        // recv blocks, so the reader gets its own thread; it ends when deinit shuts the socket down.
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(socketFD, &buffer, buffer.count, 0)
                if n <= 0 { return }
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                received.withLock { $0.append(text) }
            }
        }
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }

    /// Every datagram received so far, in order.
    public var messages: [String] { received.value }

    /// True once a datagram contained `line` (e.g. "READY=1").
    public func saw(_ line: String) -> Bool { messages.contains { $0.split(separator: "\n").contains(Substring(line)) } }
}
