import Foundation

/// Terminal detection for progress output.
enum Terminal {
    static var standardErrorIsTTY: Bool { isatty(STDERR_FILENO) == 1 }
}

/// A single status line on stderr that rewrites itself when stderr is a terminal, and stays silent otherwise
/// (the command prints a one-line summary instead).
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private var lastWidth = 0
    private var lastDraw = DispatchTime(uptimeNanoseconds: 0)
    private var latest = ""
    private let lock = NSLock()

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ text: String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        latest = text
        let now = DispatchTime.now()
        guard now.uptimeNanoseconds - lastDraw.uptimeNanoseconds > 50_000_000 else { return }
        lastDraw = now
        draw(text)
    }

    private func draw(_ text: String) {
        let padded = text.padding(toLength: max(text.count, lastWidth), withPad: " ", startingAt: 0)
        lastWidth = text.count
        FileHandle.standardError.write(Data("\r\(padded)".utf8))
    }

    func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if !latest.isEmpty { draw(latest) }
        if lastWidth > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
        lastWidth = 0
    }
}
