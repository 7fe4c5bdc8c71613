/// The selected variables X of one conditional step, prepared once and shared by every candidate: their
/// coordinates per sample, each sample's nearest neighbour N(i) in X, `S_N = sum_i min(R_i, R_N(i))`, and (for
/// the pruned search) each sample's `listLength` nearest samples in X sorted by squared distance.
struct ConditioningSet: Sendable {
    let m: Int
    let d: Int
    /// Row-major m x d: sample i's selected coordinates at `rows[i*d ..< (i+1)*d]`.
    let rows: [Double]
    let nearest: [Int32]
    let listLength: Int
    /// `listIndex[i*listLength + t]`: sample i's (t+1)-th nearest sample in X (ties by lower index).
    let listIndex: [Int32]
    /// Its squared distance; non-decreasing in t.
    let listDistance: [Double]

    /// Pointers for the kernels, valid inside `withView`.
    struct View {
        let d: Int
        let rows: UnsafePointer<Double>
        let listLength: Int
        let listIndex: UnsafePointer<Int32>
        let listDistance: UnsafePointer<Double>
    }

    /// The empty set, for brute-force unconditional steps (every distance is then the candidate's alone).
    init(emptyWithSamples m: Int) {
        self.m = m
        self.d = 0
        self.rows = [0]
        self.nearest = []
        self.listLength = 0
        self.listIndex = [0]
        self.listDistance = [0]
    }

    /// Gathers `selected` columns of `columns` and finds, for every sample, its nearest neighbour in X
    /// (uniform among exact ties when `tieRNGSeed` is given, else lowest index) and, if `listLength > 0`, its
    /// `listLength` nearest samples. O(m^2 d) once per step, spread over the cores.
    init(
        columns: PreparedColumns, selected: [Int], listLength requested: Int, tieRNGSeed: UInt64?, parallel: Bool
    ) {
        let m = columns.m
        let d = selected.count
        precondition(d > 0, "a conditioning set needs at least one variable")
        var rows = [Double](repeating: 0, count: m * d)
        for (c, j) in selected.enumerated() {
            for i in 0..<m { rows[i * d + c] = columns.values[j * m + i] }
        }
        let listLength = min(requested, m - 1)
        var nearest = [Int32](repeating: 0, count: m)
        var listIndex = [Int32](repeating: 0, count: max(m * listLength, 1))
        var listDistance = [Double](repeating: 0, count: max(m * listLength, 1))
        // Column-major copy for the distance rows: the loop over k then vectorises, and each squared distance is
        // still summed over c in increasing order from 0, bit-identical to the kernels' sums.
        var xColumns = [Double](repeating: 0, count: m * d)
        for (c, j) in selected.enumerated() {
            for i in 0..<m { xColumns[c * m + i] = columns.values[j * m + i] }
        }
        let chunks = parallel ? 16 : 1
        xColumns.withUnsafeBufferPointer { xc in
            nearest.withUnsafeMutableBufferPointer { nearestOut in
                listIndex.withUnsafeMutableBufferPointer { indexOut in
                    listDistance.withUnsafeMutableBufferPointer { distanceOut in
                        Parallel.forEach(chunks, parallel: parallel) { chunk in
                            let distances = UnsafeMutablePointer<Double>.allocate(capacity: m)
                            defer { distances.deallocate() }
                            var i = chunk
                            while i < m {
                                distances.initialize(repeating: 0, count: m)
                                for c in 0..<d {
                                    let column = xc.baseAddress! + c * m
                                    let v = column[i]
                                    for k in 0..<m {
                                        let t = v - column[k]
                                        distances[k] += t * t
                                    }
                                }
                                distances[i] = .infinity
                                var rng = tieRNGSeed.map { SeededGenerator(seed: $0, stream: UInt64(i)) }
                                nearestOut[i] = Self.nearest(distances, m, rng: &rng)
                                if listLength > 0 {
                                    Self.smallest(
                                        distances, m, count: listLength,
                                        index: indexOut.baseAddress! + i * listLength,
                                        distance: distanceOut.baseAddress! + i * listLength
                                    )
                                }
                                i += chunks
                            }
                        }
                    }
                }
            }
        }
        self.m = m
        self.d = d
        self.rows = rows
        self.nearest = nearest
        self.listLength = listLength
        self.listIndex = listIndex
        self.listDistance = listDistance
    }

    func withView<T>(_ body: (View) -> T) -> T {
        rows.withUnsafeBufferPointer { x in
            listIndex.withUnsafeBufferPointer { li in
                listDistance.withUnsafeBufferPointer { ld in
                    body(
                        View(
                            d: d, rows: x.baseAddress!, listLength: listLength,
                            listIndex: li.baseAddress!, listDistance: ld.baseAddress!
                        ))
                }
            }
        }
    }

    /// Index of the smallest distance; exact ties drawn uniformly when `rng` is given, else the lowest index.
    private static func nearest(_ distances: UnsafeMutablePointer<Double>, _ m: Int, rng: inout SeededGenerator?) -> Int32 {
        var best = Double.infinity
        var bestK = 0
        var ties: UInt64 = 0
        for k in 0..<m {
            let d2 = distances[k]
            if d2 < best {
                best = d2
                bestK = k
                ties = 1
            } else if d2 == best, rng != nil {
                ties += 1
                if rng!.next(upperBound: ties) == 0 { bestK = k }
            }
        }
        return Int32(bestK)
    }

    /// The `count` smallest distances in increasing order (equal ones by increasing index), by insertion into a
    /// sorted buffer (binary search, then one block move): O(m + insertions * log count), and only about
    /// count * (1 + ln(m / count)) of the m distances are inserted when they arrive in random order.
    private static func smallest(
        _ distances: UnsafeMutablePointer<Double>, _ m: Int, count: Int,
        index: UnsafeMutablePointer<Int32>, distance: UnsafeMutablePointer<Double>
    ) {
        var filled = 0
        for k in 0..<m {
            let d2 = distances[k]
            if d2 == .infinity { continue }
            if filled == count && d2 >= distance[count - 1] { continue }
            // First position whose distance exceeds d2: equal distances keep their (increasing) index order.
            var low = 0
            var high = filled
            while low < high {
                let mid = (low + high) >> 1
                if distance[mid] > d2 { high = mid } else { low = mid + 1 }
            }
            let moving = (filled < count ? filled : count - 1) - low
            if moving > 0 {
                (distance + low + 1).update(from: distance + low, count: moving)
                (index + low + 1).update(from: index + low, count: moving)
            }
            distance[low] = d2
            index[low] = Int32(k)
            if filled < count { filled += 1 }
        }
    }
}
