import Foundation

/// A single status line on stderr that rewrites itself when stderr is a terminal, and stays silent otherwise
/// (the command prints a one-line summary instead).
public final class ProgressLine: Sendable {
    private struct State {
        var lastWidth = 0
        var lastDraw: UInt64 = 0
        var latest = ""
    }

    private let enabled: Bool
    private let state = LockedValue(State())

    public init(enabled: Bool) { self.enabled = enabled }

    /// Shows `text`, at most every 50 ms (a tight loop may call this per item).
    public func update(_ text: String) {
        guard enabled else { return }
        state.withLock { state in
            state.latest = text
            let now = DispatchTime.now().uptimeNanoseconds
            guard now - state.lastDraw > 50_000_000 else { return }
            state.lastDraw = now
            Self.draw(text, &state)
        }
    }

    /// Draws the latest text and ends the line.
    public func finish() {
        guard enabled else { return }
        state.withLock { state in
            if !state.latest.isEmpty { Self.draw(state.latest, &state) }
            if state.lastWidth > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
            state.lastWidth = 0
        }
    }

    private static func draw(_ text: String, _ state: inout State) {
        let padded = text.padding(toLength: max(text.count, state.lastWidth), withPad: " ", startingAt: 0)
        state.lastWidth = text.count
        FileHandle.standardError.write(Data("\r\(padded)".utf8))
    }
}
