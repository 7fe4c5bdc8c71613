import Checkpoints
import Foundation
import ProcessHarness
import TestSupport
import Testing
import UnlearnDaemon
import UnlearningCore

/// `unlearnctl report` over states with real updates (left by `unlearnctl demo`: the dev broker, `unlearnd` and
/// subject deletions of a logistic regression; and a CNN's and a residual network's, with offline deletions by
/// `unlearnctl forget`), opened in headless Chromium: the DOM Chromium parsed has plotted marks in every chart, the
/// screenshot shows each chart's plot area with pixels of its data colours, and in a 1280 x 900 window the page
/// fits (no horizontal scrolling, nothing cut off, two charts a row).
@Suite(
    "unlearnctl report",
    .serialized,
    .enabled(if: Chromium.path != nil, "Chromium is not installed (apt-get install chromium)"),
    .enabled(if: Chromium.python, "python3 is not available to decode the screenshot PNG"), .blockingWaits
)
struct ReportTests {
    @Test("the report of a demo epoch renders in headless Chromium with all four charts non-empty and fits 1280 px", .timeLimit(.minutes(5)))
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

        // The forgetting audit: the epoch's membership AUC in the summary, before/after values in every computed row.
        #expect(html.contains("<th>forgetting audit</th>"))
        #expect(html.contains("<th>membership AUC</th>") && html.contains("<th>validation loss</th>"))
        let updates = html.components(separatedBy: "<tr class=\"update").count - 1
        #expect(updates >= 10, "the demo should leave at least 10 update records; the table has \(updates)")
        // Logistic regression: one dense layer of 10 units over 64 inputs, its Delta certified.
        #expect(html.contains("<td>64-10(identity)"), "the summary lacks the network")
        #expect(html.contains("<td>layers.0</td><td>dense</td>"), "the layer table lacks the dense layer")
        #expect(html.contains("certified for logistic regression") && html.contains("<td>certified: sigma"))

        try Self.checkRendered(htmlPath: htmlPath, directory: directory, minimumDataPixels: 300)

        // An epoch without a retained snapshot is refused with a reason.
        let missing = try Binaries.run("unlearnctl", ["report", "digits", "--state-dir", state, "--out", htmlPath, "--epoch", "2"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no retained snapshot of budget epoch 2"), "\(missing.stderr)")
    }

    @Test(
        "the report of a CNN's epoch (offline deletions by each method) renders its conv layers and filters and fits 1280 px", .timeLimit(.minutes(5))
    )
    func rendersCNN() async throws {
        let directory = try Binaries.temporaryDirectory("report-cnn")
        defer {
            if ProcessInfo.processInfo.environment["UNLEARND_KEEP_TEST_DIRS"] == nil { try? FileManager.default.removeItem(at: directory) }
        }
        let base = directory.appendingPathComponent("base").path
        let train = try Binaries.run(
            "unlearnctl",
            [
                "train", "--data", "data/digits.csv.zst", "--architecture", "Config/architectures/digits-cnn.json", "--epochs", "5",
                "--lambda", "0.0001", "--out", base,
            ])
        try #require(train.status == 0, "unlearnctl train: \(train.stderr.suffix(2000))")
        let state = directory.appendingPathComponent("state").path
        let bundle = try Self.seedState(bundle: base, state: state, model: "digits-cnn")
        #expect(bundle.model.architecture.parametricLayers.map(\.name) == ["features.0", "features.3", "classifier"])

        // Offline deletions as the daemon would apply them: the default method (dampening for a CNN), L-FOCI (its
        // slices are conv filters and dense units) and Newton (every parameter), each the next snapshot.
        let subjects = Array(Set(bundle.train.subjects.compactMap { $0 })).sorted().prefix(4)
        try #require(subjects.count == 4)
        let methods: [[String]] = [[], ["--method", "lfoci"], ["--method", "newton"], ["--method", "lfoci", "--selection", "top1"]]
        for (i, (subject, method)) in zip(subjects, methods).enumerated() {
            let forget = try Binaries.run(
                "unlearnctl",
                ["forget", "--state-dir", state, "--model", "digits-cnn", "--subject", subject, "--request-id", "cnn-\(i + 1)"] + method)
            try #require(forget.status == 0, "unlearnctl forget \(method): \(forget.stderr.suffix(2000))")
        }

        let htmlPath = directory.appendingPathComponent("report.html").path
        let report = try Binaries.run("unlearnctl", ["report", "digits-cnn", "--state-dir", state, "--out", htmlPath])
        try #require(report.status == 0, "unlearnctl report: \(report.stderr)")
        #expect(report.stdout.contains("4 update records"), "\(report.stdout)")
        let html = try String(contentsOfFile: htmlPath, encoding: .utf8)

        // The network as the engine describes it, its parametric layers with filters and units, and no MLP wording.
        #expect(html.contains("<td>1x8x8 conv8k3 relu maxpool2 conv16k3 relu maxpool2 flatten dense10"), "the summary lacks the network")
        #expect(html.contains("<td>features.0</td><td>conv2d 3x3</td><td>8 filters</td>"), "the layer table lacks features.0")
        #expect(html.contains("<td>features.3</td><td>conv2d 3x3</td><td>16 filters</td>"), "the layer table lacks features.3")
        #expect(html.contains("<td>classifier</td><td>dense</td><td>10 units</td>"), "the layer table lacks the classifier")
        #expect(html.contains("reported, not certified"))
        // The block chart counts the CNN's parameters and names the slices of each update by layer: Newton's are all
        // 34 (24 filters, 10 units), so the layer table has every filter of both conv layers changed in the epoch.
        let architecture = bundle.model.architecture
        #expect(html.contains("all parameters \(architecture.parameterCount)"), "the block chart's reference is not the CNN's parameter count")
        #expect(html.contains("newton: \(architecture.parameterCount) parameters in all 34 slices"), "no block tooltip for newton")
        #expect(html.contains(" of classifier"), "no block tooltip names the classifier's units")
        #expect(html.contains("<td>8 of 8 filters</td>") && html.contains("<td>16 of 16 filters</td>"))
        // The noise limit of a CNN is the adaptive mode's (its default), not logistic regression's certified sigma.
        #expect(html.contains("<td>adaptive: sigma_max"), "the noise limit is not the adaptive mode's")
        // The per-update guard with its default allowance; the four deletions above were all applied.
        #expect(
            html.contains("<tr><th>update guard</th><td>a heuristic update may lower validation accuracy by at most two binomial standard errors"),
            "the summary lacks the per-update guard")
        #expect(html.contains("0 refused in this epoch"))
        // One row per deletion, with its method.
        #expect(html.components(separatedBy: "<tr class=\"update").count - 1 == 4)
        for method in ["dampening", "lfoci/lfoci", "newton", "lfoci/top1"] { #expect(html.contains("<td>\(method)</td>"), "no \(method) row") }

        try Self.checkRendered(htmlPath: htmlPath, directory: directory, minimumDataPixels: 40)
    }

    @Test("the report of a residual network names its strided convs and shortcuts and fits 1280 px", .timeLimit(.minutes(5)))
    func rendersResidualNetwork() async throws {
        let directory = try Binaries.temporaryDirectory("report-resnet")
        defer {
            if ProcessInfo.processInfo.environment["UNLEARND_KEEP_TEST_DIRS"] == nil { try? FileManager.default.removeItem(at: directory) }
        }
        let base = directory.appendingPathComponent("base").path
        let train = try Binaries.run(
            "unlearnctl",
            ["train", "--data", "data/digits.csv.zst", "--architecture", "resnet8", "--epochs", "1", "--lambda", "0.0001", "--out", base])
        try #require(train.status == 0, "unlearnctl train: \(train.stderr.suffix(2000))")
        let state = directory.appendingPathComponent("state").path
        let bundle = try Self.seedState(bundle: base, state: state, model: "digits-resnet")
        let subjects = Array(Set(bundle.train.subjects.compactMap { $0 })).sorted().prefix(2)
        for (i, (subject, method)) in zip(subjects, [[], ["--method", "lfoci"]]).enumerated() {
            let forget = try Binaries.run(
                "unlearnctl",
                ["forget", "--state-dir", state, "--model", "digits-resnet", "--subject", subject, "--request-id", "res-\(i + 1)"] + method)
            try #require(forget.status == 0, "unlearnctl forget \(method): \(forget.stderr.suffix(2000))")
        }
        let htmlPath = directory.appendingPathComponent("report.html").path
        let report = try Binaries.run("unlearnctl", ["report", "digits-resnet", "--state-dir", state, "--out", htmlPath])
        try #require(report.status == 0, "unlearnctl report: \(report.stderr)")
        let html = try String(contentsOfFile: htmlPath, encoding: .utf8)
        #expect(html.contains("(residual network): 10 parametric layers"), "the summary lacks the residual network")
        #expect(html.contains("<td>layer2.0.conv1</td><td>conv2d 3x3 stride 2 (residual body)</td><td>32 filters</td>"))
        #expect(html.contains("<td>layer3.0.shortcut.0</td><td>conv2d 1x1 stride 2 (residual shortcut)</td><td>64 filters</td>"))
        #expect(html.contains("<td>fc</td><td>dense</td><td>10 units</td>"))
        try Self.checkRendered(htmlPath: htmlPath, directory: directory, minimumDataPixels: 20)
    }

    /// A state directory as the daemon leaves it: the bundle imported as version 1 of `model`.
    static func seedState(bundle path: String, state: String, model: String) throws -> ModelBundle {
        let bundle = try ModelBundle.read(from: path)
        let store = try SnapshotStore(directory: try SnapshotStore.modelDirectory(root: state, modelId: model))
        var manifest = SnapshotManifest(
            modelId: model, version: 1, parentVersion: nil, parentSHA256: nil, budgetEpoch: 1, baseVersion: 1,
            createdAt: RFC3339.format(Date()), architecture: bundle.model.architecture,
            lambda: bundle.model.lambda, n0: bundle.train.count, residualN: bundle.train.count, budget: try JSONValue(encoding: BudgetState())
        )
        manifest.extensions = ["bundle_path": .string(path)]
        try store.commit(
            try Snapshot(manifest: manifest, parameters: try ModelParameters(bundle.model, standardization: bundle.descriptor.standardization)))
        return bundle
    }

    /// The checks of a written report in Chromium: self-contained; four charts whose marks Chromium parsed; a
    /// screenshot 1280 pixels wide in which every plot area is whole and holds its data colours; and the layout at
    /// a 1280 x 900 window, scrollbars shown: no horizontal scrolling, no element past the window's right edge and
    /// no text cut off by its box or its chart.
    static func checkRendered(htmlPath: String, directory: URL, minimumDataPixels: Int) throws {
        let html = try String(contentsOfFile: htmlPath, encoding: .utf8)
        // Self-contained: no script, no fetched resource (the SVG namespace URI is an identifier, not a fetch).
        #expect(!html.contains("<script"))
        for attribute in ["src=", "href=", "url(", "@import"] { #expect(!html.contains(attribute), "the report references \(attribute)") }

        // The page as written: four charts, each with its plot-area colour and data colours, and plotted points.
        let charts = Chromium.charts(in: html)
        #expect(charts.map(\.id) == ["chart-accuracy", "chart-epsilon", "chart-residual", "chart-block"])
        for chart in charts { #expect(chart.points > 0, "\(chart.id) has no points") }

        // The DOM as Chromium parsed it: every chart is an SVG element with as many marks as it declares.
        let dom = try Chromium.run(["--dump-dom", "file://\(htmlPath)"], directory: directory)
        try #require(dom.status == 0, "chromium --dump-dom: \(dom.stderr.suffix(2000))")
        let parsed = Chromium.charts(in: dom.stdout)
        #expect(parsed.map(\.id) == charts.map(\.id))
        for chart in parsed {
            #expect(chart.marks == chart.points && chart.marks > 0, "\(chart.id): \(chart.marks) marks for \(chart.points) points")
        }

        // The layout in a 1280 x 900 window with its vertical scrollbar (15 px of it): nothing wider than the window.
        let layout = try Chromium.layout(of: htmlPath, width: 1280, height: 900, directory: directory)
        #expect(layout.innerWidth == 1280, "the window is \(layout.innerWidth) px wide")
        #expect(layout.scrollWidth <= 1280, "the page is \(layout.scrollWidth) px wide at 1280 px")
        #expect(layout.scrollWidth <= layout.clientWidth, "horizontal scrolling: \(layout.scrollWidth) px in \(layout.clientWidth) px")
        #expect(layout.overflowing.isEmpty, "past the window's right edge: \(layout.overflowing.prefix(10))")
        #expect(layout.clipped.isEmpty, "cut off: \(layout.clipped.prefix(10))")
        // Two charts a row, side by side and nearly at their full 600-pixel width.
        let boxes = ["chart-accuracy", "chart-epsilon", "chart-residual", "chart-block"].map { layout.charts[$0] ?? [0, 0, 0, 0] }
        for box in boxes { #expect(box[2] >= 560, "a chart is squeezed to \(box[2]) px: \(layout.charts)") }
        #expect(boxes[0][1] == boxes[1][1] && boxes[2][1] == boxes[3][1] && boxes[2][1] > boxes[0][1], "not two charts a row: \(layout.charts)")
        #expect(boxes[1][0] >= boxes[0][0] + boxes[0][2] && boxes[3][0] >= boxes[2][0] + boxes[2][2], "charts overlap: \(layout.charts)")

        // The screenshot, 1280 px wide (tall enough for all four charts): each chart's plot area is found by its fill
        // colour, whole (clear of the right edge) and holds pixels of its data colours.
        let png = directory.appendingPathComponent("report.png").path
        let shot = try Chromium.run(["--window-size=1280,1600", "--screenshot=\(png)", "file://\(htmlPath)"], directory: directory)
        try #require(shot.status == 0 && FileManager.default.fileExists(atPath: png), "chromium --screenshot: \(shot.stderr.suffix(2000))")
        let analysis = try Chromium.analyse(png: png, charts: charts)
        #expect(analysis.width == 1280, "the screenshot is \(analysis.width) px wide")
        #expect(analysis.nonWhite > 50_000, "the screenshot is nearly blank (\(analysis.nonWhite) non-white channel values)")
        for chart in charts {
            guard let found = analysis.charts[chart.id] else {
                Issue.record("\(chart.id): plot area (fill \(chart.background)) not found in the screenshot")
                continue
            }
            // The plot area is 512 x 210 CSS pixels, less the grey band of updates after the limit at its right end; a
            // smaller box means the chart is cut off, squeezed or hidden.
            #expect(found.width >= 400 && found.height >= 190, "\(chart.id): plot area \(found.width) x \(found.height)")
            #expect(found.right < analysis.width - 8, "\(chart.id): plot area reaches the window's right edge (x \(found.right))")
            #expect(found.dataPixels >= minimumDataPixels, "\(chart.id): \(found.dataPixels) pixels of its data colours in the plot area")
        }
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

    /// Runs headless Chromium; scrollbars hidden unless `scrollbars` (then a vertical one takes 15 px of the window).
    static func run(_ arguments: [String], directory: URL, scrollbars: Bool = false) throws -> Binaries.Result {
        // A private profile: no state shared with other runs; --no-sandbox because CI runs as root.
        try shell(
            [path!, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(directory.path)/chromium-profile"]
                + (scrollbars ? [] : ["--hide-scrollbars"]) + arguments)
    }

    struct Layout: Decodable {
        /// The document's scroll width, its client width (the window less a vertical scrollbar) and the window's width.
        var scrollWidth: Int
        var clientWidth: Int
        var innerWidth: Int
        /// Elements whose box ends past the client width (or starts left of 0).
        var overflowing: [String]
        /// Elements whose content is cut off or scrolled inside them, and chart text outside its SVG.
        var clipped: [String]
        /// Each chart's box: left, top, width, height.
        var charts: [String: [Double]]
    }

    /// Measures the page's layout in a `width` x `height` window with scrollbars: a copy of the page with a script
    /// that writes the measures into the DOM on load, read back with --dump-dom. (The report has no script.)
    static let layoutScript = """
        <script>
        addEventListener("load", () => {
          const root = document.documentElement, limit = root.clientWidth + 0.5;
          const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
            (e.getAttribute("class") ? "." + e.getAttribute("class").split(" ").join(".") : "");
          const overflowing = [], clipped = [];
          for (const e of document.body.querySelectorAll("*")) {
            const r = e.getBoundingClientRect();
            if (r.width > 0 && (r.right > limit || r.left < -0.5)) overflowing.push(name(e) + " " + Math.round(r.left) + ".." + Math.round(r.right));
            const style = getComputedStyle(e);
            if (!(e instanceof SVGElement) && (style.overflowX != "visible" || style.overflowY != "visible") &&
                (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)) clipped.push(name(e) + " scrolls");
          }
          for (const svg of document.querySelectorAll("svg.chart")) {
            const box = svg.getBoundingClientRect();
            for (const t of svg.querySelectorAll("text")) {
              const r = t.getBoundingClientRect();
              if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
                clipped.push(svg.id + " text \\"" + t.textContent + "\\"");
            }
          }
          const charts = {};
          for (const svg of document.querySelectorAll("svg.chart")) {
            const r = svg.getBoundingClientRect();
            charts[svg.id] = [r.left, r.top, r.width, r.height];
          }
          const out = document.createElement("pre");
          out.id = "layout-measures";
          out.textContent = JSON.stringify({scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, innerWidth: innerWidth, overflowing, clipped, charts});
          document.body.appendChild(out);
        });
        </script>
        """

    static func layout(of htmlPath: String, width: Int, height: Int, directory: URL) throws -> Layout {
        let html = try String(contentsOfFile: htmlPath, encoding: .utf8)
        let measured = directory.appendingPathComponent("layout-\(width).html")
        try Data(html.replacingOccurrences(of: "</body>", with: layoutScript + "\n</body>").utf8).write(to: measured)
        let dom = try run(["--window-size=\(width),\(height)", "--dump-dom", "file://\(measured.path)"], directory: directory, scrollbars: true)
        guard dom.status == 0, let start = dom.stdout.range(of: "<pre id=\"layout-measures\">"),
            let end = dom.stdout.range(of: "</pre>", range: start.upperBound..<dom.stdout.endIndex)
        else { throw HarnessError("measuring the layout failed: \(dom.stderr.suffix(2000))") }
        let text = String(dom.stdout[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        return try JSONDecoder().decode(Layout.self, from: Data(text.utf8))
    }

    struct Analysis {
        struct Found {
            var width: Int
            var height: Int
            /// The box's rightmost column.
            var right: Int
            var dataPixels: Int
        }

        /// The screenshot's width in pixels.
        var width: Int
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
        result = {"width": width, "nonWhite": sum(stride - row.count(255) for row in rows), "charts": {}}
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
            result["charts"][chart["id"]] = {"width": box[2] - box[0] + 1, "height": box[3] - box[1] + 1, "right": box[2], "dataPixels": count}
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
            found[id] = Analysis.Found(
                width: value["width"] ?? 0, height: value["height"] ?? 0, right: value["right"] ?? 0, dataPixels: value["dataPixels"] ?? 0)
        }
        return Analysis(width: object["width"] as? Int ?? 0, nonWhite: object["nonWhite"] as? Int ?? 0, charts: found)
    }

    static func shell(_ arguments: [String]) throws -> Binaries.Result {
        try Binaries.capture("/usr/bin/env", arguments)
    }
}
