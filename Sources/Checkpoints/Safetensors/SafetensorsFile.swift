import Foundation

/// A safetensors file: an optional `__metadata__` string map and named tensors.
///
/// Layout (https://github.com/huggingface/safetensors, "Format"): an unsigned 64-bit little-endian header length N,
/// then N bytes of UTF-8 JSON mapping each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets
/// relative to the first byte after the header) plus the optional `"__metadata__"` object of string values, then
/// the tensor bytes. Writing pads the header with spaces to a multiple of 8 bytes and orders the tensors by
/// decreasing element size, then name, so every tensor is aligned to its element size (as the reference
/// implementation does). Reading is strict; see ``decode(_:limits:)``.
public struct SafetensorsFile: Sendable, Equatable {
    /// Caps applied while reading, before anything of the claimed size is allocated.
    public struct Limits: Sendable {
        /// Largest JSON header accepted (the reference implementation's cap is 100,000,000 bytes).
        public var maxHeaderBytes: Int
        /// Largest tensor data section accepted.
        public var maxDataBytes: Int
        /// Most tensors accepted.
        public var maxTensors: Int

        public init(maxHeaderBytes: Int = 100_000_000, maxDataBytes: Int = 1 << 34, maxTensors: Int = 100_000) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxDataBytes = maxDataBytes
            self.maxTensors = maxTensors
        }

        public static let `default` = Limits()
    }

    public var metadata: [String: String]?
    public var tensors: [String: SafetensorsTensor]

    public init(metadata: [String: String]? = nil, tensors: [String: SafetensorsTensor] = [:]) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The key of the metadata object in the header; no tensor may use it.
    public static let metadataKey = "__metadata__"

    // MARK: Writing

    /// The tensor names in data order: decreasing element size, then name.
    var dataOrder: [String] {
        tensors.keys.sorted { a, b in
            let sa = tensors[a]!.dtype.byteSize
            let sb = tensors[b]!.dtype.byteSize
            return sa != sb ? sa > sb : a < b
        }
    }

    /// Serialises the file.
    public func encoded() throws -> [UInt8] {
        if tensors[Self.metadataKey] != nil {
            throw CheckpointError(.malformedSafetensors, "a tensor may not be named \(Self.metadataKey)")
        }
        var header = [UInt8]()
        header.append(UInt8(ascii: "{"))
        var first = true
        if let metadata {
            JSONWriter.appendString(Self.metadataKey, to: &header)
            header.append(contentsOf: Array(":{".utf8))
            for (index, key) in metadata.keys.sorted().enumerated() {
                if index > 0 { header.append(UInt8(ascii: ",")) }
                JSONWriter.appendString(key, to: &header)
                header.append(UInt8(ascii: ":"))
                JSONWriter.appendString(metadata[key]!, to: &header)
            }
            header.append(UInt8(ascii: "}"))
            first = false
        }
        let order = dataOrder
        var offset = 0
        for name in order {
            let tensor = tensors[name]!
            if !first { header.append(UInt8(ascii: ",")) }
            first = false
            JSONWriter.appendString(name, to: &header)
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            let end = offset + tensor.bytes.count
            header.append(
                contentsOf: Array(":{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}".utf8))
            offset = end
        }
        header.append(UInt8(ascii: "}"))
        // Pad with spaces (JSON whitespace) so the data starts 8-byte aligned.
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        let total = 8 + header.count + offset
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            raw.storeBytes(of: UInt64(header.count).littleEndian, toByteOffset: 0, as: UInt64.self)
            header.withUnsafeBytes { raw.baseAddress!.advanced(by: 8).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            var position = 8 + header.count
            for name in order {
                tensors[name]!.bytes.withUnsafeBytes { source in
                    if source.count > 0 {
                        raw.baseAddress!.advanced(by: position).copyMemory(from: source.baseAddress!, byteCount: source.count)
                    }
                    position += source.count
                }
            }
            count = total
        }
    }

    // MARK: Reading

    /// Parses and validates a safetensors file held in memory.
    ///
    /// Rejected: a buffer shorter than 8 bytes; a header length above `limits.maxHeaderBytes` or beyond the buffer;
    /// a header that is not a UTF-8 JSON object starting with `{`; a `__metadata__` that is not an object of strings;
    /// a tensor entry with a missing, extra or mistyped field, an unknown dtype, a negative dimension; data offsets
    /// that are not `[begin, end]` with begin <= end, whose length differs from shape product x element size, that
    /// overlap, leave gaps, or do not cover the data section exactly; more than `limits.maxTensors` tensors.
    public static func decode(_ bytes: [UInt8], limits: Limits = .default) throws -> SafetensorsFile {
        try bytes.withUnsafeBytes { try decode(buffer: $0, limits: limits) }
    }

    public static func decode(buffer: UnsafeRawBufferPointer, limits: Limits = .default) throws -> SafetensorsFile {
        let parsed = try parseHeader(buffer, limits: limits)
        var tensors = [String: SafetensorsTensor]()
        tensors.reserveCapacity(parsed.entries.count)
        let dataStart = 8 + parsed.headerLength
        for entry in parsed.entries {
            let slice = UnsafeRawBufferPointer(rebasing: buffer[(dataStart + entry.begin)..<(dataStart + entry.end)])
            tensors[entry.name] = try SafetensorsTensor(dtype: entry.dtype, shape: entry.shape, bytes: [UInt8](slice))
        }
        return SafetensorsFile(metadata: parsed.metadata, tensors: tensors)
    }

    /// One validated header entry.
    struct Entry {
        var name: String
        var dtype: SafetensorsDType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// The validated header: metadata and the entries in data order.
    struct Header {
        var headerLength: Int
        var metadata: [String: String]?
        var entries: [Entry]
    }

    /// Reads only the 8-byte length and the JSON header of `buffer` and validates them against the buffer's size.
    static func parseHeader(_ buffer: UnsafeRawBufferPointer, limits: Limits) throws -> Header {
        guard buffer.count >= 8 else {
            throw CheckpointError(.malformedSafetensors, "safetensors data is \(buffer.count) bytes; the header length alone needs 8")
        }
        let declared = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard declared <= UInt64(limits.maxHeaderBytes) else {
            throw CheckpointError(
                .tooLarge, "safetensors header claims \(declared) bytes, above the cap of \(limits.maxHeaderBytes) bytes")
        }
        let headerLength = Int(declared)
        guard headerLength <= buffer.count - 8 else {
            throw CheckpointError(
                .malformedSafetensors,
                "safetensors header claims \(headerLength) bytes but only \(buffer.count - 8) follow the length field")
        }
        let dataLength = buffer.count - 8 - headerLength
        guard dataLength <= limits.maxDataBytes else {
            throw CheckpointError(.tooLarge, "safetensors data section is \(dataLength) bytes, above the cap of \(limits.maxDataBytes)")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: buffer[8..<(8 + headerLength)])
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw CheckpointError(.malformedSafetensors, "safetensors header does not start with '{'")
        }
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw CheckpointError(.malformedSafetensors, "safetensors header is not valid UTF-8")
        }
        let document: HeaderDocument
        do {
            document = try JSONDecoder().decode(HeaderDocument.self, from: Data(headerBytes))
        } catch let error as CheckpointError {
            throw error
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            // The decoder reports a fractional or out-of-range integer like a syntax error; tell them apart.
            if (try? JSONSerialization.jsonObject(with: Data(headerBytes))) != nil {
                throw CheckpointError(
                    .malformedSafetensors,
                    "safetensors header holds a number that is not a non-negative integer where shape or data_offsets need one")
            }
            throw CheckpointError(.malformedSafetensors, "safetensors header is not valid JSON: \(context.debugDescription)")
        } catch let error as DecodingError {
            throw CheckpointError(.malformedSafetensors, "safetensors header entry \(Self.describe(error))")
        }
        guard document.entries.count <= limits.maxTensors else {
            throw CheckpointError(.tooLarge, "safetensors header lists \(document.entries.count) tensors, above the cap of \(limits.maxTensors)")
        }
        let metadata = document.metadata
        var entries = try document.entries.map { try entry($0) }
        // Contiguity: sorted by offsets, each tensor starts where the previous ended, the last ends at the end.
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected = 0
        for entry in entries {
            guard entry.begin == expected else {
                let what = entry.begin < expected ? "overlaps the previous tensor" : "leaves a gap after the previous tensor"
                throw CheckpointError(
                    .malformedSafetensors,
                    "tensor \(quoted(entry.name)) starts at data offset \(entry.begin), expected \(expected): it \(what)")
            }
            expected = entry.end
        }
        guard expected == dataLength else {
            throw CheckpointError(
                .malformedSafetensors,
                "tensors cover \(expected) bytes of data but the data section holds \(dataLength): the file is truncated or has trailing bytes")
        }
        return Header(headerLength: headerLength, metadata: metadata, entries: entries)
    }

    private static func entry(_ raw: HeaderDocument.RawEntry) throws -> Entry {
        let name = raw.name
        guard let dtype = SafetensorsDType(rawValue: raw.dtype) else {
            throw CheckpointError(.malformedSafetensors, "tensor \(quoted(name)) has unknown dtype \(quoted(raw.dtype))")
        }
        guard raw.shape.allSatisfy({ $0 >= 0 }) else {
            throw CheckpointError(
                .malformedSafetensors, "tensor \(quoted(name)) has a shape \(raw.shape) with negative dimensions; expected non-negative integers")
        }
        guard raw.dataOffsets.count == 2, raw.dataOffsets.allSatisfy({ $0 >= 0 }) else {
            throw CheckpointError(
                .malformedSafetensors, "tensor \(quoted(name)) has data_offsets \(raw.dataOffsets); expected [begin, end] of non-negative integers")
        }
        let (begin, end) = (raw.dataOffsets[0], raw.dataOffsets[1])
        guard begin <= end else {
            throw CheckpointError(.malformedSafetensors, "tensor \(quoted(name)) has data_offsets [\(begin), \(end)] with begin > end")
        }
        guard let count = SafetensorsTensor.elementCount(raw.shape),
            case (let length, let overflow) = count.multipliedReportingOverflow(by: dtype.byteSize), !overflow,
            length == end - begin
        else {
            throw CheckpointError(
                .malformedSafetensors,
                "tensor \(quoted(name)) of shape \(raw.shape) and dtype \(dtype.rawValue) does not fit its \(end - begin) bytes at [\(begin), \(end)]"
            )
        }
        return Entry(name: name, dtype: dtype, shape: raw.shape, begin: begin, end: end)
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return
                "\(quoted(path(context))): \(context.debugDescription) (expected dtype string, shape and data_offsets arrays of non-negative integers)"
        case .keyNotFound(let key, let context):
            return "\(quoted(path(context))) has no \(quoted(key.stringValue))"
        @unknown default:
            return "\(error)"
        }
    }

    static func quoted(_ name: String) -> String {
        name.count > 80 ? "\"\(name.prefix(80))...\"" : "\"\(name)\""
    }
}

/// The header JSON, decoded with strict types: integers must be JSON integers, metadata values strings, tensor
/// entries exactly `dtype`, `shape`, `data_offsets`.
struct HeaderDocument: Decodable {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    struct RawEntry: Decodable {
        var name: String
        var dtype: String
        var shape: [Int]
        var dataOffsets: [Int]

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            name = decoder.codingPath.last?.stringValue ?? ""
            if let extra = container.allKeys.first(where: { !["dtype", "shape", "data_offsets"].contains($0.stringValue) }) {
                throw CheckpointError(
                    .malformedSafetensors,
                    "tensor \(SafetensorsFile.quoted(name)) has unknown field \(SafetensorsFile.quoted(extra.stringValue))")
            }
            dtype = try container.decode(String.self, forKey: Key(stringValue: "dtype"))
            shape = try container.decode([Int].self, forKey: Key(stringValue: "shape"))
            dataOffsets = try container.decode([Int].self, forKey: Key(stringValue: "data_offsets"))
        }
    }

    var metadata: [String: String]?
    var entries: [RawEntry] = []

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == SafetensorsFile.metadataKey {
                do {
                    metadata = try container.decode([String: String].self, forKey: key)
                } catch {
                    throw CheckpointError(
                        .malformedSafetensors, "\(SafetensorsFile.metadataKey) is not an object of strings; metadata values must be strings")
                }
            } else {
                entries.append(try container.decode(RawEntry.self, forKey: key))
            }
        }
    }
}
