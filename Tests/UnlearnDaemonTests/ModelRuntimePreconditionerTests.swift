import Logging
import TestSupport
import Testing
import UnlearningCore

@testable import UnlearnDaemon

/// A handler that keeps what it is asked to write.
private struct KeepingHandler: LogHandler {
    let events: LockedValue<[LogEvent]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { events.withLock { $0.append(event) } }
}

/// The daemon's newton preconditioner: built at load with a log line giving its memory, not built (a warning, plain
/// CG) above the memory bound, kept across reloads of the same base and rebuilt for a new base.
@Suite("ModelRuntime newton preconditioner", .serialized, .computeBound)
struct ModelRuntimePreconditionerTests {
    static func open(_ world: ModelRuntimeWorld, events: LockedValue<[LogEvent]>) throws -> ModelRuntime {
        try world.open(logger: Logger(label: "test") { _ in KeepingHandler(events: events) })
    }

    @Test("built at load with its memory logged, used by updates, kept by a reload of the same base, rebuilt after a rebase")
    func builtAndRebuilt() throws {
        let world = try ModelRuntimeReleaseTests.world()
        let events = LockedValue<[LogEvent]>([])
        let runtime = try Self.open(world, events: events)
        var options = ModelRuntimeReleaseTests.options
        options.newtonPreconditionerRank = 8
        let record = try #require(runtime.prepareNewtonPreconditioner(options: options))
        #expect(record.outcome == .built && record.bytes > 0)
        let line = try #require(events.value.first { $0.message.description == "Built newton's preconditioner" })
        #expect(line.level == .notice)
        #expect(line.metadata?[LogKey.preconditionerBytes] == .string("\(record.bytes)"))
        #expect(runtime.prepareNewtonPreconditioner(options: options) == nil, "built once per base")

        let rows = try runtime.index.rows(for: .subject("s0")).get()
        let applied = try runtime.apply(
            try ModelRuntimeReleaseTests.batch(runtime, request: "r0", subject: "s0", offset: 0), options: options,
            policy: ModelRuntimeReleaseTests.policy, safeOffsets: [])
        let report = try #require(applied.report)
        #expect(report.preconditionerRank > 0 && report.rows == rows.count)
        #expect(report.gradientResidual <= options.newtonTolerance)
        #expect(runtime.state.newtonPreconditioning?.preconditioner != nil, "the adopted state keeps it")

        // A reload of the same base (as on partition assignment) keeps it; a rebase drops it, and the first update
        // of the new base builds the new base's.
        try runtime.reload()
        #expect(runtime.state.newtonPreconditioning?.preconditioner === record.preconditioner)
        try runtime.rebase(to: runtime.state.model, standardization: runtime.standardization)
        #expect(runtime.state.newtonPreconditioning == nil)
        let again = try runtime.apply(
            try ModelRuntimeReleaseTests.batch(runtime, request: "r1", subject: "s1", offset: 1), options: options,
            policy: ModelRuntimeReleaseTests.policy, safeOffsets: [])
        #expect(again.report?.preconditionerRank ?? 0 > 0, "the first update after a rebase built it first")
        #expect(events.value.filter { $0.message.description == "Built newton's preconditioner" }.count == 2)
    }

    @Test("above the memory bound it is not built: a warning at load, and updates run plain CG, still certified")
    func memoryBoundFallback() throws {
        let world = try ModelRuntimeReleaseTests.world()
        let events = LockedValue<[LogEvent]>([])
        let runtime = try Self.open(world, events: events)
        var options = ModelRuntimeReleaseTests.options
        options.newtonPreconditionerRank = 8
        options.newtonPreconditionerMemoryLimit = 100
        let record = try #require(runtime.prepareNewtonPreconditioner(options: options))
        #expect(record.outcome == .overMemoryLimit)
        let line = try #require(
            events.value.first { $0.message.description == "newton's preconditioner was not built; newton runs plain CG" })
        #expect(line.level == .warning)
        #expect(line.metadata?[LogKey.preconditionerOutcome] == .string("over_memory_limit"))
        #expect(line.metadata?[LogKey.preconditionerRequiredBytes] == .string("\(record.requiredBytes)"))
        let applied = try runtime.apply(
            try ModelRuntimeReleaseTests.batch(runtime, request: "r0", subject: "s0", offset: 0), options: options,
            policy: ModelRuntimeReleaseTests.policy, safeOffsets: [])
        let report = try #require(applied.report)
        #expect(report.preconditionerRank == 0)
        #expect(report.outcome == .applied && report.gradientResidual <= options.newtonTolerance)
        #expect(report.residualBound == report.gradientResidual / runtime.state.model.lambda)
        #expect(events.value.filter { $0.level == .warning }.count == 1, "the record stops a retry on every update")
    }
}
