import UnlearnDaemon

/// StrictJSON + DeletionRequestDecoder. Property: a decoded request re-encodes (`DeletionRequest.encoded()`, the form
/// unlearnctl publishes) to bytes the decoder accepts with the same fields.
enum DeletionRequestTarget {
    static func run(_ bytes: [UInt8]) {
        guard let request = Explain.attempt("request", { try DeletionRequestDecoder.decode(bytes).get() }) else { return }
        let encoded = request.encoded()
        switch DeletionRequestDecoder.decode(encoded) {
        case .success(let again):
            guard again == request else { fatalError("re-encoded request decodes to other fields: \(request) vs \(again)") }
        case .failure(let reason):
            fatalError("re-encoded request (\(encoded.count) bytes) is rejected: \(reason)")
        }
    }
}
