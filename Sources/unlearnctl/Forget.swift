import ArgumentParser
import Checkpoints
import Foundation
import Logging
import UnlearnDaemon
import UnlearningCore

/// `unlearnctl forget`: one unlearning update without Kafka, on a bundle or on the daemon's state directory.
struct Forget: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forget a subject, a class or samples offline: from a bundle into a new bundle, or as the next snapshot of a state directory.",
        discussion: """
            With --bundle DIR --out DIR: applies one update to the bundle's model and writes a bundle of the same \
            layout as `train` writes, holding the released weights (with --no-noise the noise-free ones) and the \
            residual training rows, so forgetting can be chained and checked from outside. With --state-dir DIR \
            --model ID: writes the model's next snapshot with its update record, exactly as the daemon would (stop \
            the daemon first, or let it reload). Prints the update's report as JSON on stdout.
            """
    )

    @Option(help: "A model bundle (as written by `unlearnctl train`).")
    var bundle: String?

    @Option(help: "Output bundle directory (with --bundle).")
    var out: String?

    @Option(name: .customLong("state-dir"), help: "The daemon's state directory (instead of --bundle).")
    var stateDirectory: String?

    @Option(help: "Model id (with --state-dir).")
    var model: String?

    @Option(help: "Forget every row of this subject.")
    var subject: String?

    @Option(name: .customLong("class"), help: "Forget every row of this class label.")
    var label: Int?

    @Option(help: "Forget these sample ids (comma-separated).")
    var samples: String?

    @Option(
        help: """
            Update method: auto (newton for logistic regression, dampening for networks) or one of \
            \(UnlearningOptions.Method.allCases.map(\.rawValue).joined(separator: ", ")) (docs/ARCHITECTURE.md, section 3.1); \
            the hyperparameters are the defaults of the daemon's unlearning.* keys.
            """)
    var method: String = "auto"

    @Option(name: .customLong("selection"), help: "Parameter block of the lfoci method: lfoci, full, random, top1.")
    var selection: String = UnlearningOptions().selection.rawValue

    @Flag(name: .customLong("no-noise"), help: "Release the noise-free weights (no privacy claim).")
    var noNoise = false

    @Option(name: .customLong("request-id"), help: "Request id recorded in the ledger (with --state-dir).")
    var requestID: String?

    @Option(help: "Seed of the selection's sampling.")
    var seed: UInt64 = 1

    @Option(
        name: .customLong("preconditioner-rank"),
        help:
            "Rank of newton's Nyström preconditioner, built from the model before the update (0: plain CG). Off by default here: one request alone rarely repays the build (BENCHMARKS.md, newton preconditioner); the daemon keeps one per base and uses rank 256."
    )
    var preconditionerRank: Int = 0

    @Flag(help: "Replace an existing --out directory.")
    var force = false

    func validate() throws {
        guard [subject != nil, label != nil, samples != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --subject ID, --class N or --samples ID,...")
        }
        guard (bundle != nil) != (stateDirectory != nil) else { throw ValidationError("give --bundle DIR or --state-dir DIR") }
        if bundle != nil, out == nil { throw ValidationError("--bundle needs --out DIR for the new bundle") }
        if stateDirectory != nil, model == nil { throw ValidationError("--state-dir needs --model ID") }
        guard method == "auto" || UnlearningOptions.Method(rawValue: method) != nil else {
            throw ValidationError("--method must be auto or one of \(UnlearningOptions.Method.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (0...4096).contains(preconditionerRank) else {
            throw ValidationError("--preconditioner-rank must be 0 (plain CG) to 4096, got \(preconditionerRank)")
        }
        guard UnlearningOptions.Selection(rawValue: selection) != nil else {
            throw ValidationError("--selection must be one of \(UnlearningOptions.Selection.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    var scope: DeletionRequest.Scope {
        if let subject { return .subject(subject) }
        if let label { return .class(label) }
        return .samples((samples ?? "").split(separator: ",").map(String.init))
    }

    var options: UnlearningOptions {
        var o = UnlearningOptions()
        o.method = UnlearningOptions.Method(rawValue: method)
        o.selection = UnlearningOptions.Selection(rawValue: selection)!
        o.noise = !noNoise
        o.seed = seed
        o.newtonPreconditionerRank = preconditionerRank
        return o
    }

    func run() async throws {
        if let stateDirectory, let model {
            try forgetInState(stateDirectory: stateDirectory, model: model)
        } else if let bundle, let out {
            try forgetInBundle(bundle, out: out)
        }
    }

    func forgetInBundle(_ path: String, out: String) throws {
        let source = try ModelBundle.read(from: path)
        let rows = try RowIndex(source.train, classes: source.descriptor.architecture.classes).rows(for: scope).get()
        var state = UnlearningState(
            model: source.model, trainFeatures: source.trainFeatures, trainLabels: source.train.labels,
            validationFeatures: source.validationFeatures, validationLabels: source.validation.labels
        )
        var extra: [String: String] = [:]
        if options.resolvedMethod(for: state.model.architecture) == .newton {
            let record = state.prepareNewtonPreconditioner(options: options)
            extra["preconditioner"] =
                record.outcome == .built
                ? "rank \(record.preconditioner?.rank ?? 0), \(record.bytes) bytes, built in \(String(format: "%.2f", record.seconds)) s"
                : "\(record.outcome.rawValue): \(record.reason ?? "")"
        }
        let report = try Unlearner.forget(rows: rows, in: &state, options: options, policy: BudgetPolicy())
        var descriptor = source.descriptor
        descriptor.trainRows = state.residualCount
        descriptor.source = "unlearnctl forget from \(URL(fileURLWithPath: path).lastPathComponent)"
        descriptor.trainAccuracy = report.residualAccuracyAfter
        descriptor.validationAccuracy = report.validationAccuracyAfter
        let released = noNoise ? state.model : state.releasedModel
        let result = ModelBundle(
            descriptor: descriptor, model: released, train: source.train.subset(state.residualIndices), validation: source.validation)
        try result.write(to: out, replace: force)
        extra["out"] = out
        extra["weights"] = noNoise ? "noise-free" : "released"
        try printReport(report, extra: extra)
    }

    func forgetInState(stateDirectory: String, model: String) throws {
        var logger = Logger(label: "unlearnctl")
        logger.logLevel = .error
        let runtime = try ModelRuntime.openExisting(id: model, stateDirectory: stateDirectory, logger: logger)
        let rows = try runtime.index.rows(for: scope).get().filter { !runtime.state.removed[$0] }
        let request = DeletionRequest(
            requestID: requestID ?? "offline-\(UUID().uuidString.lowercased())", model: model, scope: scope,
            requestedAt: RFC3339.format(Date())
        )
        var batch = PendingBatch(model: model, key: .samples)
        batch.requests = [PendingRequest(request: request, rows: rows, topic: "", partition: -1, offset: -1, receivedAt: 0)]
        batch.rowCount = rows.count
        let policy = (try? runtime.manifest.extensions?["budget_policy"].map { try $0.decode(BudgetPolicy.self) }) ?? BudgetPolicy()
        let applied = try runtime.apply(batch, options: options, policy: policy, safeOffsets: [])
        guard let report = applied.report else {
            try printReport(nil, extra: ["snapshot_version": "\(applied.version)", "note": "every selected row was removed before: recorded only"])
            return
        }
        try printReport(report, extra: ["snapshot_version": "\(applied.version)", "request_id": request.requestID])
    }

    func printReport(_ report: UpdateReport?, extra: [String: String]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var object = (try report.map { try JSONSerialization.jsonObject(with: encoder.encode($0)) as? [String: Any] } ?? nil) ?? [:]
        for (k, v) in extra { object[k] = v }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
