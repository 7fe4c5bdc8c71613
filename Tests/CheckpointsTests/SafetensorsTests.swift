import Foundation
import ProcessHarness
import TestSupport
import Testing
import UnlearningCore

@testable import Checkpoints

@Suite("Safetensors codec", .computeBound)
struct SafetensorsTests {
    /// One tensor per dtype with seeded bytes (F64/F32 include NaN payloads, -0, infinities and subnormals).
    static func everyDType(seed: UInt64 = 42) throws -> SafetensorsFile {
        var mixer = SplitMix64(state: seed)
        var tensors = [String: SafetensorsTensor]()
        for (index, dtype) in SafetensorsDType.allCases.enumerated() {
            let shape = [3, index % 4 + 1]
            var bytes = mixer.bytes(6 * (index % 4 + 1) / 2 * dtype.byteSize)
            if dtype == .bool { bytes = bytes.map { $0 & 1 } }
            tensors["t.\(dtype.rawValue.lowercased())"] = try SafetensorsTensor(dtype: dtype, shape: shape, bytes: bytes)
        }
        let special: [Double] = [
            .nan, -.nan, Double(bitPattern: 0x7FF0_0000_0000_0001), -0.0, .infinity, -.infinity,
            .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1.0 / 3.0,
        ]
        tensors["special.f64"] = try SafetensorsTensor(float64: special, shape: [3, 3])
        tensors["special.f32"] = try SafetensorsTensor(float32: [.nan, -0.0, .infinity, .leastNonzeroMagnitude], shape: [2, 2])
        tensors["scalar"] = try SafetensorsTensor(float64: [2.5], shape: [])
        tensors["empty"] = try SafetensorsTensor(dtype: .float32, shape: [0, 4], bytes: [])
        return SafetensorsFile(metadata: ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t ü"], tensors: tensors)
    }

    @Test("round trip is bit-exact for every dtype")
    func roundTripEveryDType() throws {
        let file = try Self.everyDType()
        let bytes = try file.encoded()
        let decoded = try SafetensorsFile.decode(bytes)
        #expect(decoded == file)
        for (name, tensor) in file.tensors {
            #expect(decoded.tensors[name]?.bytes == tensor.bytes, "\(name)")
        }
        // Typed accessors are bit-exact too (NaN payloads included).
        let special = try #require(decoded.tensors["special.f64"]).float64Values()
        #expect(
            special.map(\.bitPattern)
                == [
                    Double.nan, -.nan, Double(bitPattern: 0x7FF0_0000_0000_0001), -0.0, .infinity,
                    -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1.0 / 3.0,
                ].map(\.bitPattern))
        #expect(try SafetensorsTensor(int64: [.min, -1, 0, .max], shape: [4]).int64Values() == [.min, -1, 0, .max])
        #expect(try SafetensorsTensor(int32: [.min, 7], shape: [2]).int32Values() == [.min, 7])
        #expect(try SafetensorsTensor(bool: [true, false], shape: [2]).boolValues() == [true, false])
        #expect(try SafetensorsTensor(uint8: [0, 255], shape: [2]).uint8Values() == [0, 255])
    }

    @Test("header is padded with spaces to 8 bytes and tensors are aligned")
    func alignment() throws {
        let bytes = try Self.everyDType().encoded()
        let headerLength = Int(UInt64(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }))
        #expect(headerLength % 8 == 0)
        let header = try SafetensorsFile.parseHeader(bytes.withUnsafeBytes { $0 }, limits: .default)
        for entry in header.entries {
            #expect((8 + headerLength + entry.begin) % entry.dtype.byteSize == 0, "\(entry.name)")
        }
        let headerText = bytes[8..<(8 + headerLength)]
        #expect(headerText.last == UInt8(ascii: " ") || headerText.last == UInt8(ascii: "}"))
    }

    /// Builds a raw file from a header string and a data section.
    static func raw(_ header: String, data: [UInt8] = [], claimedLength: UInt64? = nil) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        var out = [UInt8]()
        withUnsafeBytes(of: (claimedLength ?? UInt64(headerBytes.count)).littleEndian) { out.append(contentsOf: $0) }
        return out + headerBytes + data
    }

    @Test(
        "strict validation rejects malformed headers",
        arguments: [
            (raw("{}", claimedLength: 1 << 40), "above the cap"),
            (raw("{}", claimedLength: 100), "only 2 follow"),
            (raw("[]"), "does not start with '{'"),
            (raw("{\"a\":"), "not valid JSON"),
            (raw("{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", data: Array(repeating: 0, count: 16)), "unknown dtype"),
            (raw("{\"a\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,16]}}", data: Array(repeating: 0, count: 16)), "does not fit"),
            (raw("{\"a\":{\"dtype\":\"F64\",\"shape\":[-2],\"data_offsets\":[0,16]}}", data: Array(repeating: 0, count: 16)), "non-negative"),
            (raw("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[16,0]}}", data: Array(repeating: 0, count: 16)), "begin > end"),
            (
                raw("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0.5,16]}}", data: Array(repeating: 0, count: 16)),
                "non-negative integer"
            ),
            (raw("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16],\"x\":1}}", data: Array(repeating: 0, count: 16)), "unknown field"),
            (
                raw(
                    "{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}}",
                    data: Array(repeating: 0, count: 16)), "overlaps"
            ),
            (raw("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[8,16]}}", data: Array(repeating: 0, count: 16)), "leaves a gap"),
            (raw("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", data: Array(repeating: 0, count: 16)), "trailing bytes"),
            (raw("{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", data: Array(repeating: 0, count: 8)), "truncated"),
            (raw("{\"__metadata__\":{\"k\":1}}"), "must be strings"),
            (
                raw("{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", data: Array(repeating: 0, count: 8)),
                "does not fit"
            ),
            ([1, 2, 3], "needs 8"),
        ] as [([UInt8], String)])
    func rejectsMalformed(bytes: [UInt8], expected: String) {
        do {
            _ = try SafetensorsFile.decode(bytes)
            Issue.record("accepted a malformed file; expected \(expected)")
        } catch let error as CheckpointError {
            #expect(error.reason.contains(expected), "\(error.reason)")
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }

    // MARK: Python interop

    /// The Python interpreter with `safetensors` and `numpy`, or nil (with the reason printed) if missing.
    static func python() throws -> String? {
        guard let python = ProcessRunner.which("python3") else {
            print("skipped: python3 is not on PATH (CI installs it with `pip install safetensors numpy`)")
            return nil
        }
        guard try ProcessRunner.run(python, ["-c", "import safetensors.numpy, numpy"]).status == 0 else {
            print("skipped: the Python packages safetensors/numpy are missing (`pip install safetensors numpy`)")
            return nil
        }
        return python
    }

    @Test("a file we write is read by the Python safetensors package")
    func pythonReadsOurs() throws {
        guard let python = try Self.python() else { return }
        let directory = try TestSupport.makeTemporaryDirectory("st")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Python's numpy loader has no BF16/F16-free restriction but numpy lacks bfloat16: leave BF16 out.
        var file = try Self.everyDType()
        file.tensors["t.bf16"] = nil
        let path = directory.appendingPathComponent("ours.safetensors").path
        try Data(file.encoded()).write(to: URL(fileURLWithPath: path))
        let script = """
            import sys, json, hashlib
            from safetensors import safe_open
            from safetensors.numpy import load_file
            tensors = load_file(sys.argv[1])
            with safe_open(sys.argv[1], framework="np") as f:
                meta = f.metadata()
            out = {"metadata": meta, "tensors": {k: [str(v.dtype), list(v.shape), hashlib.sha256(v.tobytes()).hexdigest()] for k, v in tensors.items()}}
            print(json.dumps(out))
            """
        let numpy = try ProcessRunner.run(python, ["-c", script, path])
        try #require(numpy.status == 0, "python failed: \(numpy.stderrText)")
        let result = try JSONSerialization.jsonObject(with: numpy.stdout) as! [String: Any]
        #expect(result["metadata"] as? [String: String] == file.metadata)
        let tensors = result["tensors"] as! [String: [Any]]
        #expect(Set(tensors.keys) == Set(file.tensors.keys))
        let numpyNames: [SafetensorsDType: String] = [
            .bool: "bool", .uint8: "uint8", .int8: "int8", .int16: "int16", .uint16: "uint16", .float16: "float16",
            .int32: "int32", .uint32: "uint32", .float32: "float32", .int64: "int64", .uint64: "uint64", .float64: "float64",
        ]
        for (name, tensor) in file.tensors {
            let row = try #require(tensors[name], "\(name) missing in Python")
            #expect(row[0] as? String == numpyNames[tensor.dtype], "\(name) dtype")
            #expect((row[1] as? [Int]) == tensor.shape, "\(name) shape")
            #expect(row[2] as? String == SHA256.hash(tensor.bytes).hex, "\(name) bytes")
        }
    }

    @Test("a file the Python safetensors package writes is read bit-exactly")
    func weReadPythons() throws {
        guard let python = try Self.python() else { return }
        let directory = try TestSupport.makeTemporaryDirectory("st")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("python.safetensors").path
        let script = """
            import sys, json, hashlib
            import numpy as np
            from safetensors.numpy import save_file
            rng = np.random.default_rng(7)
            t = {
              "w.f64": rng.standard_normal((5, 3)),
              "w.f32": rng.standard_normal((2, 7)).astype(np.float32),
              "i.i64": rng.integers(-2**62, 2**62, size=(4,), dtype=np.int64),
              "i.i32": rng.integers(-2**31, 2**31 - 1, size=(3, 2), dtype=np.int32),
              "u.u8": rng.integers(0, 256, size=(9,), dtype=np.uint8),
              "b.bool": rng.integers(0, 2, size=(2, 2)).astype(np.bool_),
              "h.f16": rng.standard_normal((3,)).astype(np.float16),
              "s.scalar": np.array(3.25),
              "e.empty": np.zeros((0, 3), dtype=np.float32),
            }
            save_file(t, sys.argv[1], metadata={"format": "np", "who": "python"})
            print(json.dumps({k: [str(v.dtype), list(v.shape), hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest(), v.ravel().tolist()] for k, v in t.items()} | {"w.f64.bits": [0, 0, "", [str(b) for b in t["w.f64"].ravel().view(np.uint64).tolist()]]}))
            """
        let numpy = try ProcessRunner.run(python, ["-c", script, path])
        try #require(numpy.status == 0, "python failed: \(numpy.stderrText)")
        let expected = try JSONSerialization.jsonObject(with: numpy.stdout) as! [String: [Any]]
        let file = try SafetensorsFile.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(file.metadata == ["format": "np", "who": "python"])
        #expect(Set(file.tensors.keys) == Set(expected.keys).subtracting(["w.f64.bits"]))
        for (name, row) in expected where name != "w.f64.bits" {
            let tensor = try #require(file.tensors[name])
            #expect(tensor.shape == row[1] as? [Int], "\(name)")
            #expect(SHA256.hash(tensor.bytes).hex == row[2] as? String, "\(name)")
        }
        // Typed values equal Python's; doubles compared by bit pattern (printed by Python as integers).
        let bits = (expected["w.f64.bits"]![3] as! [String]).map { UInt64($0)! }
        #expect(try file.tensors["w.f64"]!.float64Values().map(\.bitPattern) == bits)
        #expect(try file.tensors["i.i64"]!.int64Values() == (expected["i.i64"]![3] as! [NSNumber]).map(\.int64Value))
        #expect(try file.tensors["b.bool"]!.boolValues() == (expected["b.bool"]![3] as! [Bool]))
        #expect(try file.tensors["s.scalar"]!.float64Values() == [3.25])
        #expect(file.tensors["w.f32"]!.dtype == .float32 && file.tensors["h.f16"]!.dtype == .float16)
    }
}
