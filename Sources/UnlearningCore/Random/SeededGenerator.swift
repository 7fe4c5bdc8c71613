import Foundation

/// A small, fast, deterministic pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// Everything random in the numerics (training order, perturbations, tie-breaking noise, subsamples) takes one
/// of these so that a run is reproducible from its seed. Not cryptographic: the privacy noise takes its bits from
/// the kernel CSPRNG (`KernelRandom`) unless a test fixes `UnlearningOptions.noiseSeed`.
/// Reference: D. Blackman, S. Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 2021.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64
    /// Second Gaussian of the last Box-Muller pair, if unused.
    private var spareGaussian: Double?

    public init(seed: UInt64) {
        var seeder = SplitMix64(state: seed)
        s0 = seeder.next()
        s1 = seeder.next()
        s2 = seeder.next()
        s3 = seeder.next()
    }

    /// A generator whose stream is independent of `self`'s for practical purposes (seeded from it).
    public mutating func split() -> SeededGenerator {
        SeededGenerator(seed: next())
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Standard normal N(0, 1) by the polar Box-Muller method.
    public mutating func nextGaussian() -> Double {
        if let spare = spareGaussian {
            spareGaussian = nil
            return spare
        }
        while true {
            let u = 2 * nextUniform() - 1
            let v = 2 * nextUniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let factor = (-2 * log(s) / s).squareRoot()
                spareGaussian = v * factor
                return u * factor
            }
        }
    }

    /// Fills `buffer` with i.i.d. N(0, sd^2) draws.
    public mutating func fillGaussian(_ buffer: inout [Double], sd: Double = 1) {
        for i in buffer.indices {
            buffer[i] = sd * nextGaussian()
        }
    }
}
