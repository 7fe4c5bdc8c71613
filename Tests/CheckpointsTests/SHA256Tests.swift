import Foundation
import ProcessHarness
import TestSupport
import Testing
import UnlearningCore

@testable import Checkpoints

@Suite("SHA-256", .computeBound)
struct SHA256Tests {
    /// Every block function this machine can run (software always; SHA-NI where compiled in and supported).
    static let implementations = SHA256.Implementation.allCases.filter(\.isAvailable)

    /// Whether this CPU has the SHA extensions, read here from /proc/cpuinfo's flags (Linux's name: `sha_ni`)
    /// rather than taken from the code under test.
    static let cpuHasSHANI: Bool = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains { $0.hasPrefix("flags") && $0.split(separator: " ").contains("sha_ni") }
    }()

    static let forcedSoftware = ProcessInfo.processInfo.environment["UNLEARND_SHA256"] == "software"

    @Test("SHA-NI is used where available")
    func implementationChoice() {
        #if arch(x86_64)
            // Package.swift compiles the SHA-NI path into every x86_64 build, so the CPU alone decides.
            #expect(SHA256.Implementation.shaNI.isAvailable == Self.cpuHasSHANI)
        #else
            #expect(!SHA256.Implementation.shaNI.isAvailable)
        #endif
        let expected: SHA256.Implementation = SHA256.Implementation.shaNI.isAvailable && !Self.forcedSoftware ? .shaNI : .software
        #expect(SHA256.Implementation.preferred == expected)
        #expect(SHA256().implementation == expected)
        print(
            "SHA-256 here: the CPU \(Self.cpuHasSHANI ? "has" : "does not have") sha_ni; hashers use \(SHA256().implementation.rawValue)"
                + (Self.cpuHasSHANI ? "" : " (only the software path can be tested on this machine)")
        )
    }

    /// The hardware path against the portable one on every length around the 64-byte block and its padding
    /// boundaries (0...1100), long buffers, and the same data fed in uneven pieces: digests must be identical.
    @Test(
        "SHA-NI and software give the same digest on every length",
        .enabled(if: SHA256.Implementation.shaNI.isAvailable, "this CPU has no SHA-NI (no sha_ni flag): only the software path runs here")
    )
    func hardwareMatchesSoftware() {
        var generator = SplitMix64(state: 7)
        let lengths = Array(0...1100) + [4095, 4096, 4097, 65_535, 65_536, 1 << 20, (1 << 20) + 13]
        for length in lengths {
            let bytes = generator.bytes(length)
            let software = SHA256.hash(bytes, implementation: .software)
            #expect(SHA256.hash(bytes, implementation: .shaNI) == software, "length \(length)")
            var pieces = SHA256(implementation: .shaNI)
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + 1 + offset % 131)
                pieces.update(Array(bytes[offset..<end]))
                offset = end
            }
            #expect(pieces.finalize() == software, "length \(length) in pieces")
        }
        print("SHA-256: sha-ni matched software on \(lengths.count) lengths, whole and in pieces")
    }

    /// FIPS 180-4 / NIST CSRC example vectors.
    @Test(
        "NIST vectors", arguments: implementations,
        [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
            (
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
            ),
        ])
    func nistVectors(implementation: SHA256.Implementation, vector: (message: String, expected: String)) {
        #expect(SHA256.hash(Array(vector.message.utf8), implementation: implementation).hex == vector.expected)
    }

    @Test("NIST one million 'a', fed in uneven chunks", arguments: implementations)
    func millionA(implementation: SHA256.Implementation) {
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var hasher = SHA256(implementation: implementation)
        var offset = 0
        var chunk = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            hasher.update(Array(bytes[offset..<end]))
            offset = end
            chunk = chunk * 3 % 997 + 1
        }
        #expect(hasher.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(SHA256.hash(bytes, implementation: implementation).hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("agrees with Python hashlib on every length 0...300 and a large buffer")
    func agreesWithHashlib() throws {
        guard let python = ProcessRunner.which("python3") else {
            print("skipped: python3 is not on PATH; the NIST vectors still ran")
            return
        }
        var lines = [String]()
        var inputs = [[UInt8]]()
        for length in Array(0...300) + [1 << 20] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ length) }
            inputs.append(bytes)
            lines.append(Data(bytes).base64EncodedString())
        }
        let script = "import sys,hashlib,base64\nfor l in sys.stdin.read().split('\\n'):\n print(hashlib.sha256(base64.b64decode(l)).hexdigest())"
        let hashlib = try ProcessRunner.run(python, ["-c", script], stdin: Data(lines.joined(separator: "\n").utf8))
        #expect(hashlib.status == 0, "\(hashlib.stderrText)")
        let expected = hashlib.stdoutText.split(separator: "\n").map(String.init)
        #expect(expected.count == inputs.count)
        for (bytes, hex) in zip(inputs, expected) {
            for implementation in Self.implementations {
                #expect(SHA256.hash(bytes, implementation: implementation).hex == hex, "\(implementation) length \(bytes.count)")
            }
        }
    }

    @Test("digest hex parsing")
    func hexParsing() throws {
        let digest = SHA256.hash(Array("abc".utf8))
        #expect(SHA256.Digest(hex: digest.hex) == digest)
        #expect(SHA256.Digest(hex: digest.hex.uppercased()) == digest)
        #expect(SHA256.Digest(hex: "xyz") == nil)
        #expect(SHA256.Digest(hex: String(repeating: "g", count: 64)) == nil)
    }
}
