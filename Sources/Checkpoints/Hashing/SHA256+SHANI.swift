#if CHECKPOINTS_SHA_NI
    import _Builtin_intrinsics.intel

    /// SHA-256 block compression with the x86 SHA extensions (SHA-NI), following Intel's reference sequence
    /// ("Intel SHA Extensions", 2013, and the public-domain sha256-x86 code). Compiled only with `-Xcc -msha`
    /// (Package.swift); called only when the CPU reports `sha_ni` (see ``SHA256/Implementation/preferred``).
    ///
    /// The state lives in two vectors in the order the instructions want: lanes (F, E, B, A) and (H, G, D, C).
    /// Shuffles are written as SIMD4 element permutations (the C macros `_mm_shuffle_epi32` / `_mm_alignr_epi8`
    /// are not importable); LLVM lowers them to pshufd/palignr-equivalent SSE2 code.
    extension SHA256 {
        typealias Lanes = SIMD4<UInt32>

        @inline(__always) private static func vector(_ lanes: Lanes) -> __m128i { unsafeBitCast(lanes, to: __m128i.self) }
        @inline(__always) private static func lanes(_ vector: __m128i) -> Lanes { unsafeBitCast(vector, to: Lanes.self) }

        static func compressSHANI(
            _ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32),
            _ input: UnsafeRawPointer, blocks: Int, k: UnsafePointer<UInt32>
        ) {
            var abef = Lanes(state.5, state.4, state.1, state.0)
            var cdgh = Lanes(state.7, state.6, state.3, state.2)
            for block in 0..<blocks {
                let base = input + block * 64
                let savedABEF = abef
                let savedCDGH = cdgh
                @inline(__always) func load(_ i: Int) -> Lanes {
                    Lanes(
                        UInt32(bigEndian: base.loadUnaligned(fromByteOffset: i * 16, as: UInt32.self)),
                        UInt32(bigEndian: base.loadUnaligned(fromByteOffset: i * 16 + 4, as: UInt32.self)),
                        UInt32(bigEndian: base.loadUnaligned(fromByteOffset: i * 16 + 8, as: UInt32.self)),
                        UInt32(bigEndian: base.loadUnaligned(fromByteOffset: i * 16 + 12, as: UInt32.self)))
                }
                // Message words of four consecutive groups of four rounds, used as a ring.
                var w = (load(0), load(1), load(2), load(3))
                @inline(__always) func get(_ i: Int) -> Lanes {
                    switch i & 3 {
                    case 0: w.0
                    case 1: w.1
                    case 2: w.2
                    default: w.3
                    }
                }
                @inline(__always) func set(_ i: Int, _ x: Lanes) {
                    switch i & 3 {
                    case 0: w.0 = x
                    case 1: w.1 = x
                    case 2: w.2 = x
                    default: w.3 = x
                    }
                }
                for group in 0..<16 {
                    let current = get(group)
                    let key = Lanes(k[4 * group], k[4 * group + 1], k[4 * group + 2], k[4 * group + 3])
                    let message = current &+ key
                    cdgh = lanes(_mm_sha256rnds2_epu32(vector(cdgh), vector(abef), vector(message)))
                    if group >= 3 && group <= 14 {
                        // W[t..t+3] for the next group: msg2(next + (W[t-7..t-4] = alignr(current, previous, 4)), current).
                        let previous = get(group + 3)
                        let shifted = Lanes(previous[1], previous[2], previous[3], current[0])
                        set(group + 1, lanes(_mm_sha256msg2_epu32(vector(get(group + 1) &+ shifted), vector(current))))
                    }
                    let upper = Lanes(message[2], message[3], message[0], message[0])
                    abef = lanes(_mm_sha256rnds2_epu32(vector(abef), vector(cdgh), vector(upper)))
                    if group >= 1 && group <= 12 {
                        set(group + 3, lanes(_mm_sha256msg1_epu32(vector(get(group + 3)), vector(current))))
                    }
                }
                abef = abef &+ savedABEF
                cdgh = cdgh &+ savedCDGH
            }
            state = (abef[3], abef[2], cdgh[3], cdgh[2], abef[1], abef[0], cdgh[1], cdgh[0])
        }
    }
#endif
