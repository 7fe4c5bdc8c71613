/// One tensor: element type, shape (outermost first, row-major) and its raw little-endian bytes.
public struct SafetensorsTensor: Sendable, Equatable {
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Raw little-endian, row-major element bytes; `count == elementCount * dtype.byteSize`.
    public let bytes: [UInt8]

    /// Wraps raw bytes, checking that their length matches the shape.
    public init(dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) throws {
        guard let count = SafetensorsTensor.elementCount(shape),
            case (let length, let overflow) = count.multipliedReportingOverflow(by: dtype.byteSize), !overflow
        else {
            throw CheckpointError(.malformedSafetensors, "shape \(shape) is negative or its byte length overflows")
        }
        guard bytes.count == length else {
            throw CheckpointError(
                .malformedSafetensors,
                "tensor of shape \(shape) and dtype \(dtype.rawValue) needs \(length) bytes, got \(bytes.count)")
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// The product of `shape` (1 for a scalar), or nil when a dimension is negative or the product overflows.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }

    public var elementCount: Int { bytes.count / dtype.byteSize }
}

// MARK: - Typed construction and access

extension SafetensorsTensor {
    public init(float64 values: [Double], shape: [Int]) throws {
        try self.init(dtype: .float64, shape: shape, bytes: Self.littleEndianBytes(values.map(\.bitPattern)))
    }

    public init(float32 values: [Float], shape: [Int]) throws {
        try self.init(dtype: .float32, shape: shape, bytes: Self.littleEndianBytes(values.map(\.bitPattern)))
    }

    public init(int64 values: [Int64], shape: [Int]) throws {
        try self.init(dtype: .int64, shape: shape, bytes: Self.littleEndianBytes(values))
    }

    public init(int32 values: [Int32], shape: [Int]) throws {
        try self.init(dtype: .int32, shape: shape, bytes: Self.littleEndianBytes(values))
    }

    public init(uint8 values: [UInt8], shape: [Int]) throws {
        try self.init(dtype: .uint8, shape: shape, bytes: values)
    }

    public init(bool values: [Bool], shape: [Int]) throws {
        try self.init(dtype: .bool, shape: shape, bytes: values.map { $0 ? 1 : 0 })
    }

    public func float64Values() throws -> [Double] {
        try check(.float64)
        return Self.integers(bytes, as: UInt64.self).map(Double.init(bitPattern:))
    }

    public func float32Values() throws -> [Float] {
        try check(.float32)
        return Self.integers(bytes, as: UInt32.self).map(Float.init(bitPattern:))
    }

    public func int64Values() throws -> [Int64] {
        try check(.int64)
        return Self.integers(bytes, as: Int64.self)
    }

    public func int32Values() throws -> [Int32] {
        try check(.int32)
        return Self.integers(bytes, as: Int32.self)
    }

    public func uint8Values() throws -> [UInt8] {
        try check(.uint8)
        return bytes
    }

    /// BOOL elements; safetensors stores them as one byte each, 0 or 1 (anything else is rejected).
    public func boolValues() throws -> [Bool] {
        try check(.bool)
        return try bytes.map { byte in
            guard byte <= 1 else {
                throw CheckpointError(.malformedSafetensors, "BOOL tensor holds byte \(byte); only 0 and 1 are valid")
            }
            return byte == 1
        }
    }

    private func check(_ expected: SafetensorsDType) throws {
        guard dtype == expected else {
            throw CheckpointError(.shapeMismatch, "tensor is \(dtype.rawValue), expected \(expected.rawValue)")
        }
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        let size = MemoryLayout<T>.size
        return [UInt8](unsafeUninitializedCapacity: values.count * size) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            values.withUnsafeBufferPointer { source in
                #if _endian(little)
                    raw.copyMemory(from: UnsafeRawBufferPointer(source))
                #else
                    for (index, value) in source.enumerated() {
                        raw.storeBytes(of: value.littleEndian, toByteOffset: index * size, as: T.self)
                    }
                #endif
            }
            count = values.count * size
        }
    }

    static func integers<T: FixedWidthInteger>(_ bytes: [UInt8], as: T.Type) -> [T] {
        let size = MemoryLayout<T>.size
        let count = bytes.count / size
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                #if _endian(little)
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<(count * size)]))
                #else
                    for index in 0..<count {
                        buffer[index] = T(littleEndian: source.loadUnaligned(fromByteOffset: index * size, as: T.self))
                    }
                #endif
            }
            initialized = count
        }
    }
}
