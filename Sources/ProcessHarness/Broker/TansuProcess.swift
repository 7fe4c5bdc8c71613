import Foundation

/// Tansu (https://github.com/tansu-io/tansu), an Apache Kafka-compatible broker, as a separate process on a free
/// loopback port with memory storage; its clients need librdkafka >= 2.2 (`clientEnvironment`).
///
/// Tansu runs under a small shell that kills it when our end of the shell's stdin closes, so, like the dev broker,
/// it cannot outlive a crashed parent. `pid` is Tansu's own, so SIGSTOP and SIGCONT freeze the broker itself.
public final class TansuProcess: Sendable {
    /// The shell that owns Tansu.
    public let child: ChildProcess
    /// Tansu's process id.
    public let pid: Int32
    public let bootstrapServers: String
    public let executable: String
    public let libraryDirectory: String
    public let logPath: String

    private init(
        child: ChildProcess, pid: Int32, bootstrapServers: String, executable: String, libraryDirectory: String, logPath: String
    ) {
        self.child = child
        self.pid = pid
        self.bootstrapServers = bootstrapServers
        self.executable = executable
        self.libraryDirectory = libraryDirectory
        self.logPath = logPath
    }

    /// Starts `tansu broker` with memory storage on a free loopback port, waits until it accepts connections, and
    /// creates `topics` with `partitions` each. `libraryDirectory` holds the librdkafka.so.1 (>= 2.2) its clients load.
    public static func start(
        executable: String,
        libraryDirectory: String,
        topics: [String],
        partitions: Int,
        logPath: String,
        name: String = "tansu",
        timeout: Duration = .seconds(30)
    ) async throws -> TansuProcess {
        let port = try freePort()
        let bootstrap = "127.0.0.1:\(port)"
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw HarnessError("cannot create the log file \(logPath) of \(name)")
        }
        // Prints Tansu's pid, then waits for end of input (our stop, or our death) and kills it; SIGCONT first, in
        // case a test left it stopped.
        let script = #"log=$1; shift; "$@" >>"$log" 2>&1 </dev/null & pid=$!; echo "pid=$pid"; read line; kill -CONT $pid; kill -KILL $pid"#
        let child = try ChildProcess(
            executable: "/bin/sh",
            arguments: [
                "-c", script, "sh", logPath, executable, "broker", "--listener-url", "tcp://\(bootstrap)", "--advertised-listener-url",
                "tcp://\(bootstrap)", "--storage-engine", "memory://tansu/",
            ],
            name: name, stdout: .lines, stderr: .file(logPath + ".shell")
        )
        do {
            guard let first = try await child.lines?.readLine(timeout: timeout, what: "the pid line of \(name)"),
                first.hasPrefix("pid="), let pid = Int32(first.dropFirst("pid=".count))
            else {
                throw HarnessError("\(name)'s shell did not print a pid= line first")
            }
            let tansu = TansuProcess(
                child: child, pid: pid, bootstrapServers: bootstrap, executable: executable, libraryDirectory: libraryDirectory,
                logPath: logPath
            )
            do {
                _ = try await eventually(timeout, "\(name) to listen on \(bootstrap)") { () throws -> Bool? in
                    guard kill(pid, 0) == 0 else { throw HarnessError("\(name) exited; its log:\n\(tansu.log)") }
                    return accepts(port: port) ? true : nil
                }
                for topic in topics { try await tansu.createTopic(topic, partitions: partitions) }
            } catch {
                await tansu.stop()
                throw error
            }
            return tansu
        } catch {
            child.signal(SIGKILL)
            throw error
        }
    }

    /// The environment that makes a client (unlearnd, kcat) load librdkafka >= 2.2 instead of Debian's 2.0.2, whose
    /// ApiVersions parsing fails on Tansu's reply. Binaries built against 2.0.2 run unchanged on it: same soname, and
    /// 2.x keeps the 2.0 ABI.
    public var clientEnvironment: [String: String] {
        let inherited = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"].map { ":" + $0 } ?? ""
        return ["LD_LIBRARY_PATH": libraryDirectory + inherited]
    }

    /// The client properties of the daemon's `kafka` section (and any consumer) against Tansu: Tansu finishes a group
    /// join only after a delay that grows with session.timeout.ms (about 23 s at librdkafka's default of 45 s, under
    /// 4 s at 6 s, which is also Kafka's default group.min.session.timeout.ms).
    public var clientProperties: [String: String] {
        ["bootstrap.servers": bootstrapServers, "session.timeout.ms": "6000"]
    }

    /// The end of Tansu's log with its path, for failure messages (or why it has none: `LogTail`).
    public var log: String { LogTail.of(logPath) }

    /// `tansu topic create`. Tansu also creates unknown topics on their first produce, which tests must not rely on:
    /// a consumer subscribed before that would not see them.
    public func createTopic(_ topic: String, partitions: Int) async throws {
        let result = try await ProcessRunner.runInBackground(
            executable, ["topic", "create", topic, "--broker", "tcp://\(bootstrapServers)", "--partitions", "\(partitions)"]
        )
        guard result.status == 0 else {
            throw HarnessError("tansu topic create \(topic) exited with \(result.status): \(result.stderrText)\(result.stdoutText)")
        }
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the broker: open connections stay up but nothing is answered, the closest
    /// Tansu comes to the mock cluster's `down`, which it does not have.
    public func signal(_ number: Int32) { kill(pid, number) }

    /// Stops Tansu (its memory storage goes with it) and the shell that owns it.
    public func stop() async {
        guard child.isRunning else { return }
        try? child.closeInput()
        if await child.waitForExit(timeout: .seconds(10)) == nil {
            kill(pid, SIGKILL)
            await child.stop(grace: .seconds(5))
        }
    }

    /// A loopback port nobody listens on now (the kernel's choice for port 0). Another process could take it before
    /// Tansu binds it; Tansu then exits and `start` fails with its log.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw HarnessError("bind to a free loopback port: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }
}
