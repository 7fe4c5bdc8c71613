/// Gaussian release noise that leaks nothing through floating point: the discrete Gaussian of Canonne, Kamath,
/// Steinke 2020 ("The discrete Gaussian for differential privacy", NeurIPS; arXiv:2004.00010) on a fine lattice,
/// sampled exactly from random bits.
///
/// Why: textbook samplers (Box-Muller, inverse CDF on a double) produce noise whose representable values are
/// unevenly spaced, so the set of doubles that x + noise can take depends on x, and the low bits of a release can
/// identify the unnoised value (Mironov 2012, "On significance of the least significant bits for differential
/// privacy", CCS, Section 3; his fix for Laplace is the snapping mechanism of Section 5).
///
/// What this does, for noise parameter sigma:
/// - the lattice spacing is gamma = 2^(floor(log2 sigma) - 24), a power of two that depends on sigma alone;
/// - the input x is rounded to the nearest multiple of gamma (ties to even): x~ = round(x / gamma) gamma, exact in
///   binary floating point because gamma is a power of two;
/// - an integer Y ~ N_Z(0, t^2) is drawn from the discrete Gaussian with t = ceil(sigma / gamma) in [2^24, 2^25],
///   exactly: Algorithms 1-3 of Canonne-Kamath-Steinke (Bernoulli(exp(-x)) for rational x, discrete Laplace, then
///   rejection), in 128-bit integer arithmetic, consuming only uniform random integers. No floating point is used
///   in the sampling;
/// - the output is fl(x~ + Y gamma): Y gamma is exact (|Y| < 2^38), and IEEE-754 addition rounds the exact lattice
///   sum once, so the returned double is a deterministic function of the exact lattice point x~ + Y gamma.
///
/// Guarantee: the output depends on x only through x~; its distribution is that of x~ + gamma N_Z(0, t^2) followed
/// by a fixed rounding (post-processing), with t gamma >= sigma. When |x~ + Y gamma| < 2^53 gamma (every parameter
/// smaller than ~2^28 sigma) the output is that lattice point exactly, so it lies on the grid gamma Z. By
/// Canonne-Kamath-Steinke Theorem 14 (the multivariate discrete Gaussian; its correction terms
/// tau = 10 sum_k exp(-2 pi^2 t^2 k/(k+1)) vanish at t >= 2^24), d coordinates released this way with
/// ||x - x'||_2 <= Delta satisfy the RDP of the continuous Gaussian with sensitivity Delta + gamma sqrt(d), the
/// bound on ||x~ - x~'||_2 (`sensitivityBound`): that is what the accountant must be given.
///
/// Exactness caveat: a candidate |Y| >= 2^38 (more than 8191 t from 0, probability below exp(-8191) under the
/// discrete Laplace proposal) is rejected rather than computed, which moves the distribution by less than that in
/// total variation.
///
/// The bits come from the generator passed in: `KernelRandom` for releases, a `SeededGenerator` in tests (the same
/// sampler, deterministic).
public struct SecureGaussian: Sendable, Equatable {
    /// log2 of sigma / gamma, rounded down: the lattice is 2^24 points per sigma.
    public static let latticeBits = 24

    /// The noise parameter asked for.
    public let sigma: Double
    /// gamma: the lattice spacing, a power of two.
    public let spacing: Double
    /// t = ceil(sigma / gamma): the integer noise is N_Z(0, t^2).
    public let scale: UInt64

    /// `sigma` must be finite and at least 2^-900 (so that the lattice spacing is a normal double and x / gamma
    /// cannot overflow for |x| < 2^100).
    public init(sigma: Double) {
        precondition(sigma.isFinite && sigma >= 0x1p-900, "SecureGaussian needs a finite sigma >= 2^-900, got \(sigma)")
        self.sigma = sigma
        spacing = Double(sign: .plus, exponent: sigma.exponent - Self.latticeBits, significand: 1)
        scale = UInt64((sigma / spacing).rounded(.up))
    }

    /// The noise's standard deviation parameter on the real line, t gamma (>= sigma, by less than 2^-24 relative).
    public var effectiveSigma: Double { Double(scale) * spacing }

    /// The L2 sensitivity to account for `dimension` coordinates with sensitivity `sensitivity`: rounding to the
    /// lattice moves each coordinate by at most gamma/2, so ||x~ - x~'|| <= Delta + gamma sqrt(d).
    public func sensitivityBound(_ sensitivity: Double, dimension: Int) -> Double {
        sensitivity + spacing * Double(dimension).squareRoot()
    }

    /// x rounded to the nearest multiple of gamma (ties to even); exact, because gamma is a power of two.
    public func snap(_ x: Double) -> Double {
        (x / spacing).rounded(.toNearestOrEven) * spacing
    }

    /// x~ + gamma Y with Y ~ N_Z(0, t^2).
    public func noised(_ x: Double, using generator: inout some RandomNumberGenerator) -> Double {
        precondition(x.isFinite && abs(x) < 0x1p100, "cannot release a non-finite or huge value \(x)")
        return snap(x) + Double(sampleInteger(using: &generator)) * spacing
    }

    /// Adds the noise to every element of `values[range]`.
    public func addNoise(to values: inout [Double], in range: Range<Int>, using generator: inout some RandomNumberGenerator) {
        for i in range { values[i] = noised(values[i], using: &generator) }
    }

    // MARK: - Exact sampling (Canonne, Kamath, Steinke 2020, Section 5)

    /// Candidates at or beyond this magnitude are rejected (see the type's exactness caveat); it keeps every
    /// intermediate below 2^128.
    static let magnitudeCap: UInt64 = 1 << 38

    /// Y ~ N_Z(0, t^2) by Algorithm 3: Y from the discrete Laplace with scale t + 1, accepted with probability
    /// exp(-(|Y| - t^2/(t+1))^2 / (2 t^2)) = exp(-u^2 / (2 t^2 (t+1)^2)) with u = |Y| (t+1) - t^2.
    public func sampleInteger(using generator: inout some RandomNumberGenerator) -> Int64 {
        let t = UInt128(scale)
        let laplaceScale = scale + 1
        let denominator = 2 * t * t * (t + 1) * (t + 1)
        while true {
            let (magnitude, negative) = Self.discreteLaplace(scale: laplaceScale, using: &generator)
            guard magnitude < Self.magnitudeCap else { continue }
            let a = UInt128(magnitude) * (t + 1)
            let b = t * t
            let u = a >= b ? a - b : b - a
            if Self.bernoulliExpMinus(u * u, denominator, using: &generator) {
                return negative ? -Int64(magnitude) : Int64(magnitude)
            }
        }
    }

    /// (|Z|, Z < 0) for Z from the discrete Laplace P(z) proportional to exp(-|z|/s), by Algorithm 2 with rate 1/s.
    static func discreteLaplace(scale s: UInt64, using generator: inout some RandomNumberGenerator) -> (UInt64, Bool) {
        while true {
            let u = uniform(below: UInt128(s), using: &generator)
            guard bernoulliExpMinus(u, UInt128(s), using: &generator) else { continue }
            var v: UInt64 = 0
            while bernoulliExpMinus(1, 1, using: &generator) { v += 1 }
            let (tv, overflow) = s.multipliedReportingOverflow(by: v)
            guard !overflow, tv < magnitudeCap else { return (magnitudeCap, false) }
            let magnitude = UInt64(u) + tv
            let negative = generator.next() & 1 == 1
            if negative && magnitude == 0 { continue }
            return (magnitude, negative)
        }
    }

    /// Bernoulli(exp(-n/d)) exactly (Algorithm 1): exp(-1) floor(n/d) times, then exp(-(n/d - floor(n/d))), the last
    /// as the parity of the first K with Bernoulli(gamma/K) = 0.
    static func bernoulliExpMinus(_ n: UInt128, _ d: UInt128, using generator: inout some RandomNumberGenerator) -> Bool {
        precondition(d > 0)
        var n = n
        while n > d {
            guard bernoulliExpMinusAtMostOne(1, 1, using: &generator) else { return false }
            n -= d
        }
        return bernoulliExpMinusAtMostOne(n, d, using: &generator)
    }

    private static func bernoulliExpMinusAtMostOne(_ n: UInt128, _ d: UInt128, using generator: inout some RandomNumberGenerator) -> Bool {
        var k: UInt128 = 1
        // Overflow of d * k traps; it needs k > 2^26, i.e. probability below 1/(2^26)!.
        while uniform(below: d * k, using: &generator) < n { k += 1 }
        return k % 2 == 1
    }

    /// Uniform on 0 ..< bound by rejection from whole random words (no modulo bias).
    static func uniform(below bound: UInt128, using generator: inout some RandomNumberGenerator) -> UInt128 {
        precondition(bound > 0)
        if bound == 1 { return 0 }
        let bits = 128 - (bound - 1).leadingZeroBitCount
        let mask: UInt128 = bits == 128 ? ~0 : (1 << bits) - 1
        while true {
            var word = UInt128(generator.next())
            if bits > 64 { word |= UInt128(generator.next()) << 64 }
            word &= mask
            if word < bound { return word }
        }
    }
}
