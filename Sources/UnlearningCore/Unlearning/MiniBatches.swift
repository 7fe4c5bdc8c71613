/// Seeded mini-batches over `count` rows: a shuffled order walked in consecutive batches, reshuffled at the end of
/// every pass (an epoch), so a run is reproducible for a seed and every row is used once per pass. A batch never
/// spans two passes (the last one of a pass may be smaller).
struct MiniBatches {
    let count: Int
    private var order: [Int]
    private var position = 0
    private var rng: SeededGenerator

    init(count: Int, seed: UInt64) {
        precondition(count > 0, "mini-batches over no rows")
        self.count = count
        order = Array(0..<count)
        rng = SeededGenerator(seed: seed)
        order.shuffle(using: &rng)
    }

    /// The positions (into 0..<count) of the next batch of at most `size` rows, ascending.
    mutating func next(_ size: Int) -> [Int] {
        precondition(size > 0)
        if position == count {
            order.shuffle(using: &rng)
            position = 0
        }
        let end = min(count, position + size)
        let batch = order[position..<end].sorted()
        position = end
        return batch
    }
}
