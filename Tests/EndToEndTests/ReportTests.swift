import Foundation
import ProcessHarness
import Testing

/// `unlearnctl report` over a state with real updates (left by `unlearnctl demo`: the dev broker, `unlearnd` and
/// subject deletions until the retrain alert), opened in headless Chromium: the DOM Chromium parsed has plotted
/// marks in every chart, and the screenshot shows each chart's plot area with pixels of its data colours.
@Suite(
    "unlearnctl report",
    .serialized,
    .enabled(if: Chromium.path != nil, "Chromium is not installed (apt-get install chromium)"),
    .enabled(if: Chromium.python, "python3 is not available to decode the screenshot PNG")
)
struct ReportTests {
    @Test("the report of a demo epoch renders in headless Chromium with all four charts non-empty", .timeLimit(.minutes(5)))
    func rendersInChromium() async throws {
        let directory = try Binaries.temporaryDirectory("report")
        defer {
            if ProcessInfo.processInfo.environment["UNLEARND_KEEP_TEST_DIRS"] == nil { try? FileManager.default.removeItem(at: directory) }
        }
        let demoDirectory = directory.appendingPathComponent("demo").path
        let demo = try Binaries.run("unlearnctl", ["demo", "--out", demoDirectory])
        try #require(demo.status == 0, "unlearnctl demo failed: \(demo.stderr.suffix(3000))\n\(demo.stdout.suffix(3000))")
        // The demo compares the default method with the paper's on its first request, beside exact retraining.
        for row in ["newton (default)", "lfoci (paper)", "exact retrain"] { #expect(demo.stdout.contains(row), "the demo's comparison lacks \(row)") }
        let state = "\(demoDirectory)/state"
        let htmlPath = directory.appendingPathComponent("report.html").path
        let report = try Binaries.run("unlearnctl", ["report", "digits", "--state-dir", state, "--out", htmlPath])
        try #require(report.status == 0, "unlearnctl report: \(report.stderr)")
        #expect(report.stdout.contains("epoch 1"))
        let html = try String(contentsOfFile: htmlPath, encoding: .utf8)

        // Self-contained: no script, no fetched resource (the SVG namespace URI is an identifier, not a fetch).
        #expect(!html.contains("<script"))
        for attribute in ["src=", "href=", "url(", "@import"] { #expect(!html.contains(attribute), "the report references \(attribute)") }

        // The page as written: four charts, each with its plot-area colour and data colours, and plotted points.
        let charts = Chromium.charts(in: html)
        #expect(charts.map(\.id) == ["chart-accuracy", "chart-epsilon", "chart-residual", "chart-block"])
        for chart in charts { #expect(chart.points > 0, "\(chart.id) has no points") }
        // The forgetting audit: the epoch's membership AUC in the summary, before/after values in every computed row.
        #expect(html.contains("<th>forgetting audit</th>"))
        #expect(html.contains("<th>membership AUC</th>") && html.contains("<th>validation loss</th>"))
        let updates = html.components(separatedBy: "<tr><td>").count - 1
        #expect(updates >= 10, "the demo should leave at least 10 update records; the table has \(updates)")

        // The DOM as Chromium parsed it: every chart is an SVG element with as many marks as it declares.
        let dom = try Chromium.run(["--dump-dom", "file://\(htmlPath)"], directory: directory)
        try #require(dom.status == 0, "chromium --dump-dom: \(dom.stderr.suffix(2000))")
        let parsed = Chromium.charts(in: dom.stdout)
        #expect(parsed.map(\.id) == charts.map(\.id))
        for chart in parsed {
            #expect(chart.marks == chart.points && chart.marks > 0, "\(chart.id): \(chart.marks) marks for \(chart.points) points")
        }

        // The screenshot: each chart's plot area is found by its fill colour and holds pixels of its data colours.
        let png = directory.appendingPathComponent("report.png").path
        let shot = try Chromium.run(["--window-size=1400,1100", "--screenshot=\(png)", "file://\(htmlPath)"], directory: directory)
        try #require(shot.status == 0 && FileManager.default.fileExists(atPath: png), "chromium --screenshot: \(shot.stderr.suffix(2000))")
        let analysis = try Chromium.analyse(png: png, charts: charts)
        #expect(analysis.nonWhite > 50_000, "the screenshot is nearly blank (\(analysis.nonWhite) non-white channel values)")
        for chart in charts {
            guard let found = analysis.charts[chart.id] else {
                Issue.record("\(chart.id): plot area (fill \(chart.background)) not found in the screenshot")
                continue
            }
            // The plot area is 552 x 210 CSS pixels, less the grey band of updates after the limit at its right end; a
            // smaller box means the chart is cut off or hidden.
            #expect(found.width >= 400 && found.height >= 190, "\(chart.id): plot area \(found.width) x \(found.height)")
            #expect(found.dataPixels >= 300, "\(chart.id): \(found.dataPixels) pixels of its data colours in the plot area")
        }

        // An epoch without a retained snapshot is refused with a reason.
        let missing = try Binaries.run("unlearnctl", ["report", "digits", "--state-dir", state, "--out", htmlPath, "--epoch", "2"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no retained snapshot of budget epoch 2"), "\(missing.stderr)")
    }
}

/// Headless Chromium and a small PNG reader (Python's zlib) for the screenshot.
enum Chromium {
    static let path: String? = {
        if let p = ProcessInfo.processInfo.environment["CHROMIUM"], FileManager.default.isExecutableFile(atPath: p) { return p }
        return ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static let python: Bool = (try? shell(["python3", "-c", "import zlib"]))?.status == 0

    struct Chart {
        var id: String
        var points: Int
        var marks: Int
        var background: String
        var colors: [String]
    }

    /// The `<svg class="chart">` elements of a page with their declared points, their marks and their colours.
    static func charts(in html: String) -> [Chart] {
        html.components(separatedBy: "<svg ").dropFirst().compactMap { chunk in
            let element = chunk.components(separatedBy: "</svg>")[0]
            let tag = element.prefix { $0 != ">" }
            func attribute(_ name: String) -> String? {
                guard let r = tag.range(of: " \(name)=\"") ?? tag.range(of: "\(name)=\"") else { return nil }
                return String(tag[r.upperBound...].prefix { $0 != "\"" })
            }
            guard attribute("class") == "chart", let id = attribute("id") else { return nil }
            return Chart(
                id: id, points: Int(attribute("data-points") ?? "") ?? -1,
                marks: element.components(separatedBy: "class=\"mark\"").count - 1,
                background: attribute("data-plot-background") ?? "",
                colors: (attribute("data-series-colors") ?? "").split(separator: " ").map(String.init)
            )
        }
    }

    static func run(_ arguments: [String], directory: URL) throws -> Binaries.Result {
        // A private profile: no state shared with other runs; --no-sandbox because CI runs as root.
        try shell(
            [path!, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(directory.path)/chromium-profile"]
                + arguments)
    }

    struct Analysis {
        struct Found {
            var width: Int
            var height: Int
            var dataPixels: Int
        }

        var nonWhite: Int
        var charts: [String: Found]
    }

    /// Decodes the PNG (8-bit RGB/RGBA, non-interlaced, as Chromium writes it) and, per chart, finds the bounding
    /// box of its plot-area fill and counts the pixels in it within 24 per channel of one of its data colours.
    static let script = """
        import json, struct, sys, zlib
        path, charts = sys.argv[1], json.loads(sys.argv[2])
        data = open(path, "rb").read()
        assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n", "not a PNG"
        pos, idat, ihdr = 8, [], None
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            if kind == b"IHDR":
                ihdr = struct.unpack(">IIBBBBB", data[pos + 8:pos + 8 + length])
            elif kind == b"IDAT":
                idat.append(data[pos + 8:pos + 8 + length])
            pos += 12 + length
        width, height, depth, ctype, _, _, interlace = ihdr
        assert depth == 8 and interlace == 0 and ctype in (2, 6), "unsupported PNG %r" % (ihdr,)
        bpp = 3 if ctype == 2 else 4
        raw = zlib.decompress(b"".join(idat))
        stride = width * bpp
        prev, rows, i = bytearray(stride), [], 0
        for y in range(height):
            f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
            i += 1 + stride
            if f == 1:
                for x in range(bpp, stride):
                    line[x] = (line[x] + line[x - bpp]) & 255
            elif f == 2:
                line = bytearray((a + b) & 255 for a, b in zip(line, prev))
            elif f == 3:
                for x in range(stride):
                    line[x] = (line[x] + ((line[x - bpp] if x >= bpp else 0) + prev[x]) // 2) & 255
            elif f == 4:
                for x in range(stride):
                    a = line[x - bpp] if x >= bpp else 0
                    b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            rows.append(line)
            prev = line
        def rgb(h):
            return tuple(int(h[k:k + 2], 16) for k in (1, 3, 5))
        result = {"nonWhite": sum(stride - row.count(255) for row in rows), "charts": {}}
        for chart in charts:
            bg = bytes(rgb(chart["background"]))
            colors = [rgb(c) for c in chart["colors"]]
            box = None
            for y, line in enumerate(rows):
                k = line.find(bg)
                while k >= 0 and k % bpp:
                    k = line.find(bg, k + 1)
                if k < 0:
                    continue
                j = line.rfind(bg)
                while j >= 0 and j % bpp:
                    j = line.rfind(bg, 0, j + len(bg) - 1)
                x0, x1 = k // bpp, j // bpp
                box = [x0, y, x1, y] if box is None else [min(box[0], x0), box[1], max(box[2], x1), y]
            if box is None:
                continue
            count = 0
            for y in range(box[1], box[3] + 1):
                line = rows[y]
                for x in range(box[0], box[2] + 1):
                    r, g, b = line[x * bpp], line[x * bpp + 1], line[x * bpp + 2]
                    if any(abs(r - cr) <= 24 and abs(g - cg) <= 24 and abs(b - cb) <= 24 for cr, cg, cb in colors):
                        count += 1
            result["charts"][chart["id"]] = {"width": box[2] - box[0] + 1, "height": box[3] - box[1] + 1, "dataPixels": count}
        json.dump(result, sys.stdout)
        """

    static func analyse(png: String, charts: [Chart]) throws -> Analysis {
        let spec = charts.map { ["id": $0.id, "background": $0.background, "colors": $0.colors] as [String: Any] }
        let argument = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let result = try shell(["python3", "-c", script, png, argument])
        guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw HarnessError("decoding the screenshot failed: \(result.stderr)")
        }
        var found: [String: Analysis.Found] = [:]
        for (id, value) in object["charts"] as? [String: [String: Int]] ?? [:] {
            found[id] = Analysis.Found(width: value["width"] ?? 0, height: value["height"] ?? 0, dataPixels: value["dataPixels"] ?? 0)
        }
        return Analysis(nonWhite: object["nonWhite"] as? Int ?? 0, charts: found)
    }

    static func shell(_ arguments: [String]) throws -> Binaries.Result {
        try Binaries.capture("/usr/bin/env", arguments)
    }
}
