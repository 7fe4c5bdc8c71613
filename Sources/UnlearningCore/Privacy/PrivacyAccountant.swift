import Foundation

/// Renyi-DP accountant for a sequence of Gaussian releases (one per unlearning update of a budget epoch).
///
/// A Gaussian mechanism with L2 sensitivity Delta and noise sd sigma is (alpha, alpha Delta^2 / (2 sigma^2))-RDP for
/// every order alpha > 1 (Mironov 2017, "Renyi Differential Privacy", Proposition 7); RDP composes by adding the
/// per-order values (Proposition 1). The accountant keeps the summed RDP on a fixed grid of orders and converts it to
/// (epsilon, delta)-DP per order, reporting the smallest epsilon over the grid (`epsilon(rdp:delta:)`).
///
/// The conversion is the improved one of Balle, Barthe, Gaboardi, Hsu, Sato 2020 ("Hypothesis testing
/// interpretations and Renyi differential privacy", AISTATS, Theorem 21 / Equation 20 of arXiv:2001.05990v1),
/// also Canonne, Kamath, Steinke 2020 ("The discrete Gaussian for differential privacy", Proposition 12 of
/// arXiv:2004.00010v4): (alpha, e)-RDP implies (epsilon, delta)-DP with
/// epsilon = e + ln((alpha - 1)/alpha) - (ln delta + ln alpha)/(alpha - 1).
/// Beside it the classic epsilon = e + ln(1/delta)/(alpha - 1) (Mironov 2017, Proposition 3) is taken when smaller;
/// for alpha > 1 it never is (the two differ by ln(1 - 1/alpha) - ln(alpha)/(alpha - 1) < 0), so it is a guard,
/// not a second answer. This is the conversion `dp_accounting`'s RdpAccountant uses; on the same releases the grid
/// below (finer than its default one below order 11) gives the same epsilon or less (`DPAccountingComparisonTests`).
///
/// The grid is part of the stored form (`rdp` is indexed by it in every snapshot manifest), so it does not change.
public struct PrivacyAccountant: Codable, Sendable, Equatable {
    /// Orders alpha: 1.01 ... 11 in steps of 0.01 up to 2 then 0.05, then integers to 64, then powers to 4096.
    public static let orders: [Double] = {
        var grid: [Double] = []
        var a = 1.01
        while a < 2 {
            grid.append(a)
            a += 0.01
        }
        a = 2
        while a <= 11 {
            grid.append(a)
            a += 0.05
        }
        for k in 12...64 { grid.append(Double(k)) }
        var p = 96.0
        while p <= 4096 {
            grid.append(p)
            p *= 1.5
        }
        return grid
    }()

    /// Summed RDP epsilon per order of `orders`.
    public private(set) var rdp: [Double]
    /// Number of Gaussian releases composed.
    public private(set) var releases: Int

    public init() {
        rdp = [Double](repeating: 0, count: Self.orders.count)
        releases = 0
    }

    /// The RDP curve of one Gaussian release.
    public static func gaussianRDP(sensitivity: Double, sigma: Double) -> [Double] {
        precondition(sigma > 0, "a Gaussian release needs sigma > 0")
        let c = sensitivity * sensitivity / (2 * sigma * sigma)
        return orders.map { $0 * c }
    }

    /// Composes one Gaussian release.
    public mutating func record(sensitivity: Double, sigma: Double) {
        let curve = Self.gaussianRDP(sensitivity: sensitivity, sigma: sigma)
        for i in rdp.indices { rdp[i] += curve[i] }
        releases += 1
    }

    /// (epsilon, delta)-DP of everything recorded so far (the conversion of the type's summary, best order).
    public func epsilon(delta: Double) -> Double {
        Self.epsilon(rdp: rdp, delta: delta)
    }

    /// (epsilon, delta)-DP of an RDP curve on `orders`: the minimum over orders of `epsilon(rdp:order:delta:)`.
    public static func epsilon(rdp: [Double], delta: Double) -> Double {
        precondition(delta > 0 && delta < 1, "delta must be in (0, 1)")
        precondition(rdp.count == orders.count, "an RDP curve has one value per order of the grid")
        if rdp.allSatisfy({ $0 == 0 }) { return 0 }
        var best = Double.infinity
        for (i, alpha) in orders.enumerated() {
            best = min(best, epsilon(rdp: rdp[i], order: alpha, delta: delta))
        }
        return max(0, best)
    }

    /// (epsilon, delta)-DP implied by (alpha, rdp)-RDP at one order alpha > 1: the smaller of Balle et al. 2020
    /// Theorem 21 (Eq. 20 of arXiv:2001.05990v1), rdp + ln(1 - 1/alpha) - (ln delta + ln alpha)/(alpha - 1), and
    /// Mironov 2017 Proposition 3, rdp + ln(1/delta)/(alpha - 1).
    public static func epsilon(rdp: Double, order alpha: Double, delta: Double) -> Double {
        precondition(alpha > 1, "the RDP to DP conversion needs an order alpha > 1")
        let classic = rdp - log(delta) / (alpha - 1)
        let improved = rdp + log1p(-1 / alpha) - (log(delta) + log(alpha)) / (alpha - 1)
        return min(classic, improved)
    }

    /// Epsilon after also composing a release, without recording it.
    public func epsilon(delta: Double, afterRelease sensitivity: Double, sigma: Double) -> Double {
        var copy = self
        copy.record(sensitivity: sensitivity, sigma: sigma)
        return copy.epsilon(delta: delta)
    }

    /// How many more releases like the average one so far fit in `budget` (nil when nothing was released yet).
    public func forecastRemainingReleases(budget: Double, delta: Double) -> Int? {
        guard releases > 0 else { return nil }
        let average = rdp.map { $0 / Double(releases) }
        func fits(_ k: Int) -> Bool {
            Self.epsilon(rdp: zip(rdp, average).map { $0 + Double(k) * $1 }, delta: delta) <= budget
        }
        if !fits(0) { return 0 }
        var low = 0
        var high = 1
        while fits(high) {
            low = high
            high *= 2
            if high > 1 << 30 { return high }
        }
        while high - low > 1 {
            let mid = (low + high) / 2
            if fits(mid) { low = mid } else { high = mid }
        }
        return low
    }
}
