/// The index arithmetic of a 2-D convolution over channels-last rows: an image batch is a matrix with one row per
/// (sample, y, x) position and one column per channel. im2col gathers each output position's receptive field into
/// one row, ordered (channel, ky, kx) like PyTorch's `weight[o]` (`[out, in, k, k]`), so the convolution is the
/// dense product of `WeightProducts` (Chellapilla, Puri, Simard 2006, "High performance convolutional neural
/// networks for document processing"). Zero padding: positions outside the image read 0.
struct ConvGeometry: Sendable, Equatable {
    var channels: Int
    var height: Int
    var width: Int
    var kernel: Int
    var stride: Int
    var padding: Int

    var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    var inPositions: Int { height * width }
    var outPositions: Int { outHeight * outWidth }
    /// Columns of a patch row: channels * kernel^2.
    var patch: Int { channels * kernel * kernel }

    /// Patches of `samples` images: (samples * outPositions) x patch. Each patch row is written in order, k values
    /// at a time (one kernel row of one channel), reading the channels-last input with stride `channels`.
    func im2col(_ x: UnsafePointer<Double>, samples: Int, into cols: UnsafeMutablePointer<Double>) {
        let (c, k, h, w, oh, ow) = (channels, kernel, height, width, outHeight, outWidth)
        var d = cols
        for i in 0..<samples {
            let image = x + i * h * w * c
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let x0 = ox * stride - padding
                    let inside = x0 >= 0 && x0 + k <= w
                    for ch in 0..<c {
                        for ky in 0..<k {
                            let y = oy * stride + ky - padding
                            if y < 0 || y >= h {
                                d.update(repeating: 0, count: k)
                            } else {
                                let source = image + (y * w) * c + ch
                                if inside {
                                    for kx in 0..<k { d[kx] = source[(x0 + kx) * c] }
                                } else {
                                    for kx in 0..<k {
                                        let xx = x0 + kx
                                        d[kx] = xx >= 0 && xx < w ? source[xx * c] : 0
                                    }
                                }
                            }
                            d += k
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds each patch entry back onto the position it was read from.
    func col2im(_ cols: UnsafePointer<Double>, samples: Int, into x: UnsafeMutablePointer<Double>) {
        let (c, k, h, w, oh, ow) = (channels, kernel, height, width, outHeight, outWidth)
        x.update(repeating: 0, count: samples * h * w * c)
        for i in 0..<samples {
            let image = x + i * h * w * c
            for oy in 0..<oh {
                for ox in 0..<ow {
                    let row = cols + ((i * oh + oy) * ow + ox) * patch
                    for ky in 0..<k {
                        let y = oy * stride + ky - padding
                        if y < 0 || y >= h { continue }
                        for kx in 0..<k {
                            let xx = ox * stride + kx - padding
                            if xx < 0 || xx >= w { continue }
                            let src = row + ky * k + kx
                            let dst = image + (y * w + xx) * c
                            for ch in 0..<c { dst[ch] += src[ch * k * k] }
                        }
                    }
                }
            }
        }
    }
}
