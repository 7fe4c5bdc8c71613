import ArgumentParser
import Foundation

/// A child process of the demo, with its output in a log file; stopped (SIGTERM, then SIGKILL) on exit.
final class DemoProcess: @unchecked Sendable {
    let process = Process()

    init(_ executable: String, _ arguments: [String], log: String) throws {
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var isRunning: Bool { process.isRunning }
    var status: Int32? { process.isRunning ? nil : process.terminationStatus }

    func terminate() { if process.isRunning { process.terminate() } }

    func waitForExit(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        return !process.isRunning
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        if !waitForExit(seconds: 10) {
            kill(process.processIdentifier, SIGKILL)
            _ = waitForExit(seconds: 5)
        }
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func waitFor<T>(seconds: Double, _ what: String, _ body: () throws -> T?) throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let value = try body() { return value }
            if Date() > deadline { throw ValidationError("timed out after \(Int(seconds)) s waiting for \(what)") }
            usleep(50_000)
        }
    }
}
