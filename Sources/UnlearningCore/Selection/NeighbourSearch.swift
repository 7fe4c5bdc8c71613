/// How L-FOCI finds the nearest neighbour of every sample for every candidate.
public enum NeighbourSearch: Sendable, Equatable {
    /// Sort-and-prune (the default). The unconditional step reads neighbours off each candidate's sort order.
    /// A conditional step with selected set X precomputes once, for every sample, its nearest samples in X
    /// sorted by distance; then for candidate Z it walks that list and Z's sort order side by side (a threshold
    /// algorithm in the sense of Fagin, Lotem and Naor 2003) and stops as soon as
    /// `next X-distance^2 + next Z-distance^2` cannot beat the best (X, Z)-distance found. Typically tens of
    /// points are visited instead of m.
    case pruned
    /// Every pair of samples for every candidate: O(m^2 (d + 1)) per candidate. The baseline for benchmarks.
    case bruteForce
}
