extension Network {
    /// (G/n) v: the mean generalised Gauss-Newton matrix over the rows of `x` times `v`, restricted to `slices`
    /// when given (then `v` and the result are concatenated over the slices in order). One-off convenience over
    /// `GaussNewtonOperator`, which reuses its forward pass across products; no lambda term.
    public func gaussNewtonVectorProduct(_ x: Matrix, _ v: [Double], slices: [Slice]? = nil) -> [Double] {
        GaussNewtonOperator(model: self, rows: x, slices: slices).apply(v)
    }
}
