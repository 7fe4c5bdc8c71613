import Foundation

/// A test `$NOTIFY_SOCKET`: a bound AF_UNIX datagram socket collecting what the daemon sends (READY=1, ...).
final class NotifySocket: Sendable {
    let path: String
    private let fd: Int32
    private let received = Locked<[String]>([])

    init(directory: URL) throws {
        path = directory.appendingPathComponent("notify.sock").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else { throw Binaries.Failure("cannot bind \(path): \(String(cString: strerror(errno)))") }
        let socketFD = fd
        let received = received
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

    var messages: [String] { received.withLock { $0 } }

    /// True once a datagram contained `line` (e.g. "READY=1").
    func saw(_ line: String) -> Bool { messages.contains { $0.split(separator: "\n").contains(Substring(line)) } }
}
