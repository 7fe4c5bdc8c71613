/// How CODEC breaks ties between equally near neighbours.
public enum TieBreaking: Sendable, Equatable {
    /// L-CODEC: every candidate and conditioning variable (never Y) gets i.i.d. Gaussian noise with standard
    /// deviation `fraction` times that variable's smallest non-zero gap between distinct sample values, once per
    /// run. Ties then vanish with probability 1 and the plain (first-found) nearest neighbour of the noisy data is
    /// a uniformly random one of the tied neighbours, while two distinct values swap order only if the noise
    /// difference exceeds their gap: at `fraction = 0.01` that is a 70-sigma event. The gap (not the spread) is
    /// the scale because a spread-relative noise large enough to matter for discrete data could reorder nearly
    /// equal continuous values; for continuous data the gap is tiny, so the noise changes nothing.
    /// A variable constant on the sample has no gap; it gets `fraction` times the smallest gap of all the
    /// variables in the run (or `fraction` if every variable is constant), so its noise never outweighs the
    /// structure of the others when it sits in a conditioning set.
    /// Y is left exact and ranked by counts: L-CODEC's design (docs/ARCHITECTURE.md, section 3.1) keeps it so because noise on Y adds spurious
    /// variables on discrete data, while noise on the candidates only selects the right set.
    case noise(fraction: Double)
    /// Exact CODEC: no noise; each point's nearest neighbour is drawn uniformly among *all* points at the
    /// minimal distance. Slower on discrete data (every tied neighbour must be enumerated); for comparison.
    case exact

    /// L-CODEC with noise at 1% of each variable's smallest gap.
    public static let `default` = TieBreaking.noise(fraction: 0.01)

    func validate() throws(SelectionError) {
        if case .noise(let fraction) = self, !(fraction > 0 && fraction.isFinite) {
            throw SelectionError(
                .invalidConfiguration,
                "tie-breaking noise fraction is \(fraction); use a small positive number such as 0.01 "
                    + "(fraction of each variable's smallest gap), or .exact"
            )
        }
    }
}
