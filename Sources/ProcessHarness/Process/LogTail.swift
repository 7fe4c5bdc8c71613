import Foundation

/// The end of a log file for a failure message. It never comes out blank without a reason: a missing file, a
/// missing directory, an unreadable file and an empty one each say so, and bytes that are not UTF-8 are shown
/// replaced instead of hiding the whole log.
public enum LogTail {
    /// The file's path, size and last `characters` characters, or why there are none.
    public static func of(_ path: String, characters: Int = 4000) -> String {
        let files = FileManager.default
        guard files.fileExists(atPath: path) else {
            let directory = (path as NSString).deletingLastPathComponent
            return files.fileExists(atPath: directory)
                ? "\(path): no such file" : "\(path): no such file, and its directory \(directory) no longer exists"
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            return "\(path): exists but cannot be read (\(error))"
        }
        guard !data.isEmpty else { return "\(path): empty (0 bytes)" }
        let text = text(data)
        let tail = text.count > characters ? "[...]" + text.suffix(characters) : Substring(text)
        return "\(path) (\(data.count) bytes):\n\(tail)"
    }

    /// The whole file as text ("" when it cannot be read), invalid UTF-8 replaced by U+FFFD.
    public static func read(_ path: String) -> String {
        FileManager.default.contents(atPath: path).map(text) ?? ""
    }

    private static func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }
}
