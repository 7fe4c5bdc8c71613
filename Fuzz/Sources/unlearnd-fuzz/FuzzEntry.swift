import CLibFuzzer
import Foundation

/// The executable's `main` (SwiftPM links an executable target's `main` to `<module>_main`): checks the target
/// name, then hands the command line to libFuzzer's driver, which accepts libFuzzer's usual flags and corpus paths.
@_cdecl("unlearnd_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    _ = FuzzTarget.selected
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        fuzzOneInput(data, size)
    }
}

/// One execution. One executable holds every target; `UNLEARND_FUZZ_TARGET` names the one to run (`../dev fuzz`
/// sets it). A property violation is a `fatalError`, which libFuzzer reports as a crash with the input saved.
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    FuzzTarget.selected.run(bytes)
    return 0
}

/// The parsers of outside bytes, one fuzz target each.
enum FuzzTarget: String, CaseIterable {
    case deletionRequest = "deletion-request"
    case configuration
    case safetensors
    case snapshot
    case snapshotPayload = "snapshot-payload"
    case trainingCSV = "training-csv"
    case architecture
    case pytorchImport = "pytorch-import"

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["UNLEARND_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = allCases.map(\.rawValue).joined(separator: ", ")
            fatalError("set UNLEARND_FUZZ_TARGET to one of: \(names) (it is \"\(name)\")")
        }
        return target
    }()

    func run(_ bytes: [UInt8]) {
        switch self {
        case .deletionRequest: DeletionRequestTarget.run(bytes)
        case .configuration: ConfigurationTarget.run(bytes)
        case .safetensors: SafetensorsTarget.run(bytes)
        case .snapshot: SnapshotTarget.run(bytes)
        case .snapshotPayload: SnapshotTarget.runPayload(bytes)
        case .trainingCSV: TrainingCSVTarget.run(bytes)
        case .architecture: ArchitectureTarget.run(bytes)
        case .pytorchImport: PyTorchImportTarget.run(bytes)
        }
    }
}
