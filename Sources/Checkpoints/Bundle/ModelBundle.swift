import Foundation
import UnlearningCore

/// A model bundle: what `unlearnctl train` writes and what the daemon imports as the base of a model.
///
/// Layout of the bundle directory:
/// - `bundle.json`: format, architecture, lambda, classes, input standardisation, training report, provenance;
/// - `model.safetensors`: the weights, plain safetensors (`layers.{l}.weight` [out, in], `layers.{l}.bias` [out],
///   `input.mean` / `input.std` [d]), loadable by PyTorch users as is;
/// - `train.csv.zst`: the training rows (raw features, sample ids, subjects), the rows the model was fitted on;
/// - `validation.csv.zst`: held-out rows (whole subjects), used for the accuracy guard.
public struct ModelBundle: Sendable {
    public static let format = "unlearnd.bundle.v1"

    /// The contents of `bundle.json`.
    public struct Descriptor: Codable, Sendable, Equatable {
        public var format: String
        public var architecture: Architecture
        public var lambda: Double
        public var standardization: Standardization?
        public var training: TrainingReport?
        public var source: String?
        public var createdAt: String
        public var trainRows: Int
        public var validationRows: Int
        public var trainAccuracy: Double?
        public var validationAccuracy: Double?

        public init(
            architecture: Architecture, lambda: Double, standardization: Standardization?, training: TrainingReport?,
            source: String?, trainRows: Int, validationRows: Int, trainAccuracy: Double?, validationAccuracy: Double?
        ) {
            self.format = ModelBundle.format
            self.architecture = architecture
            self.lambda = lambda
            self.standardization = standardization
            self.training = training
            self.source = source
            self.createdAt = ISO8601DateFormatter().string(from: Date())
            self.trainRows = trainRows
            self.validationRows = validationRows
            self.trainAccuracy = trainAccuracy
            self.validationAccuracy = validationAccuracy
        }
    }

    public var descriptor: Descriptor
    public var model: Network
    /// Training rows with raw (unstandardised) features.
    public var train: Dataset
    /// Validation rows with raw features (may be empty).
    public var validation: Dataset

    public init(descriptor: Descriptor, model: Network, train: Dataset, validation: Dataset) {
        self.descriptor = descriptor
        self.model = model
        self.train = train
        self.validation = validation
    }

    /// Standardised training features (what the model consumes).
    public var trainFeatures: Matrix { descriptor.standardization.map { $0.apply(train.features) } ?? train.features }
    /// Standardised validation features.
    public var validationFeatures: Matrix {
        descriptor.standardization.map { $0.apply(validation.features) } ?? validation.features
    }
}
