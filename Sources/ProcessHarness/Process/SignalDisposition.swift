import Foundation

/// Process-wide signal settings the harness needs.
enum SignalDisposition {
    private static let brokenPipesIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// A write to the stdin of a child that has exited must fail with EPIPE, not kill this process with SIGPIPE
    /// (its default action, signal(7)).
    static func ignoreBrokenPipes() { brokenPipesIgnored }
}
