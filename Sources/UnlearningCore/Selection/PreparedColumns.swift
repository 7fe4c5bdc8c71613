/// The variables of one run after tie-breaking noise, with each column's sort order: computed once per run and
/// shared by every step (the noise is drawn once, so a variable looks the same in every step).
struct PreparedColumns: Sendable {
    let m: Int
    let p: Int
    /// Column-major values with noise added (L-CODEC) or as given (exact).
    let values: [Double]
    /// `order[j*m + t]`: the sample at position t of column j sorted by increasing value.
    let order: [Int32]
    /// `sorted[j*m + t] = values[j*m + order[j*m + t]]`.
    let sorted: [Double]
    /// Inverse of `order`: `order[j*m + position[j*m + i]] == i`.
    let position: [Int32]

    /// Prepares `p` columns of `m` samples (column-major). Noise for column j comes from the stream
    /// (seed, j), so a column's noise does not depend on the other columns or on the thread that draws it.
    init(columnMajor raw: [Double], m: Int, p: Int, tieBreaking: TieBreaking, seed: UInt64, parallel: Bool) {
        self.m = m
        self.p = p
        var values = raw
        if case .noise(let fraction) = tieBreaking {
            var gaps = [Double](repeating: 0, count: p)
            raw.withUnsafeBufferPointer { src in
                gaps.withUnsafeMutableBufferPointer { out in
                    Parallel.forEach(p, parallel: parallel) { j in
                        out[j] = Self.smallestGap(UnsafeBufferPointer(rebasing: src[(j * m)..<((j + 1) * m)])) ?? 0
                    }
                }
            }
            let fallback = gaps.lazy.filter { $0 > 0 }.min() ?? 1
            values.withUnsafeMutableBufferPointer { dst in
                Parallel.forEach(p, parallel: parallel) { j in
                    let sd = fraction * (gaps[j] > 0 ? gaps[j] : fallback)
                    var rng = SeededGenerator(seed: seed, stream: UInt64(j))
                    for i in (j * m)..<((j + 1) * m) {
                        dst[i] += sd * rng.nextGaussian()
                    }
                }
            }
        }
        var order = [Int32](repeating: 0, count: m * p)
        var sorted = [Double](repeating: 0, count: m * p)
        var position = [Int32](repeating: 0, count: m * p)
        values.withUnsafeBufferPointer { v in
            order.withUnsafeMutableBufferPointer { o in
                sorted.withUnsafeMutableBufferPointer { s in
                    position.withUnsafeMutableBufferPointer { pos in
                        Parallel.forEach(p, parallel: parallel) { j in
                            let base = j * m
                            let column = UnsafeBufferPointer(rebasing: v[base..<(base + m)])
                            var colOrder = UnsafeMutableBufferPointer(rebasing: o[base..<(base + m)])
                            for i in 0..<m { colOrder[i] = Int32(i) }
                            // Ties (exact mode) keep index order: deterministic.
                            colOrder.sort { a, b in
                                let va = column[Int(a)]
                                let vb = column[Int(b)]
                                return va < vb || (va == vb && a < b)
                            }
                            for t in 0..<m {
                                let i = Int(colOrder[t])
                                s[base + t] = column[i]
                                pos[base + i] = Int32(t)
                            }
                        }
                    }
                }
            }
        }
        self.values = values
        self.order = order
        self.sorted = sorted
        self.position = position
    }

    /// The smallest positive difference between two values of `column`, or nil if it is constant.
    static func smallestGap(_ column: UnsafeBufferPointer<Double>) -> Double? {
        let sorted = column.sorted()
        var gap = Double.infinity
        for t in 1..<max(sorted.count, 1) {
            let d = sorted[t] - sorted[t - 1]
            if d > 0 && d < gap { gap = d }
        }
        return gap.isFinite ? gap : nil
    }
}
