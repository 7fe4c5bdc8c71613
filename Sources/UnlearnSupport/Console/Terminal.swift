import Foundation

/// Terminal detection for progress output.
public enum Terminal {
    public static var standardErrorIsTTY: Bool { isatty(STDERR_FILENO) == 1 }
}
