import ArgumentParser
import UnlearnDaemon
import UnlearningCore

/// `unlearnctl`: the operator's and data scientist's tool around the `unlearnd` daemon.
@main
struct UnlearnCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlearnctl",
        abstract: "Train, inspect, verify and operate machine-unlearning checkpoints.",
        version: UnlearndVersion.description(program: "unlearnctl"),
        subcommands: [
            Train.self,
            Forget.self,
            Publish.self,
            Alerts.self,
            Status.self,
            Report.self,
            Rebase.self,
            Release.self,
            Recover.self,
            Demo.self,
            Inspect.self,
            Verify.self,
            Export.self,
            Import.self,
            SnapshotWriterTool.self,
            DevBroker.self,
        ]
    )

    /// As `unlearnd`: restart once with the OpenBLAS kernels this CPU can run when OpenBLAS fell back to SSE ones
    /// (`BLASLibrary.restartWithBetterKernels`), then parse and run the command.
    static func main() async {
        _ = BLASLibrary.restartWithBetterKernels()
        await main(nil)
    }
}
