/// SplitMix64: a 64-bit state advanced by a Weyl sequence and passed through a mixing finaliser.
///
/// Statistically good enough to seed other generators (xoshiro256** in `SeededGenerator`, whose authors
/// recommend it for that) and to make deterministic test and benchmark data; not for the numerics' own streams,
/// which take `SeededGenerator`. Reference: G. Steele, D. Lea, C. Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014; the constants are those of Vigna's reference implementation.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The finaliser alone: a bijection on 64-bit words whose outputs for nearby inputs look unrelated.
    @inline(__always)
    public static func mix(_ word: UInt64) -> UInt64 {
        var z = word
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
