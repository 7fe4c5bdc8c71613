/// Step 1 of the update (docs/ARCHITECTURE.md, section 3.1): how the batch's loss and every unit's mean pre-activation move
/// together when the batch inputs are perturbed. A conv filter's activation is its output averaged over the batch
/// rows and over positions, as in the paper's code (its forward hooks average each filter's map). L-FOCI then picks the units (slices) whose activations carry
/// the most information about the loss.
struct PerturbationStatistics {
    /// Y: mean loss over the (sub)batch for each perturbed copy (m_pert values).
    var loss: [Double]
    /// One row per slice (in `slices` order), one column per perturbed copy: the slice's mean pre-activation.
    var activations: Matrix
    var slices: [Slice]

    static func sample(
        model: Network, batch: Matrix, labels: [Int], options: UnlearningOptions, rng: inout SeededGenerator
    ) -> PerturbationStatistics {
        let arch = model.architecture
        var rows = Array(0..<batch.rows)
        if rows.count > options.perturbationRows {
            rows.shuffle(using: &rng)
            rows = Array(rows.prefix(options.perturbationRows)).sorted()
        }
        let base = batch.selectingRows(rows)
        let baseLabels = rows.map { labels[$0] }
        let m = base.rows
        let d = base.cols
        let copies = options.perturbations
        let slices = arch.allSlices
        var loss = [Double](repeating: 0, count: copies)
        var activations = Matrix(rows: slices.count, cols: copies)
        let perChunk = max(1, min((1 << 20) / max(1, m * d), model.rowsPerChunk / max(1, m)))
        var noise = [Double](repeating: 0, count: perChunk * m * d)
        var start = 0
        while start < copies {
            let count = min(perChunk, copies - start)
            var x = Matrix(rows: count * m, cols: d)
            rng.fillGaussian(&noise, sd: options.inputNoiseSD)
            for q in 0..<count {
                for r in 0..<m {
                    for j in 0..<d {
                        x[q * m + r, j] = base[r, j] + noise[(q * m + r) * d + j]
                    }
                }
            }
            let pass = model.forward(x)
            let rowLoss = Network.perRowLoss(logits: pass.logits, labels: (0..<(count * m)).map { baseLabels[$0 % m] })
            let scale = 1 / Double(m)
            for q in 0..<count {
                var s = 0.0
                for r in 0..<m { s += rowLoss[q * m + r] }
                loss[start + q] = s * scale
            }
            var sliceIndex = 0
            for (l, layer) in arch.parametricLayers.enumerated() {
                let z = pass.layerOutputs[l]
                // Rows of z: copy q, batch row r, position p (one position for a dense layer).
                let positions = z.rows / (count * m)
                let rowScale = scale / Double(positions)
                for u in 0..<layer.units {
                    for q in 0..<count {
                        var s = 0.0
                        for r in (q * m * positions)..<((q + 1) * m * positions) { s += z[r, u] }
                        activations[sliceIndex, start + q] = s * rowScale
                    }
                    sliceIndex += 1
                }
            }
            start += count
        }
        return PerturbationStatistics(loss: loss, activations: activations, slices: slices)
    }
}
