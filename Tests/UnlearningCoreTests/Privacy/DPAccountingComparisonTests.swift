import Foundation
import ProcessHarness
import TestSupport
import Testing
import UnlearningCore

/// The project's epsilon against Google's `dp_accounting` (PyPI `dp-accounting`), run as a real `python3` process
/// on the same release sequences. The expected values are computed by dp_accounting in this run, never stored.
///
/// Required: never below dp_accounting's privacy-loss-distribution value (PLD with a 1e-4 value discretisation,
/// pessimistic, so an upper bound that is close to the exact epsilon; anything below it would be a wrong claim), and
/// at most 1% above its RDP accountant (same RDP of the Gaussian, same improved conversion, its default orders).
@Suite("Accountant versus dp_accounting", .serialized, .timeLimit(.minutes(5)), .computeBound)
struct DPAccountingComparisonTests {
    /// A named release sequence: (L2 sensitivity, noise sd) per release, in order.
    struct Sequence: Sendable, CustomTestStringConvertible {
        let name: String
        let releases: [(sensitivity: Double, sigma: Double)]
        var testDescription: String { name }
    }

    /// Mixed sensitivities and noise ratios sigma/Delta, deterministic so a failure reproduces.
    static let sequences: [Sequence] = [
        // One release at epsilon_step 1 under the classic calibration sigma = Delta sqrt(2 ln(1.25/delta)) / epsilon_step.
        Sequence(name: "1 release, sigma/Delta 4.84", releases: [(1.0, 4.84)]),
        // One release at the per-release epsilon 0.1 of the certified defaults (sigma/Delta 48.4): optimum order ~250.
        Sequence(name: "1 release, sigma/Delta 48.4", releases: [(1e-3, 48.4e-3)]),
        // The old demo: 17 releases at epsilon_step 5 (sigma/Delta = 4.84 / 5).
        Sequence(name: "17 releases, sigma/Delta 0.968", releases: Array(repeating: (0.2, 0.2 * 0.968), count: 17)),
        // 17 releases, sensitivities 0.5 ... 0.9, sigma/Delta 0.97 ... 4.57.
        Sequence(
            name: "17 releases, mixed sigma/Delta 0.97-4.57",
            releases: (0..<17).map { i in
                let sensitivity = 0.5 + 0.1 * Double(i % 5)
                return (sensitivity, sensitivity * (0.97 + 0.6 * Double(i % 7)))
            }),
        // 100 small releases near the per-release epsilon 0.1 of the certified defaults (sigma/Delta 20 ... 50).
        Sequence(
            name: "100 releases, mixed sigma/Delta 20-50",
            releases: (0..<100).map { i in
                let sensitivity = 1e-3 * Double(1 + i % 3)
                return (sensitivity, sensitivity * (20 + 0.5 * Double(i % 61)))
            }),
    ]

    static let deltas: [Double] = [1e-5, 1e-6]

    @Test(
        "epsilon is at least dp_accounting's PLD value and at most 1% above its RDP value",
        .enabled(if: DPAccounting.python != nil, "needs python3 with dp_accounting (pip install dp-accounting; ./dev test installs it)"),
        arguments: sequences
    )
    func matchesDPAccounting(sequence: Sequence) throws {
        let python = try #require(DPAccounting.python)
        let reference = try DPAccounting.epsilons(python: python, releases: sequence.releases, deltas: Self.deltas)
        var accountant = PrivacyAccountant()
        for release in sequence.releases { accountant.record(sensitivity: release.sensitivity, sigma: release.sigma) }
        for (delta, expected) in zip(Self.deltas, reference) {
            let ours = accountant.epsilon(delta: delta)
            let line =
                "\(sequence.name), delta \(delta): unlearnd \(format(ours)), dp_accounting RDP \(format(expected.rdp)), "
                + "PLD \(format(expected.pld)) (unlearnd/RDP - 1 = \(format(100 * (ours / expected.rdp - 1)))%)"
            print(line)
            #expect(ours >= expected.pld, "below dp_accounting's PLD epsilon: \(line)")
            #expect(ours <= expected.rdp * 1.01, "more than 1% above dp_accounting's RDP epsilon: \(line)")
        }
    }

    private func format(_ x: Double) -> String { String(format: "%.4f", x) }
}

/// Runs dp_accounting in a child `python3`.
enum DPAccounting {
    /// Reads {"releases": [[sensitivity, sigma], ...], "deltas": [...]} on stdin and prints one
    /// {"rdp": e, "pld": e} per delta. Identical releases are composed with a count (same result, faster PLD).
    static let script = """
        import collections, json, sys
        from dp_accounting import dp_event, pld, rdp
        request = json.load(sys.stdin)
        counts = collections.Counter(sigma / sensitivity for sensitivity, sigma in request["releases"])
        events = [(dp_event.GaussianDpEvent(noise_multiplier=z), n) for z, n in counts.items()]
        renyi = rdp.RdpAccountant()
        loss = pld.PLDAccountant(value_discretization_interval=1e-4)
        for event, n in events:
            renyi.compose(event, n)
            loss.compose(event, n)
        print(json.dumps([{"rdp": renyi.get_epsilon(d), "pld": loss.get_epsilon(d)} for d in request["deltas"]]))
        """

    /// The first python3 on PATH that imports dp_accounting, or nil.
    static let python: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/python3"
            guard FileManager.default.isExecutableFile(atPath: candidate) else { continue }
            if (try? ProcessRunner.run(candidate, ["-c", "import dp_accounting"]))?.status == 0 { return candidate }
        }
        return nil
    }()

    static func epsilons(
        python: String, releases: [(sensitivity: Double, sigma: Double)], deltas: [Double]
    ) throws -> [(rdp: Double, pld: Double)] {
        let request: [String: Any] = ["releases": releases.map { [$0.sensitivity, $0.sigma] }, "deltas": deltas]
        let result = try ProcessRunner.run(python, ["-c", script], stdin: try JSONSerialization.data(withJSONObject: request))
        try #require(result.status == 0, "dp_accounting failed: \(result.stderrText)")
        let rows = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Double]])
        return try rows.map { (try #require($0["rdp"]), try #require($0["pld"])) }
    }
}
