/// Max and average pooling over channels-last rows (see `ConvGeometry`), without padding; windows that would reach
/// past the input are dropped (PyTorch's `ceil_mode=False`).
struct PoolGeometry: Sendable, Equatable {
    var channels: Int
    var height: Int
    var width: Int
    var kernel: Int
    var stride: Int

    var outHeight: Int { (height - kernel) / stride + 1 }
    var outWidth: Int { (width - kernel) / stride + 1 }

    /// Max over each window; `argmax` receives, per output entry, the input entry's index (first maximum on ties,
    /// as PyTorch's CPU kernel picks it). The derivative is taken through that entry.
    func maxPool(_ x: UnsafePointer<Double>, samples: Int, into out: UnsafeMutablePointer<Double>, argmax: UnsafeMutablePointer<Int32>) {
        let (c, h, w, oh, ow) = (channels, height, width, outHeight, outWidth)
        for i in 0..<samples {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let o = ((i * oh + oy) * ow + ox) * c
                    for ch in 0..<c { out[o + ch] = -Double.infinity }
                    // Window positions in row-major order, channels innermost (contiguous); a strict > keeps the
                    // first maximum.
                    for ky in 0..<kernel {
                        for kx in 0..<kernel {
                            let base = ((i * h + oy * stride + ky) * w + ox * stride + kx) * c
                            for ch in 0..<c {
                                let value = x[base + ch]
                                if value > out[o + ch] || (ky == 0 && kx == 0) {
                                    out[o + ch] = value
                                    argmax[o + ch] = Int32(base + ch)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Mean over each window (a linear map: also its own forward-mode derivative).
    func avgPool(_ x: UnsafePointer<Double>, samples: Int, into out: UnsafeMutablePointer<Double>) {
        let (c, h, w, oh, ow) = (channels, height, width, outHeight, outWidth)
        let scale = 1 / Double(kernel * kernel)
        for i in 0..<samples {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let o = out + ((i * oh + oy) * ow + ox) * c
                    for ch in 0..<c { o[ch] = 0 }
                    for ky in 0..<kernel {
                        for kx in 0..<kernel {
                            let src = x + ((i * h + oy * stride + ky) * w + ox * stride + kx) * c
                            for ch in 0..<c { o[ch] += src[ch] }
                        }
                    }
                    for ch in 0..<c { o[ch] *= scale }
                }
            }
        }
    }

    /// The adjoint of `avgPool`: each output's gradient spread evenly over its window.
    func avgPoolBackward(_ dOut: UnsafePointer<Double>, samples: Int, into dx: UnsafeMutablePointer<Double>) {
        let (c, h, w, oh, ow) = (channels, height, width, outHeight, outWidth)
        let scale = 1 / Double(kernel * kernel)
        dx.update(repeating: 0, count: samples * h * w * c)
        for i in 0..<samples {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let g = dOut + ((i * oh + oy) * ow + ox) * c
                    for ky in 0..<kernel {
                        for kx in 0..<kernel {
                            let dst = dx + ((i * h + oy * stride + ky) * w + ox * stride + kx) * c
                            for ch in 0..<c { dst[ch] += g[ch] * scale }
                        }
                    }
                }
            }
        }
    }
}
