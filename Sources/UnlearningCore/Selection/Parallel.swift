import Dispatch

/// Runs independent iterations on all cores (or serially), for the per-candidate and per-sample loops.
enum Parallel {
    /// Calls `body(k)` for every `k` in `0..<count`, spread over the machine's cores when `parallel` is true.
    ///
    /// `body` must only write state owned by iteration `k` (its slot of an output buffer) and only read shared
    /// state; that is why it may capture raw pointers, which the compiler cannot prove safe to share.
    static func forEach(_ count: Int, parallel: Bool, _ body: (Int) -> Void) {
        if parallel && count > 1 {
            withoutActuallyEscaping(body) { body in
                let shared = UncheckedSendable(body)
                DispatchQueue.concurrentPerform(iterations: count) { shared.value($0) }
            }
        } else {
            for k in 0..<count { body(k) }
        }
    }

    private struct UncheckedSendable<Value>: @unchecked Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }
}
