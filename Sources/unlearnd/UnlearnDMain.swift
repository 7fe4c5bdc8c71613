import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import UnlearnDaemon
import UnlearningCore

/// `unlearnd`: the unlearning daemon. Configuration: `--config FILE` (JSON), `UNLEARND_*` environment variables and
/// `--set key=value` overrides; see Config/README.md.
@main
enum UnlearnDMain {
    static func main() async {
        // Debian 12's OpenBLAS picks SSE kernels on CPUs newer than it; restart once with the ones the CPU can run
        // (README, "Install as a service"). Before anything else: exec replaces the process. If it fails, the
        // pipeline's start-up warning names the setting.
        _ = BLASLibrary.restartWithBetterKernels()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.contains("--help") || arguments.contains("-h") {
            print(
                """
                usage: unlearnd [--config FILE] [--set key=value ...] | --version

                Consumes deletion requests from Kafka and unlearns them from the registered models.
                Every configuration key is documented in Config/README.md; environment variables
                UNLEARND_<KEY> override the file, --set overrides both.
                """)
            return
        }
        if arguments.contains("--version") {
            print(UnlearndVersion.description(program: "unlearnd"))
            return
        }
        let configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration.load(arguments: arguments, environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("unlearnd: configuration error: \(error)\n".utf8))
            exit(78)  // EX_CONFIG: systemd does not restart on a bad configuration (RestartPreventExitStatus=78)
        }
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            // Every value is escaped: one event is one line, whatever a producer or a library put in it.
            var handler = EscapingLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "unlearnd")
        let notifier = SystemdNotifier()
        let pipeline = UnlearningPipeline(
            configuration: configuration, logger: logger, metrics: DaemonMetrics(), notifier: notifier
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(
                        service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch let failure as DaemonExit {
            logger.critical(
                "unlearnd stopped on an error it cannot recover from by itself",
                metadata: ["unlearnd.error": "\(failure.reason)", "unlearnd.exit_status": "\(failure.status)"])
            notifier.stopping(status: "failed: \(failure.reason)")
            exit(failure.status)
        } catch {
            logger.critical("unlearnd failed", metadata: ["unlearnd.error": "\(error)"])
            notifier.stopping(status: "failed: \(error)")
            exit(1)
        }
    }
}
