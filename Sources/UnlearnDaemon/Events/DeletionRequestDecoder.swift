import Foundation

/// Decodes and validates the bytes of a deletion event (the checks that need no model: docs/ARCHITECTURE.md, section 2.3).
public enum DeletionRequestDecoder {
    /// `[a-z0-9][a-z0-9._-]{0,63}`, checked byte by byte (a regular expression's `$` also matches before a final
    /// newline, so `"digits\n"` would pass one).
    public static func isValidModelID(_ id: String) -> Bool {
        let b = Array(id.utf8)
        func lowerOrDigit(_ c: UInt8) -> Bool { (0x61...0x7A).contains(c) || (0x30...0x39).contains(c) }
        guard let first = b.first, b.count <= 64, lowerOrDigit(first) else { return false }
        return b.dropFirst().allSatisfy { lowerOrDigit($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    public static func decode(_ bytes: [UInt8]?) -> Result<DeletionRequest, RejectionReason> {
        Result { () throws(RejectionReason) in try decodeOrThrow(bytes) }
    }

    /// Messages name fields and counts, never a value taken from the event (they reach logs and dead-letter headers).
    static func decodeOrThrow(_ bytes: [UInt8]?) throws(RejectionReason) -> DeletionRequest {
        guard let bytes, !bytes.isEmpty else {
            throw RejectionReason(RejectionReason.notJSON, "the message has no value; publish a JSON deletion request")
        }
        guard bytes.count <= DeletionRequest.maxBytes else {
            throw RejectionReason(
                RejectionReason.tooLarge,
                "the value is \(bytes.count) bytes; deletion requests are limited to 64 KiB (split sample lists into several requests)")
        }
        let value: StrictJSON
        do {
            value = try StrictJSON.parse(bytes)
        } catch {
            switch error.kind {
            case .encoding: throw RejectionReason(RejectionReason.notUTF8, error.message)
            case .duplicateKey: throw RejectionReason(RejectionReason.duplicateKey, error.message)
            case .syntax:
                throw RejectionReason(
                    RejectionReason.notJSON, error.message + "; publish a JSON object as documented in Config/schemas/deletion-request.schema.json")
            }
        }
        guard case .object(let members) = value else {
            throw RejectionReason(RejectionReason.wrongType, "the value is a JSON \(value.typeName); a deletion request is a JSON object")
        }
        let fields = Dictionary(uniqueKeysWithValues: members.map { ($0.key, $0.value) })
        guard let schema = fields[ExactText("schema")] else {
            throw RejectionReason(RejectionReason.missingField, "field \"schema\" is missing; set it to \"\(DeletionRequest.schema)\"")
        }
        guard case .string(let schemaName) = schema else {
            throw RejectionReason(
                RejectionReason.wrongType, "field \"schema\" is a \(schema.typeName); it must be the string \"\(DeletionRequest.schema)\"")
        }
        guard ExactText(schemaName) == ExactText(DeletionRequest.schema) else {
            throw RejectionReason(
                RejectionReason.unknownSchema, "field \"schema\" names a schema this daemon does not read; it reads \"\(DeletionRequest.schema)\"")
        }
        let requestID = try string(fields, "request_id")
        // Counted in Unicode code points, as JSON Schema's maxLength counts.
        let idLength = requestID.unicodeScalars.count
        guard idLength >= 1, idLength <= DeletionRequest.maxRequestIDLength else {
            throw RejectionReason(RejectionReason.invalidValue, "field \"request_id\" has \(idLength) characters; it must have 1 to 128")
        }
        let model = try string(fields, "model")
        guard DeletionRequestDecoder.isValidModelID(model) else {
            throw RejectionReason(RejectionReason.invalidValue, "field \"model\" is not a model id ([a-z0-9][a-z0-9._-]{0,63})")
        }
        let requestedAt = try string(fields, "requested_at")
        guard RFC3339.parse(requestedAt) != nil else {
            throw RejectionReason(RejectionReason.invalidValue, "field \"requested_at\" is not an RFC 3339 timestamp (e.g. 2026-11-27T14:00:00Z)")
        }
        let scopeName = try string(fields, "scope")
        var allowed: Set<ExactText> = Set(["schema", "request_id", "model", "scope", "requested_at"].map(ExactText.init))
        let scope: DeletionRequest.Scope
        switch Array(scopeName.utf8) {
        case Array("sample".utf8):
            allowed.insert(ExactText("sample_ids"))
            guard let raw = fields[ExactText("sample_ids")] else {
                throw RejectionReason(RejectionReason.missingField, "field \"sample_ids\" is missing; scope \"sample\" needs 1 to 1000 sample ids")
            }
            guard case .array(let items) = raw else {
                throw RejectionReason(RejectionReason.wrongType, "field \"sample_ids\" is a \(raw.typeName); it must be an array of strings")
            }
            guard (1...DeletionRequest.maxSampleIDs).contains(items.count) else {
                throw RejectionReason(RejectionReason.invalidValue, "field \"sample_ids\" has \(items.count) ids; send 1 to 1000 per request")
            }
            var ids: [String] = []
            for (i, item) in items.enumerated() {
                guard case .string(let id) = item, !id.isEmpty else {
                    throw RejectionReason(
                        RejectionReason.wrongType,
                        "sample_ids[\(i)] is a \(item.typeName == "string" ? "empty string" : item.typeName); every sample id must be a non-empty string"
                    )
                }
                ids.append(id)
            }
            scope = .samples(ids)
        case Array("subject".utf8):
            allowed.insert(ExactText("subject"))
            let subject = try string(fields, "subject")
            guard !subject.isEmpty else {
                throw RejectionReason(RejectionReason.invalidValue, "field \"subject\" is empty; name the identity whose rows to forget")
            }
            scope = .subject(subject)
        case Array("class".utf8):
            allowed.insert(ExactText("class"))
            guard let raw = fields[ExactText("class")] else {
                throw RejectionReason(RejectionReason.missingField, "field \"class\" is missing; scope \"class\" needs an integer label")
            }
            switch raw.exactInteger {
            case .value(let label):
                scope = .class(label)
            case .outOfRange:
                throw RejectionReason(RejectionReason.invalidValue, "field \"class\" is an integer outside any model's labels")
            case .notInteger where raw.typeName == "number":
                throw RejectionReason(
                    RejectionReason.wrongType, "field \"class\" is a number with a non-zero fraction; it must be an integer label (e.g. 7)")
            case .notInteger:
                throw RejectionReason(RejectionReason.wrongType, "field \"class\" is a \(raw.typeName); it must be an integer label")
            }
        default:
            throw RejectionReason(RejectionReason.invalidValue, "field \"scope\" must be \"sample\", \"subject\" or \"class\"")
        }
        if members.contains(where: { !allowed.contains($0.key) }) {
            let expected = allowed.map(\.string).sorted().joined(separator: ", ")
            throw RejectionReason(
                RejectionReason.extraField,
                "the request has a field that is not part of \(DeletionRequest.schema) for scope \"\(scopeName)\" (allowed: \(expected)); remove it")
        }
        return DeletionRequest(requestID: requestID, model: model, scope: scope, requestedAt: requestedAt)
    }

    private static func string(_ fields: [ExactText: StrictJSON], _ name: String) throws(RejectionReason) -> String {
        guard let value = fields[ExactText(name)] else {
            throw RejectionReason(RejectionReason.missingField, "field \"\(name)\" is missing")
        }
        guard case .string(let s) = value else {
            throw RejectionReason(RejectionReason.wrongType, "field \"\(name)\" is a \(value.typeName); it must be a string")
        }
        return s
    }
}
