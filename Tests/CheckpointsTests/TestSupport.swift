import Foundation

/// Paths and helpers shared by the checkpoint tests.
enum TestSupport {
    /// The package root, found from this file's path (Tests/CheckpointsTests/TestSupport.swift).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A fresh private directory under the system temporary directory.
    static func makeTemporaryDirectory(_ label: String = "ckpt") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("unlearnd-\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
