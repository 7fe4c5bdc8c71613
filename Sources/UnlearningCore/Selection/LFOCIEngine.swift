/// One L-FOCI run's prepared state and its per-step evaluation of every candidate.
struct LFOCIEngine {
    let ranks: ResponseRanks
    let columns: PreparedColumns
    let tieBreaking: TieBreaking
    let search: NeighbourSearch
    let seed: UInt64
    let parallel: Bool
    let listLength: Int

    private var exact: Bool { tieBreaking == .exact }

    /// The seed of the exact-mode tie draws of `step` (stream family 1; the noise uses the plain (seed, j)).
    private func tieSeed(step: Int) -> UInt64 {
        var rng = SeededGenerator(seed: seed, stream: 1 << 40 | UInt64(step))
        return rng.next()
    }

    /// The conditioning set of a step with `selected` variables, prepared for this run's search.
    func conditioningSet(_ selected: [Int], step: Int) -> ConditioningSet {
        ConditioningSet(
            columns: columns, selected: selected,
            listLength: search == .pruned ? listLength : 0,
            tieRNGSeed: exact ? tieSeed(step: step) : nil, parallel: parallel
        )
    }

    /// `sum_i min(R_i, R_M(i))` for every candidate not in `excluded` (Int.min for excluded ones), with M the
    /// nearest neighbour in (X, Z_j), or in Z_j alone when `conditioning` is nil (the unconditional step).
    func neighbourSums(conditioning: ConditioningSet?, excluded: [Bool], step: Int) -> [Int] {
        let m = columns.m
        let p = columns.p
        var sums = [Int](repeating: .min, count: p)
        let kernelSeed = tieSeed(step: step) ^ 0x5851_F42D_4C95_7F2D
        let empty = ConditioningSet(emptyWithSamples: m)
        let x = conditioning ?? empty
        ranks.lessOrEqual.withUnsafeBufferPointer { r in
            columns.values.withUnsafeBufferPointer { values in
                columns.order.withUnsafeBufferPointer { order in
                    columns.sorted.withUnsafeBufferPointer { sorted in
                        columns.position.withUnsafeBufferPointer { position in
                            x.withView { view in
                                sums.withUnsafeMutableBufferPointer { out in
                                    let kernels = NeighbourKernels(
                                        m: m, r: r.baseAddress!, values: values.baseAddress!, order: order.baseAddress!,
                                        sorted: sorted.baseAddress!, position: position.baseAddress!
                                    )
                                    let exact = self.exact
                                    let search = self.search
                                    let conditional = conditioning != nil
                                    Parallel.forEach(p, parallel: parallel) { j in
                                        if excluded[j] { return }
                                        var rng = SeededGenerator(seed: kernelSeed, stream: UInt64(j))
                                        switch (search, exact, conditional) {
                                        case (.pruned, false, false):
                                            out[j] = kernels.adjacentSum(column: j)
                                        case (.pruned, false, true):
                                            out[j] = kernels.prunedSum(column: j, conditioning: view)
                                        case (.pruned, true, false):
                                            let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: m)
                                            defer { scratch.deallocate() }
                                            out[j] = kernels.exactTiesSum(column: j, groupEnd: scratch, rng: &rng)
                                        case (.pruned, true, true):
                                            let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: m)
                                            defer { scratch.deallocate() }
                                            out[j] = kernels.prunedExactSum(column: j, conditioning: view, visited: scratch, rng: &rng)
                                        case (.bruteForce, _, _):
                                            var tieRNG: SeededGenerator? = exact ? rng : nil
                                            out[j] = kernels.bruteForceSum(column: j, conditioning: view, rng: &tieRNG)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return sums
    }
}
