extension Unlearner {
    /// The slices L-FOCI selects for the batch, from `options.seed`, exactly as the `lfoci` method with selection
    /// `lfoci` would choose them: the scope of `dampeningScope` and `finetuneScope` `.lfoci`. Records the scores.
    static func lfociScope(
        model: Network, batch: (x: Matrix, labels: [Int]), options: UnlearningOptions, report: inout UpdateReport,
        clock: inout PhaseClock
    ) throws(UnlearningError) -> [Slice] {
        var rng = SeededGenerator(seed: options.seed)
        var selecting = options
        selecting.selection = .lfoci
        let statistics = PerturbationStatistics.sample(model: model, batch: batch.x, labels: batch.labels, options: selecting, rng: &rng)
        clock.lap("perturb")
        let selected = try select(statistics: statistics, model: model, batch: batch, options: selecting, rng: &rng)
        report.selectionScores = selected.scores
        clock.lap("select")
        return selected.slices
    }

    struct SelectedBlock {
        var slices: [Slice]
        var scores: [Double]
    }

    /// Step 2: chooses the slices of the block from the perturbation statistics.
    static func select(
        statistics: PerturbationStatistics, model: Network, batch: (x: Matrix, labels: [Int]), options: UnlearningOptions,
        rng: inout SeededGenerator
    ) throws(UnlearningError) -> SelectedBlock {
        let arch = model.architecture
        let costs = statistics.slices.map { arch.fanIn($0.layer) + 1 }
        switch options.selection {
        case .full:
            return SelectedBlock(slices: arch.allSlices, scores: [])
        case .lfoci, .top1, .random:
            var lfoci = try runLFOCI(
                statistics: statistics, costs: costs, options: options,
                maxSlices: options.selection == .top1 ? 1 : options.maxSlices, rng: &rng
            )
            if lfoci.slices.isEmpty, let fallback = largestGradientSlice(model: model, batch: batch, costs: costs, cap: options.maxBlockParameters) {
                // No activation carries measurable information about the loss on this sample (the best score is
                // <= 0 or within the noise gate): fall back to the slice with the largest batch gradient, so the
                // update still moves the model. `UpdateReport.selectionScores` is then empty.
                lfoci.slices = [fallback]
            }
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

    static func largestGradientSlice(model: Network, batch: (x: Matrix, labels: [Int]), costs: [Int], cap: Int) -> Slice? {
        let gradient = model.lossGradientSum(batch.x, labels: batch.labels)
        let slices = model.architecture.allSlices
        var best: (slice: Slice, norm: Double)?
        for (i, s) in slices.enumerated() where costs[i] <= cap {
            let norm = Vector.norm(Array(gradient[model.architecture.parameterRange(of: s)]))
            if best == nil || norm > best!.norm { best = (s, norm) }
        }
        return best?.slice
    }

    /// Runs L-FOCI over (activations, Y) with the block-size cap as the cost budget (docs/ARCHITECTURE.md, section 3.1).
    static func runLFOCI(
        statistics: PerturbationStatistics, costs: [Int], options: UnlearningOptions, maxSlices: Int, rng: inout SeededGenerator
    ) throws(UnlearningError) -> SelectedBlock {
        let configuration = LFOCI.Configuration(
            maxSelected: max(1, maxSlices),
            costCap: LFOCI.CostCap(costs: costs, budget: options.maxBlockParameters),
            noiseGate: options.selectionLevel > 0 ? LFOCI.NoiseGate(level: options.selectionLevel) : nil,
            tieBreaking: .noise(fraction: options.tieNoiseFraction),
            seed: rng.next()
        )
        do {
            let selection = try LFOCI.select(
                response: statistics.loss, candidates: CandidateMatrix(variablesAsRows: statistics.activations),
                configuration: configuration
            )
            return SelectedBlock(slices: selection.candidates.map { statistics.slices[$0] }, scores: selection.scores)
        } catch {
            throw UnlearningError(.numericalFailure, "slice selection failed: \(error)")
        }
    }
}
