import Foundation

extension Network {
    /// Sum over the rows of `x` of J_i^T c_i, the parameter gradient of any loss whose derivative with respect to row
    /// i's logits is c_i. `cotangent` receives each chunk's forward pass and the chunk's rows (a range of `x`) and
    /// returns the chunk's c (rows x classes).
    func cotangentGradientSum(_ x: Matrix, _ cotangent: (ForwardPass, Range<Int>) -> Matrix) -> [Double] {
        var grad = [Double](repeating: 0, count: theta.count)
        forEachChunk(x) { chunk, range in
            let pass = forward(chunk)
            backpropagate(cotangent(pass, range), forward: pass, downTo: 0, into: &grad)
        }
        return grad
    }

    /// The distillation loss of each row, T^2 KL(softmax(teacher / T) || softmax(student / T)), and its derivative
    /// with respect to the student's logits, T (softmax(student / T) - softmax(teacher / T)). The T^2 factor keeps
    /// the gradient's scale independent of T (Hinton, Vinyals, Dean, "Distilling the Knowledge in a Neural
    /// Network", 2015, section 2); SCRUB's KL term is this loss (Kurmanji et al., NeurIPS 2023, section 3).
    public static func distillation(student: Matrix, teacher: Matrix, temperature t: Double) -> (losses: [Double], cotangent: Matrix) {
        precondition(student.rows == teacher.rows && student.cols == teacher.cols, "student and teacher logits differ in shape")
        precondition(t > 0 && t.isFinite, "temperature \(t)")
        let k = student.cols
        var cotangent = Matrix(rows: student.rows, cols: k)
        var losses = [Double](repeating: 0, count: student.rows)
        var ps = [Double](repeating: 0, count: k)
        var pt = ps
        for i in 0..<student.rows {
            // log-softmax of z / T, shifted by the row maximum.
            func logSoftmax(_ z: Matrix, into out: inout [Double]) {
                var m = -Double.infinity
                for j in 0..<k { m = max(m, z[i, j] / t) }
                var s = 0.0
                for j in 0..<k { s += exp(z[i, j] / t - m) }
                let logZ = m + log(s)
                for j in 0..<k { out[j] = z[i, j] / t - logZ }
            }
            logSoftmax(student, into: &ps)
            logSoftmax(teacher, into: &pt)
            var kl = 0.0
            for j in 0..<k {
                let p = exp(pt[j])
                if p > 0 { kl += p * (pt[j] - ps[j]) }
                cotangent[i, j] = t * (exp(ps[j]) - p)
            }
            losses[i] = t * t * kl
        }
        return (losses, cotangent)
    }
}
