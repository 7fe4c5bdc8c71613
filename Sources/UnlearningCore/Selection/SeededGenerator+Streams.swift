extension SeededGenerator {
    /// A generator for one independent stream of a run, e.g. (run seed, step, candidate), so that results do
    /// not depend on which thread evaluates which candidate, or in what order.
    init(seed: UInt64, stream a: UInt64, _ b: UInt64 = 0) {
        // One SplitMix64 step over each word, so nearby (a, b) give unrelated seeds.
        func mix(_ word: UInt64) -> UInt64 {
            var generator = SplitMix64(state: word)
            return generator.next()
        }
        self.init(seed: mix(mix(mix(seed) ^ a) ^ b))
    }
}
