import Testing

/// The broker an end-to-end test runs against; the guarantee suites take it as their argument and run on both.
enum Broker: String, Sendable, CaseIterable, CustomTestStringConvertible {
    /// librdkafka's mock cluster (`unlearnctl dev-broker`), with fault injection (`down`, `error`) of its own.
    case mock
    /// Tansu, a real Kafka-compatible broker, with librdkafka >= 2.2 for every client (TansuSetup).
    case tansu

    var testDescription: String { rawValue }
}
