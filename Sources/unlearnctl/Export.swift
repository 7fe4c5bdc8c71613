import ArgumentParser
import Checkpoints
import Foundation
import UnlearningCore

/// `unlearnctl export --safetensors`: a plain safetensors file of the weights for PyTorch / NumPy users.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a snapshot's weights as a plain (uncompressed) safetensors file.",
        discussion: """
            Tensors: layers.{l}.weight F64 [out, in], layers.{l}.bias F64 [out] (torch.nn.Linear naming), and \
            input.mean / input.std F64 [d] when the model standardises its inputs (use (x - mean) / std). \
            __metadata__ carries format=pt, the model id, the version and the architecture JSON (activations). \
            See Deploy/python/predict.py for a NumPy forward pass over the export.
            """
    )

    @Option(name: .customLong("safetensors"), help: "Snapshot file or model directory (newest valid version).")
    var source: String

    @Option(help: "Output file (written atomically, mode 0600).")
    var out: String

    func run() throws {
        let snapshot: Snapshot
        switch try SnapshotPath.resolve(source) {
        case .file(let file):
            snapshot = try SnapshotPath.decodeFile(file).decoded.snapshot
        case .directory(let store):
            let loaded = try store.loadNewestValid(quarantine: false)
            for skipped in loaded.skipped { printError("export: \(skipped)") }
            snapshot = loaded.snapshot
        }
        let bytes = try SnapshotCodec.exportSafetensors(snapshot)
        let temp = out + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CheckpointError(.ioFailure, "cannot create \(temp): \(String(cString: strerror(errno)))") }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temp, out) == 0 else {
            unlink(temp)
            throw CheckpointError(.ioFailure, "cannot write \(out): \(String(cString: strerror(errno)))")
        }
        print(
            "exported version \(snapshot.manifest.version) of \(snapshot.manifest.modelId) to \(out) (\(bytes.count) bytes, \(snapshot.manifest.architecture.summary))"
        )
    }
}
