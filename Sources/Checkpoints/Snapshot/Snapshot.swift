import UnlearningCore

/// One version of a model: its manifest and its parameters.
public struct Snapshot: Sendable, Equatable {
    public var manifest: SnapshotManifest
    public var parameters: ModelParameters

    /// Checks that the manifest is valid and describes these parameters' architecture.
    public init(manifest: SnapshotManifest, parameters: ModelParameters) throws {
        try manifest.validate()
        guard manifest.architecture == parameters.architecture else {
            throw CheckpointError(
                .shapeMismatch,
                "manifest architecture \(manifest.architecture.summary) differs from the parameters' \(parameters.architecture.summary)")
        }
        self.manifest = manifest
        self.parameters = parameters
    }
}
