import Foundation

/// A small static chart rendered as inline SVG: one x axis of update numbers, one y axis (linear or log10), data
/// series drawn as lines, points or bars, dashed horizontal reference lines (limits, budgets) and shaded x ranges.
/// No script and no external resources, so the report opens anywhere, offline, and prints as it looks.
struct SVGChart {
    enum Scale { case linear, log10 }

    enum Style {
        /// Points joined by a line; each point is a marker with a tooltip.
        case line
        /// Markers only.
        case points
        /// Bars from the axis (or the bottom of a log axis) up to the value.
        case bars
    }

    struct Point {
        var x: Double
        var y: Double
        /// Tooltip (SVG `<title>`: shown on hover without script).
        var note: String
        /// Drawn hollow: e.g. an update that was computed but not applied.
        var hollow = false
    }

    struct Series {
        var name: String
        var color: String
        var style: Style
        var points: [Point]
    }

    struct Reference {
        var name: String
        var value: Double
        var color: String
    }

    struct Band {
        var from: Double
        var to: Double
        var label: String
    }

    var id: String
    var title: String
    var xLabel: String
    var yLabel: String
    /// Plot-area fill; unique per chart so a screenshot test can find each plot area.
    var background: String
    var xDomain: ClosedRange<Double>
    var scale: Scale = .linear
    /// Fixed y range; nil fits the data and the references.
    var yDomain: ClosedRange<Double>?
    var yFormat: (Double) -> String
    var series: [Series] = []
    var references: [Reference] = []
    var bands: [Band] = []
    /// Legend rows to leave room for even if fewer are needed: charts side by side keep their plot areas level.
    var legendRows = 1

    static let width = 600.0
    static let height = 300.0
    static let margin = (left: 70.0, right: 18.0, top: 44.0, bottom: 46.0)
    static let bandFill = "#e6e6e6"

    /// Height of one legend row.
    static let legendLine = 16.0

    /// The chart's height: `height`, plus a line for each legend row after the first (the plot area keeps its size).
    var totalHeight: Double { Self.height + Double(legendLayout().rows - 1) * Self.legendLine }

    var plot: (x: Double, y: Double, width: Double, height: Double) {
        let top = Self.margin.top + Double(legendLayout().rows - 1) * Self.legendLine
        return (Self.margin.left, top, Self.width - Self.margin.left - Self.margin.right, Self.height - Self.margin.top - Self.margin.bottom)
    }

    /// The y range: the fixed one, or the data and reference values with some headroom.
    var resolvedYDomain: ClosedRange<Double> {
        if let yDomain { return yDomain }
        let values = series.flatMap { $0.points.map(\.y) } + references.map(\.value)
        let usable = values.filter { $0.isFinite && (scale == .linear || $0 > 0) }
        guard let low = usable.min(), let high = usable.max() else { return scale == .log10 ? 0.1...1 : 0...1 }
        switch scale {
        case .linear:
            let bottom = min(0, low)
            let top = high > bottom ? high + (high - bottom) * 0.08 : bottom + 1
            return bottom...top
        case .log10:
            let l = Foundation.log10(low)
            let h = Foundation.log10(high)
            return pow(10, (l - 0.15).rounded(.down))...pow(10, (h + 0.15).rounded(.up))
        }
    }

    func xPosition(_ x: Double) -> Double {
        plot.x + (x - xDomain.lowerBound) / (xDomain.upperBound - xDomain.lowerBound) * plot.width
    }

    func yPosition(_ y: Double) -> Double {
        let domain = resolvedYDomain
        let fraction: Double
        switch scale {
        case .linear:
            fraction = (y - domain.lowerBound) / (domain.upperBound - domain.lowerBound)
        case .log10:
            let v = max(y, domain.lowerBound)
            fraction =
                (Foundation.log10(v) - Foundation.log10(domain.lowerBound))
                / (Foundation.log10(domain.upperBound) - Foundation.log10(domain.lowerBound))
        }
        return plot.y + plot.height * (1 - min(max(fraction, 0), 1))
    }

    /// The SVG element.
    func render() -> String {
        var svg: [String] = []
        let p = plot
        let count = series.reduce(0) { $0 + $1.points.count }
        svg.append(
            #"<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="\#(id)" width="\#(Int(Self.width))" height="\#(Int(totalHeight))" viewBox="0 0 \#(Int(Self.width)) \#(Int(totalHeight))" role="img" aria-label="\#(HTML.escape(title))" data-points="\#(count)" data-plot-background="\#(background)" data-series-colors="\#(series.map(\.color).joined(separator: " "))">"#
        )
        svg.append("<title>\(HTML.escape(title))</title>")
        svg.append(#"<rect class="plot-area" x="\#(f(p.x))" y="\#(f(p.y))" width="\#(f(p.width))" height="\#(f(p.height))" fill="\#(background)"/>"#)
        for band in bands {
            let x0 = xPosition(max(band.from, xDomain.lowerBound))
            let x1 = xPosition(min(band.to, xDomain.upperBound))
            svg.append(
                #"<g class="band"><rect x="\#(f(x0))" y="\#(f(p.y))" width="\#(f(max(x1 - x0, 0)))" height="\#(f(p.height))" fill="\#(Self.bandFill)"><title>\#(HTML.escape(band.label))</title></rect>"#
            )
            if x1 - x0 > Double(band.label.count) * 6 + 8 {
                svg.append(
                    #"<text x="\#(f((x0 + x1) / 2))" y="\#(f(p.y + 14))" text-anchor="middle" class="band-label">\#(HTML.escape(band.label))</text>"#)
            }
            svg.append("</g>")
        }
        svg.append(contentsOf: axes())
        for reference in references where reference.value.isFinite {
            let y = yPosition(reference.value)
            svg.append(
                #"<g class="reference"><line x1="\#(f(p.x))" y1="\#(f(y))" x2="\#(f(p.x + p.width))" y2="\#(f(y))" stroke="\#(reference.color)" stroke-width="1.5" stroke-dasharray="6 4"/>"#
            )
            svg.append(#"<title>\#(HTML.escape(reference.name)) \#(HTML.escape(yFormat(reference.value)))</title></g>"#)
        }
        for s in series { svg.append(contentsOf: render(s)) }
        svg.append(contentsOf: legend())
        if count == 0 {
            svg.append(
                #"<text x="\#(f(p.x + p.width / 2))" y="\#(f(p.y + p.height / 2))" text-anchor="middle" class="empty">no updates in this epoch</text>"#
            )
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    private func render(_ s: Series) -> [String] {
        var out = [#"<g class="series" data-series="\#(HTML.escape(s.name))" data-points="\#(s.points.count)">"#]
        let visible = s.points.filter { $0.y.isFinite && (scale == .linear || $0.y > 0) }
        switch s.style {
        case .bars:
            let slot = plot.width / (xDomain.upperBound - xDomain.lowerBound)
            let barWidth = max(2, slot * 0.6)
            let base = yPosition(scale == .log10 ? resolvedYDomain.lowerBound : max(0, resolvedYDomain.lowerBound))
            for point in visible {
                let top = yPosition(point.y)
                let fill = point.hollow ? "none" : s.color
                out.append(
                    #"<rect class="mark" x="\#(f(xPosition(point.x) - barWidth / 2))" y="\#(f(min(top, base)))" width="\#(f(barWidth))" height="\#(f(abs(base - top)))" fill="\#(fill)" stroke="\#(s.color)" stroke-width="1.5"><title>\#(HTML.escape(point.note))</title></rect>"#
                )
            }
        case .line, .points:
            if s.style == .line, visible.count > 1 {
                let path = visible.map { "\(f(xPosition($0.x))),\(f(yPosition($0.y)))" }.joined(separator: " ")
                out.append(#"<polyline points="\#(path)" fill="none" stroke="\#(s.color)" stroke-width="2.5" stroke-linejoin="round"/>"#)
            }
            for point in visible {
                let fill = point.hollow ? "#ffffff" : s.color
                out.append(
                    #"<circle class="mark" cx="\#(f(xPosition(point.x)))" cy="\#(f(yPosition(point.y)))" r="4.5" fill="\#(fill)" stroke="\#(s.color)" stroke-width="2"><title>\#(HTML.escape(point.note))</title></circle>"#
                )
            }
        }
        out.append("</g>")
        return out
    }

    private func axes() -> [String] {
        let p = plot
        var out = [#"<g class="axes" font-size="11" fill="rgb(51,51,51)">"#]
        out.append(#"<line x1="\#(f(p.x))" y1="\#(f(p.y + p.height))" x2="\#(f(p.x + p.width))" y2="\#(f(p.y + p.height))" stroke="rgb(51,51,51)"/>"#)
        out.append(#"<line x1="\#(f(p.x))" y1="\#(f(p.y))" x2="\#(f(p.x))" y2="\#(f(p.y + p.height))" stroke="rgb(51,51,51)"/>"#)
        for x in Self.integerTicks(xDomain) {
            let px = xPosition(x)
            out.append(#"<line x1="\#(f(px))" y1="\#(f(p.y + p.height))" x2="\#(f(px))" y2="\#(f(p.y + p.height + 5))" stroke="rgb(51,51,51)"/>"#)
            out.append(#"<text x="\#(f(px))" y="\#(f(p.y + p.height + 18))" text-anchor="middle">\#(Int(x))</text>"#)
        }
        for y in yTicks() {
            let py = yPosition(y)
            out.append(#"<line x1="\#(f(p.x - 5))" y1="\#(f(py))" x2="\#(f(p.x))" y2="\#(f(py))" stroke="rgb(51,51,51)"/>"#)
            out.append(#"<text x="\#(f(p.x - 8))" y="\#(f(py + 4))" text-anchor="end">\#(HTML.escape(yFormat(y)))</text>"#)
        }
        out.append(
            #"<text x="\#(f(p.x + p.width / 2))" y="\#(f(totalHeight - 8))" text-anchor="middle" font-size="12">\#(HTML.escape(xLabel))</text>"#)
        out.append(
            #"<text transform="translate(14 \#(f(p.y + p.height / 2))) rotate(-90)" text-anchor="middle" font-size="12">\#(HTML.escape(yLabel))</text>"#
        )
        out.append("</g>")
        return out
    }

    enum Swatch {
        case dot(String)
        case box(String)
        case dash(String)
    }

    /// Legend entries placed in rows above the plot area, wrapping at the chart's width (text width estimated at
    /// 6.6 pixels a character of the 12-pixel font, a little wider than the average, so a row never runs past the
    /// edge), and the number of rows (at least `legendRows`).
    func legendLayout() -> (entries: [(swatch: Swatch, text: String, x: Double, y: Double)], rows: Int) {
        var entries: [(Swatch, String)] = series.map { s in (s.style == .bars ? .box(s.color) : .dot(s.color), s.name) }
        entries += references.filter(\.value.isFinite).map { (.dash($0.color), "\($0.name) \(yFormat($0.value))") }
        entries += bands.prefix(1).map { (.box(Self.bandFill), $0.label) }
        var placed: [(swatch: Swatch, text: String, x: Double, y: Double)] = []
        var x = 12.0
        var y = 16.0
        var rows = 1
        for (swatch, text) in entries {
            let width = 20 + Double(text.count) * 6.6
            if x > 12, x + width > Self.width - 8 {
                x = 12
                y += Self.legendLine
                rows += 1
            }
            placed.append((swatch, text, x, y))
            x += width + 10
        }
        return (placed, max(rows, legendRows))
    }

    private func legend() -> [String] {
        var out = [#"<g class="legend" font-size="12">"#]
        for (swatch, text, x, y) in legendLayout().entries {
            switch swatch {
            case .dot(let color):
                out.append(#"<circle cx="\#(f(x + 6))" cy="\#(f(y - 4))" r="4.5" fill="\#(color)"/>"#)
            case .box(let color):
                out.append(#"<rect x="\#(f(x))" y="\#(f(y - 9))" width="12" height="10" fill="\#(color)"/>"#)
            case .dash(let color):
                out.append(
                    #"<line x1="\#(f(x))" y1="\#(f(y - 4))" x2="\#(f(x + 14))" y2="\#(f(y - 4))" stroke="\#(color)" stroke-width="1.5" stroke-dasharray="4 2"/>"#
                )
            }
            out.append(#"<text x="\#(f(x + 17))" y="\#(f(y))">\#(HTML.escape(text))</text>"#)
        }
        out.append("</g>")
        return out
    }

    /// About six round tick values across the y range (1, 2 or 5 times a power of ten apart; decades on log axes).
    func yTicks() -> [Double] {
        let domain = resolvedYDomain
        switch scale {
        case .log10:
            let low = Int(Foundation.log10(domain.lowerBound).rounded(.up))
            let high = Int(Foundation.log10(domain.upperBound).rounded(.down))
            return low <= high ? (low...high).map { pow(10, Double($0)) } : []
        case .linear:
            let step = Self.niceStep((domain.upperBound - domain.lowerBound) / 5)
            var ticks: [Double] = []
            var v = (domain.lowerBound / step).rounded(.up) * step
            while v <= domain.upperBound + step * 1e-9 {
                ticks.append(abs(v) < step * 1e-9 ? 0 : v)
                v += step
            }
            return ticks
        }
    }

    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, Foundation.log10(raw).rounded(.down))
        let fraction = raw / magnitude
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude
    }

    /// Integer x ticks, at most about 15.
    static func integerTicks(_ domain: ClosedRange<Double>) -> [Double] {
        let first = Int(domain.lowerBound.rounded(.up))
        let last = Int(domain.upperBound.rounded(.down))
        guard first <= last else { return [] }
        let step = max(1, Int(niceStep(Double(last - first + 1) / 15)))
        let ticks = stride(from: first, through: last, by: 1).filter { $0 % step == 0 }
        return (ticks.isEmpty ? [first] : ticks).map(Double.init)
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }
}

/// HTML text escaping.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
