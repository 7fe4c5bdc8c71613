import ArgumentParser
import Checkpoints
import Foundation
import UnlearningCore

extension Bench {
    /// `unlearn-bench snapshot`: snapshot size and throughput.
    struct SnapshotBenchmark: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "snapshot",
            abstract: "Snapshot size vs raw safetensors, write and read throughput in MB/s.",
            discussion: """
                Model: the MNIST-extract Network shape (784-128(relu)-10) with He-initialised random F64 weights \
                (N(0, 2/fan_in), biases 0.01 * N(0,1)) and input standardisation, seeded; or the snapshot given with \
                --from. Write = payload encoding + SHA-256 (in parallel with) zstd compression; store write adds \
                the file writes, fsyncs, link and directory fsync. Read = file read + strict frame decompression + \
                SHA-256 (in parallel with) strict safetensors/manifest parsing. MB/s are of the uncompressed payload \
                (10^6 bytes), median of --repeats runs.
                """
        )

        @Option(help: "Timed repetitions per measurement (median and best are reported).")
        var repeats: Int = 30

        @Option(help: "zstd levels to compare (the first is the default the targets apply to).")
        var levels: [Int32] = [3, 1, -1, 9, 19]

        @Option(help: "Use this snapshot (file or model directory) instead of random weights.")
        var from: String?

        @Option(help: "Seed of the random weights.")
        var seed: UInt64 = 1

        @Option(help: "Directory for the store measurements (a fresh subdirectory is created and removed).")
        var scratch: String = NSTemporaryDirectory()

        @Option(help: "Where to write the JSON result.")
        var json: String = "/tmp/unlearnd-bench-snapshot.json"

        struct Row: Codable {
            var level: Int32
            var fileBytes: Int
            var ratio: Double
            var encodeMBps: Double
            var decodeMBps: Double
        }

        struct Result: Codable {
            var command: String
            var model: String
            var payloadBytes: Int
            var rows: [Row]
            var encodeWriteMBps: Double
            var diskFloorMs: Double
            var storeWriteMBps: Double
            var storeWriteBestMBps: Double
            var storeReadMBps: Double
            var storeReadBestMBps: Double
            var sha256MBps: Double
            var writeTargetMBps: Double
            var readTargetMBps: Double
        }

        func run() throws {
            let command = CommandLine.arguments.joined(separator: " ")
            #if DEBUG
                print("warning: debug build; run `swift run -c release --package-path Benchmarks unlearn-bench snapshot` for meaningful numbers")
            #endif
            let (snapshot, modelText) = try makeSnapshot()
            let payload = try SnapshotCodec.payload(snapshot)
            let megabytes = Double(payload.count) / 1e6
            print("unlearn-bench snapshot  (\(ProcessInfo.processInfo.activeProcessorCount) cores)")
            print("model     \(modelText)")
            print("payload   \(payload.count) bytes raw safetensors (\(snapshot.manifest.architecture.parameterCount) F64 parameters + manifest)")
            print("")

            let shaSeconds = median(measure { _ = SHA256.hash(payload) })
            print(String(format: "SHA-256 alone: %.0f MB/s", megabytes / shaSeconds))
            print("")
            print("level  file bytes   payload/file  encode MB/s  decode MB/s   (in memory: build+hash+compress / decompress+hash+parse)")
            var rows = [Row]()
            for level in levels {
                let encoded = try SnapshotCodec.encode(snapshot, level: level)
                let encodeTimes = try measureThrowing { _ = try SnapshotCodec.encode(snapshot, level: level) }
                let decodeTimes = try measureThrowing {
                    _ = try SnapshotCodec.decode(encoded.file, expectedSHA256: encoded.payloadSHA256)
                }
                let row = Row(
                    level: level, fileBytes: encoded.file.count,
                    ratio: Double(payload.count) / Double(encoded.file.count),
                    encodeMBps: megabytes / median(encodeTimes), decodeMBps: megabytes / median(decodeTimes))
                rows.append(row)
                print(String(format: "%5d  %10d  %12.3f  %11.0f  %11.0f", level, row.fileBytes, row.ratio, row.encodeMBps, row.decodeMBps))
            }

            // Store: durable writes and verified reads at the default level.
            let directory = (scratch as NSString).appendingPathComponent("unlearnd-bench-\(getpid())")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let store = try SnapshotStore(directory: directory, retain: 2, compressionLevel: levels[0])
            var manifest = snapshot.manifest
            var parent: UInt64? = nil
            var writeTimes = [Double]()
            for version in 1...UInt64(repeats) {
                manifest.version = version
                manifest.parentVersion = parent
                manifest.baseVersion = 1
                let next = try Snapshot(manifest: manifest, parameters: snapshot.parameters)
                let start = ContinuousClock.now
                try store.commit(next)
                writeTimes.append(seconds(ContinuousClock.now - start))
                parent = version
            }
            let readTimes = try measureThrowing { _ = try store.load(version: UInt64(repeats)) }
            // The disk's floor for a durable write of the same bytes: create, write, fsync, fsync the directory.
            let fileBytes = try SnapshotCodec.encode(snapshot, level: levels[0]).file
            var floorIndex = 0
            let floorTimes = try measureThrowing {
                floorIndex += 1
                let path = (directory as NSString).appendingPathComponent("floor-\(floorIndex)")
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                guard fd >= 0 else { throw CheckpointError(.ioFailure, "cannot create \(path)") }
                _ = fileBytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress!, $0.count) }
                _ = fsync(fd)
                close(fd)
                let dfd = open(directory, O_RDONLY | O_DIRECTORY)
                _ = fsync(dfd)
                close(dfd)
                unlink(path)
            }
            let floorMs = median(floorTimes) * 1000
            let write = megabytes / median(writeTimes)
            let writeBest = megabytes / writeTimes.min()!
            let read = megabytes / median(readTimes)
            let readBest = megabytes / readTimes.min()!
            let encodeWrite = rows[0].encodeMBps
            print("")
            print(
                String(
                    format: "write       (level %d, build + SHA-256 || compress, in memory): median %.0f MB/s  (target >= 200)  %@",
                    levels[0], encodeWrite, encodeWrite >= 200 ? "MET" : "NOT MET"))
            print(
                String(
                    format: "store write (level %d, + 2 files written and fsynced, links, directory fsync): median %.0f MB/s, best %.0f MB/s",
                    levels[0], write, writeBest))
            print(
                String(
                    format:
                        "            disk floor on this machine: write + fsync + directory fsync of the same %d bytes takes %.1f ms (median) = %.0f MB/s",
                    fileBytes.count, floorMs, megabytes / (floorMs / 1000)))
            print(
                String(
                    format: "store read  (level %d, read + verify + parse):           median %.0f MB/s, best %.0f MB/s  (target >= 400)  %@",
                    levels[0], read, readBest, read >= 400 ? "MET" : "NOT MET"))
            print(
                String(
                    format: "size: snapshot %d bytes vs raw safetensors %d bytes (%.1f%% of raw)",
                    rows[0].fileBytes, payload.count, 100 / rows[0].ratio))

            let result = Result(
                command: command, model: modelText, payloadBytes: payload.count, rows: rows,
                encodeWriteMBps: encodeWrite, diskFloorMs: floorMs, storeWriteMBps: write,
                storeWriteBestMBps: writeBest, storeReadMBps: read, storeReadBestMBps: readBest,
                sha256MBps: megabytes / shaSeconds, writeTargetMBps: 200, readTargetMBps: 400)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: json))
            print("json: \(json)")
            print("command: \(command)")
        }

        func makeSnapshot() throws -> (Snapshot, String) {
            if let from {
                switch try SnapshotPath.resolve(from) {
                case .file(let file): return (try SnapshotPath.decodeFile(file).decoded.snapshot, "snapshot \(file)")
                case .directory(let store):
                    let loaded = try store.loadNewestValid(quarantine: false)
                    return (loaded.snapshot, "newest valid snapshot (v\(loaded.version)) of \(from)")
                }
            }
            let architecture = Architecture(inputs: 784, hidden: [128], classes: 10, activation: .relu)
            var generator = SeededGenerator(seed: seed)
            var theta = [Double]()
            for l in architecture.parametricLayers.indices {
                let fanIn = architecture.fanIn(l)
                let scale = (2 / Double(fanIn)).squareRoot()
                for _ in 0..<architecture.parametricLayers[l].units {
                    for _ in 0..<fanIn { theta.append(generator.nextGaussian() * scale) }
                    theta.append(0.01 * generator.nextGaussian())
                }
            }
            let mean = (0..<784).map { _ in 33 + 10 * generator.nextGaussian() }
            let std = (0..<784).map { _ in 60 + abs(20 * generator.nextGaussian()) }
            let parameters = try ModelParameters(architecture: architecture, theta: theta, inputMean: mean, inputStd: std)
            var manifest = SnapshotManifest(
                modelId: "mnist-mlp", version: 1, parentVersion: nil, parentSHA256: nil, budgetEpoch: 1, baseVersion: 1,
                createdAt: ISO8601DateFormatter().string(from: Date()), architecture: architecture, lambda: 1e-4,
                n0: 5000, residualN: 4950, tombstones: RowSet(0..<50))
            manifest.appliedRequestIds = (0..<10).map { "req-\($0)" }
            return (
                try Snapshot(manifest: manifest, parameters: parameters),
                "784-128(relu)-10 MLP, He-initialised random weights (seed \(seed)), not trained"
            )
        }

        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }

        func measure(_ body: () -> Void) -> [Double] {
            body()  // warm-up
            return (0..<repeats).map { _ in
                let start = ContinuousClock.now
                body()
                return seconds(ContinuousClock.now - start)
            }
        }

        func measureThrowing(_ body: () throws -> Void) throws -> [Double] {
            try body()
            return try (0..<repeats).map { _ in
                let start = ContinuousClock.now
                try body()
                return seconds(ContinuousClock.now - start)
            }
        }

        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted[sorted.count / 2]
        }
    }
}
