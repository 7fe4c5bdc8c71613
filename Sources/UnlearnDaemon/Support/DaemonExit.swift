/// A failure that ends the daemon with a specific exit status, chosen so that systemd does the right thing
/// (Deploy/systemd/unlearnd.service lists the statuses it does not restart on).
public struct DaemonExit: Error, Sendable, CustomStringConvertible {
    /// The process exit status.
    public var status: Int32
    /// What happened and what the operator should do.
    public var reason: String

    public var description: String { reason }

    /// An fsync failed: durability is unknown. Restarting reloads the last durable snapshot (EX_SOFTWARE).
    public static func fsyncFailed(_ reason: String) -> DaemonExit {
        DaemonExit(status: 70, reason: "fsync failed; exiting so the service restarts from the last durable snapshot: \(reason)")
    }

    /// A model has state but no version of it verifies: restarting cannot help, and re-importing the bundle would
    /// revert every deletion applied since, so the daemon refuses to run until an operator recovers the model
    /// (`unlearnctl recover`). EX_DATAERR; the unit's RestartPreventExitStatus includes it.
    public static let noValidStateStatus: Int32 = 65

    public static func noValidState(model: String, reason: String) -> DaemonExit {
        DaemonExit(
            status: noValidStateStatus,
            reason:
                "model \(model) has state but no snapshot that verifies (\(reason)); the daemon will not re-import its bundle, which would revert every applied deletion. Inspect and repair it with `unlearnctl recover --state-dir DIR --model \(model)` (README: Recovering a model)"
        )
    }
}
