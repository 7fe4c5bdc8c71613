import KafkaLog
import UnlearningCore

/// The release version of `unlearnd` and `unlearnctl`, written in this one place. `./dev package` takes the
/// Debian package version from `unlearnd --version`, so the package and the binaries it holds cannot disagree.
public enum UnlearndVersion {
    public static let string = "0.1.0"

    /// What `--version` prints: the release, then the librdkafka actually loaded, which can differ from the one
    /// built against (the soname `librdkafka.so.1` is shared by every 1.x and 2.x release; README, "Against a real
    /// broker"), and the kernels OpenBLAS chose on this CPU.
    public static func description(program: String) -> String {
        "\(program) \(string)\nlibrdkafka \(LibRdKafka.version)\nOpenBLAS \(BLASLibrary.coreName) kernels"
    }
}
