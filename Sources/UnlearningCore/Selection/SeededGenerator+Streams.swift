extension SeededGenerator {
    /// A generator for one independent stream of a run, e.g. (run seed, step, candidate), so that results do
    /// not depend on which thread evaluates which candidate, or in what order.
    init(seed: UInt64, stream a: UInt64, _ b: UInt64 = 0) {
        // SplitMix64's finaliser over each word, so nearby (a, b) give unrelated seeds.
        func mix(_ z0: UInt64) -> UInt64 {
            var z = z0 &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        self.init(seed: mix(mix(mix(seed) ^ a) ^ b))
    }
}
