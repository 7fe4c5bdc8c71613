extension Unlearner {
    struct SelectedBlock {
        var slices: [Slice]
        var scores: [Double]
    }

    /// Step 2: chooses the slices of the block from the perturbation statistics.
    static func select(
        statistics: PerturbationStatistics, model: MLP, options: UnlearningOptions, rng: inout SeededGenerator
    ) throws(UnlearningError) -> SelectedBlock {
        let arch = model.architecture
        let costs = statistics.slices.map { arch.fanIn($0.layer) + 1 }
        switch options.selection {
        case .full:
            return SelectedBlock(slices: arch.allSlices, scores: [])
        case .lfoci, .top1, .random:
            let lfoci = try runLFOCI(statistics: statistics, costs: costs, options: options, maxSlices: options.selection == .top1 ? 1 : options.maxSlices, rng: &rng)
            if options.selection != .random { return lfoci }
            let count = options.randomSlices ?? max(lfoci.slices.count, 1)
            // As many random slices as L-FOCI chose, drawn uniformly without replacement under the same block cap.
            var order = Array(statistics.slices.indices)
            order.shuffle(using: &rng)
            var chosen: [Slice] = []
            var size = 0
            for i in order where chosen.count < count {
                if size + costs[i] > options.maxBlockParameters { continue }
                chosen.append(statistics.slices[i])
                size += costs[i]
            }
            return SelectedBlock(slices: chosen, scores: [])
        }
    }

    static func runLFOCI(
        statistics: PerturbationStatistics, costs: [Int], options: UnlearningOptions, maxSlices: Int, rng: inout SeededGenerator
    ) throws(UnlearningError) -> SelectedBlock {
        throw UnlearningError(.numericalFailure, "L-FOCI selection is not wired in yet; use selection full")
    }
}
