import UnlearningCore

extension SplitMix64 {
    /// `count` bytes, one per draw (the low byte).
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }

    /// Uniform in [-scale, scale).
    mutating func double(_ scale: Double = 1) -> Double {
        (Double(next() >> 11) / Double(1 << 53) * 2 - 1) * scale
    }
}
