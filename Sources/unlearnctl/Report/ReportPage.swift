import Foundation
import UnlearningCore

/// The report as one self-contained HTML page: a summary, four inline SVG charts over the epoch's updates and a
/// table of the update records. No script, no stylesheet or font from the network.
struct ReportPage {
    var data: ReportData
    var generatedAt: String

    /// Chart colours. Data series never use red or grey, which mark limits; every plot area has its own tint.
    enum Color {
        static let forgottenAfter = "#1f5fa8"
        static let forgottenBefore = "#8fb8e0"
        static let validation = "#2a9d3a"
        static let epsilon = "#7a3db8"
        static let residual = "#e07b00"
        static let block = "#15808a"
        static let limit = "#d62728"
        static let neutral = "#6b6b6b"
    }

    static let chartIDs = ["chart-accuracy", "chart-epsilon", "chart-residual", "chart-block"]

    var network: NetworkDescription { NetworkDescription(data.architecture) }

    var charts: [SVGChart] {
        let network = network
        let updates = data.updates
        let xDomain = 0.5...(Double(max(updates.count, 1)) + 0.5)
        let computed = updates.filter { !$0.afterLimit }
        var bands: [SVGChart.Band] = []
        if let first = updates.first(where: \.afterLimit) {
            bands.append(SVGChart.Band(from: Double(first.number) - 0.5, to: xDomain.upperBound, label: "after the limit (recorded only)"))
        }
        func percent(_ v: Double) -> String { String(format: "%.0f%%", 100 * v) }
        func note(_ u: ReportData.Update, _ text: String) -> String {
            "update \(u.number) (\(u.rows) rows, \(u.outcome.replacingOccurrences(of: "_", with: " "))): \(text)"
        }

        var accuracy = SVGChart(
            id: Self.chartIDs[0], title: "Accuracy on the forgotten rows vs validation accuracy", xLabel: "update (batch) in the epoch",
            yLabel: "accuracy", background: "#f5f8fc", xDomain: xDomain, yDomain: Self.accuracyDomain(computed, floor: data.accuracyFloor),
            yFormat: percent
        )
        accuracy.series = [
            SVGChart.Series(
                name: "forgotten rows, before", color: Color.forgottenBefore, style: .points,
                points: computed.compactMap { u in
                    u.forgottenAccuracyBefore.map {
                        SVGChart.Point(x: Double(u.number), y: $0, note: note(u, "forgotten-row accuracy before \(percent($0))"))
                    }
                }),
            SVGChart.Series(
                name: "forgotten rows, after", color: Color.forgottenAfter, style: .line,
                points: computed.compactMap { u in
                    u.forgottenAccuracyAfter.map {
                        SVGChart.Point(x: Double(u.number), y: $0, note: note(u, "forgotten-row accuracy after \(percent($0))"), hollow: !u.applied)
                    }
                }),
            SVGChart.Series(
                name: "validation", color: Color.validation, style: .line,
                points: computed.compactMap { u in
                    u.validationAccuracy.map {
                        SVGChart.Point(
                            x: Double(u.number), y: $0, note: note(u, "validation accuracy \(String(format: "%.1f%%", 100 * $0))"), hollow: !u.applied
                        )
                    }
                }),
        ]
        if let floor = data.accuracyFloor { accuracy.references = [SVGChart.Reference(name: "accuracy guard", value: floor, color: Color.neutral)] }
        accuracy.bands = bands

        var epsilon = SVGChart(
            id: Self.chartIDs[1], title: "Privacy budget: epsilon spent vs budget", xLabel: "update (batch) in the epoch",
            yLabel: "epsilon spent (cumulative)", background: "#f7f5fc", xDomain: xDomain,
            yFormat: { String(format: "%g", ($0 * 100).rounded() / 100) }
        )
        epsilon.series = [
            SVGChart.Series(
                name: "epsilon spent", color: Color.epsilon, style: .line,
                points: computed.map { u in
                    SVGChart.Point(
                        x: Double(u.number), y: u.epsilonSpent, note: note(u, String(format: "epsilon spent %.3f", u.epsilonSpent)),
                        hollow: !u.applied)
                })
        ]
        if let policy = data.policy { epsilon.references = [SVGChart.Reference(name: "budget", value: policy.epsilonBudget, color: Color.limit)] }
        epsilon.bands = bands

        let bounds = computed.compactMap { u in u.residualBound.map { (u, $0) } }
        let positive = bounds.map(\.1).filter { $0 > 0 } + (data.residualBoundLimit.map { [$0] } ?? [])
        let spread = (positive.max() ?? 1) / max(positive.min() ?? 1, 1e-300)
        var residual = SVGChart(
            id: Self.chartIDs[2], title: "Residual bound Delta vs its limit", xLabel: "update (batch) in the epoch",
            yLabel: "Delta = ||grad F_residual|| / lambda", background: "#fcf7f2", xDomain: xDomain,
            scale: spread > 100 && bounds.allSatisfy { $0.1 > 0 } ? .log10 : .linear, yFormat: { String(format: "%.3g", $0) }
        )
        residual.series = [
            SVGChart.Series(
                name: "residual bound Delta", color: Color.residual, style: .line,
                points: bounds.map { u, delta in
                    SVGChart.Point(
                        x: Double(u.number), y: delta,
                        note: note(
                            u,
                            String(format: "Delta %.4g, noise sigma %.4g%@", delta, u.noiseSigma, u.certified ? " (certified)" : " (not certified)")),
                        hollow: !u.applied
                    )
                })
        ]
        if let limit = data.residualBoundLimit { residual.references = [SVGChart.Reference(name: "Delta limit", value: limit, color: Color.limit)] }
        residual.bands = bands

        var block = SVGChart(
            id: Self.chartIDs[3], title: "Block size per update (cf. Figure 7a of Mehta et al. 2022)", xLabel: "update (batch) in the epoch",
            yLabel: "parameters in the updated block", background: "#f3faf8", xDomain: xDomain, yFormat: { String(format: "%g", $0) }
        )
        block.series = [
            SVGChart.Series(
                name: "block size", color: Color.block, style: .bars,
                points: computed.filter { $0.blockSize > 0 }.map { u in
                    SVGChart.Point(
                        x: Double(u.number), y: Double(u.blockSize),
                        note: note(u, Self.blockNote(u, network: network)), hollow: !u.applied
                    )
                })
        ]
        block.references = [SVGChart.Reference(name: "all parameters", value: Double(data.parameterCount), color: Color.neutral)]
        block.bands = bands
        var charts = [accuracy, epsilon, residual, block]
        // The same room for the legend above every plot area, so charts side by side line up.
        let legendRows = charts.map { $0.legendLayout().rows }.max() ?? 1
        for i in charts.indices { charts[i].legendRows = legendRows }
        return charts
    }

    /// The block of one update: its method, its size and how its slices (units and filters) spread over the layers.
    static func blockNote(_ u: ReportData.Update, network: NetworkDescription) -> String {
        var text = "\(Self.method(u)): \(u.blockSize) parameters"
        if !u.slices.isEmpty { text += " in " + network.describe(u.slices) }
        if let dampened = u.dampenedParameters { text += "; \(dampened) of them dampened" }
        if let salient = u.salientParameters { text += "; \(salient) of them salient" }
        if let steps = u.optimizerSteps { text += "; \(steps) optimiser steps" }
        return text
    }

    /// The method's name (`newton`, `dampening`, `finetune`, ...), or `lfoci/<selection>`.
    static func method(_ u: ReportData.Update) -> String {
        let method = u.method ?? "lfoci"
        return method == "lfoci" ? "lfoci/" + (u.selection ?? "-") : method
    }

    /// From a round tenth below the lowest accuracy (and the guard) to 100%, so small changes stay visible.
    static func accuracyDomain(_ updates: [ReportData.Update], floor: Double?) -> ClosedRange<Double> {
        let values =
            updates.flatMap { [$0.forgottenAccuracyBefore, $0.forgottenAccuracyAfter, $0.validationAccuracy].compactMap { $0 } }
            + (floor.map { [$0] } ?? [])
        let low = ((values.min() ?? 0) - 0.05) * 10
        return max(0, low.rounded(.down) / 10)...1.0
    }

    func render() -> String {
        let d = data
        let applied = d.updates.filter(\.applied).count
        let releases = d.updates.filter(\.released).count
        let refused = d.updates.filter { !$0.released && !$0.reasonsRaised.isEmpty }.count
        let recorded = d.updates.filter(\.afterLimit).count
        let removed = d.updates.reduce(0) { $0 + $1.rows }
        let network = network
        var summary: [(String, String)] = [
            ("model", d.model),
            ("network", network.summary),
            ("budget epoch", "\(d.epoch) (base snapshot v\(d.baseVersion))"),
            ("newest snapshot", "v\(d.snapshotVersion), written \(d.snapshotCreatedAt)"),
            ("training rows", "\(d.residualRows) of \(d.originalRows) remain"),
            (
                "update records",
                "\(d.updates.count): \(applied) updates applied to the noise-free state, \(releases) releases, \(refused) reached a limit, \(recorded) recorded after the limit; \(removed) rows"
            ),
            ("certified releases", "\(d.updates.filter(\.certified).count) of \(releases)"),
        ]
        if let spent = d.epsilonSpent {
            summary.append(
                (
                    "epsilon spent",
                    String(format: "%.3f", spent) + (d.policy.map { String(format: " of %g (delta %g)", $0.epsilonBudget, $0.delta) } ?? "")
                ))
        }
        if let policy = d.policy {
            let noise =
                d.mode == .certified
                ? String(format: "certified: sigma %g at epsilon_step %g", policy.sigma, policy.epsilonStep)
                : String(format: "adaptive: sigma_max %g at epsilon_step %g", policy.sigmaMax, policy.epsilonStep)
            summary.append(("noise limit", noise + String(format: ": Delta limit %.4g", d.residualBoundLimit ?? .nan)))
            if let floor = d.accuracyFloor {
                summary.append(
                    (
                        "accuracy guard",
                        String(
                            format: "validation accuracy >= %.1f%% (base %.1f%% - %g)", 100 * floor, 100 * (d.budget?.baseValidationAccuracy ?? .nan),
                            policy.maxAccuracyDrop)
                    ))
            }
            let allowance =
                policy.maxUpdateAccuracyDrop.map { String(format: "at most %.2f points (budget.max_update_accuracy_drop)", 100 * $0) }
                ?? String(
                    format: "at most two binomial standard errors of the base's %.1f%% (budget.max_update_accuracy_drop auto)",
                    100 * (d.budget?.baseValidationAccuracy ?? .nan))
            summary.append(
                (
                    "update guard",
                    "a heuristic update may lower validation accuracy by \(allowance); certified newton on logistic regression is exempt; "
                        + "\(d.guardRefusals) refused in this epoch"
                ))
        } else {
            summary.append(("budget policy", "not recorded yet (the daemon records it with the first update)"))
        }
        if let auc = d.updates.last(where: { $0.membershipAUCAfter != nil })?.membershipAUCAfter {
            summary.append(
                (
                    "forgetting audit",
                    String(
                        format:
                            "loss-based membership AUC of all %d forgotten rows against the validation rows, released model: %.3f (0.5: they look like rows the model never saw; compare with a retrained model's)",
                        d.originalRows - d.residualRows, auc)
                ))
        }
        if let budget = d.budget {
            summary.append(
                ("retrain", budget.retrainRequired ? "required: " + budget.retrainReasons.map(\.rawValue).joined(separator: ", ") : "not required"))
        }

        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="unlearnctl report">
            <title>unlearnd report: \(HTML.escape(d.model)), epoch \(d.epoch)</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 24px; color: #1c1c1c; background: #ffffff; }
            h1 { font-size: 22px; margin: 0 0 4px 0; }
            h2 { font-size: 16px; margin: 24px 0 8px 0; }
            .sub { color: #555; margin: 0 0 16px 0; }
            table { border-collapse: collapse; font-size: 13px; }
            td, th { padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
            table.summary { margin-bottom: 20px; }
            table.summary th { white-space: nowrap; }
            .wide { max-width: 100%; overflow-x: auto; }
            table.grid td, table.grid th { border-bottom: 1px solid #ddd; text-align: right; padding: 3px 4px; white-space: nowrap; }
            table.grid th { white-space: normal; vertical-align: bottom; }
            table.updates { font-size: 12px; }
            table.updates :is(td, th):is(:nth-child(2), :nth-child(4), :nth-child(5)) { text-align: left; }
            table.updates td:nth-child(4) { white-space: normal; }
            table.layers :is(td, th):is(:nth-child(2), :nth-child(3)) { text-align: left; }
            .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 420px), 1fr)); gap: 20px 24px; max-width: \(2 * Int(SVGChart.width) + 24)px; }
            figure { margin: 0; min-width: 0; }
            figcaption { font-size: 13px; color: #333; margin: 0 0 4px 0; font-weight: 600; }
            .note { font-size: 12px; color: #555; max-width: 600px; margin: 4px 0 0 0; }
            svg.chart { display: block; width: 100%; max-width: \(Int(SVGChart.width))px; height: auto; }
            svg.chart text { font-family: inherit; fill: #333; }
            svg.chart .band-label { font-size: 11px; fill: #666; }
            svg.chart .reference-label { font-size: 11px; }
            svg.chart .empty { font-size: 14px; fill: #888; }
            </style>
            </head>
            <body>
            <h1>Unlearning report: model \(HTML.escape(d.model)), budget epoch \(d.epoch)</h1>
            <p class="sub">From the update records of snapshot v\(d.snapshotVersion); generated \(HTML.escape(generatedAt)) by unlearnctl report.</p>
            <table class="summary">

            """
        for (k, v) in summary { html += "<tr><th>\(HTML.escape(k))</th><td>\(HTML.escape(v))</td></tr>\n" }
        html += "</table>\n<div class=\"charts\">\n"
        let limitRule =
            d.mode == .certified
            ? "sigma * epsilon_step / sqrt(2 ln(1.25/delta)): the certified mode releases only below it"
            : "sigma_max * epsilon_step / sqrt(2 ln(1.25/delta)): a larger Delta needs more noise than sigma_max"
        let notes = [
            "Filled points: updates applied to the noise-free state; hollow: not applied (a limit was reached). Forgotten rows are the batch's rows, evaluated before the update on the served model and after it on the noise-free state the next release publishes; validation accuracy is the release's where the record is a release.",
            "Renyi-DP composition of the epoch's releases, converted to epsilon at the configured delta. The update that would exceed the budget is not released; the retrain alert follows.",
            (d.architecture.isConvex
                ? "Delta bounds the distance to the model retrained without the removed rows (certified for logistic regression with noise on all parameters)."
                : "Delta = ||grad F_residual|| / lambda would bound the distance to the retrained model if F were strongly convex; for this \(network.kind) it is reported, not certified.")
                + " The limit is \(limitRule).",
            "Parameters in the slices the update changed: every parameter for newton, the units and filters L-FOCI selected for lfoci, the slices holding a dampened parameter for dampening. A slice is one dense unit or one conv filter, with its bias. The dashed line is the model's parameter count.",
        ]
        for (chart, note) in zip(charts, notes) {
            html +=
                "<figure>\n<figcaption>\(HTML.escape(chart.title))</figcaption>\n\(chart.render())\n<p class=\"note\">\(HTML.escape(note))</p>\n</figure>\n"
        }
        html += "</div>\n"
        html += Self.layerTable(network: network, updates: d.updates)
        html += "<h2>Update records</h2>\n"
        if d.updates.isEmpty {
            html += "<p>No updates in this epoch yet.</p>\n"
        } else {
            // Headers wrap (at soft hyphens in single long words) so the table fits a 1280-pixel window; cells do not,
            // except the outcome's reasons.
            let header = [
                "#", "time (UTC)", "rows (requests)", "outcome", "method", "block", "Delta", "sigma", "certi\u{AD}fied", "ep\u{AD}silon",
                "vali\u{AD}dation", "forgotten acc", "forgotten loss", "validation loss", "membership AUC", "sec\u{AD}onds",
            ]
            html += "<div class=\"wide\">\n<table class=\"grid updates\">\n<tr>" + header.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr>\n"
            for u in d.updates {
                // Cells are numbers, timestamps and fixed words; the arrows are the only markup. The tooltip is the
                // record's full time.
                html += "<tr class=\"update\" title=\"\(HTML.escape(u.time))\">"
                html += Self.cells(u).map { "<td>\(HTML.escape($0).replacingOccurrences(of: "-&gt;", with: "&rarr;"))</td>" }.joined()
                html += "</tr>\n"
            }
            html += "</table>\n</div>\n"
        }
        html += "</body>\n</html>\n"
        return html
    }

    /// The parametric layers (dense units, conv filters) and how often the epoch's updates changed their slices.
    static func layerTable(network: NetworkDescription, updates: [ReportData.Update]) -> String {
        let steps = updates.filter { $0.applied && !$0.slices.isEmpty }
        var html = "<h2>Parametric layers</h2>\n<div class=\"wide\">\n<table class=\"grid layers\">\n<tr>"
        let header = [
            "#", "layer", "type", "slices", "parameters", "per slice (weights + bias)", "updates changing it", "slices changed in the epoch",
        ]
        html += header.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr>\n"
        for layer in network.layers {
            let changing = steps.filter { $0.slices.contains { $0.layer == layer.index } }.count
            let changed = Set(steps.flatMap { $0.slices.filter { $0.layer == layer.index }.map(\.unit) }).count
            let cells = [
                "\(layer.index)", layer.name, layer.type + (layer.place.map { " (\($0))" } ?? ""), layer.count(layer.slices), "\(layer.parameters)",
                "\(layer.parametersPerSlice)", "\(changing) of \(steps.count)", "\(changed) of \(layer.count(layer.slices))",
            ]
            html += "<tr>" + cells.map { "<td>\(HTML.escape($0))</td>" }.joined() + "</tr>\n"
        }
        return html + "</table>\n</div>\n"
    }

    /// One row of the update table.
    static func cells(_ u: ReportData.Update) -> [String] {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", 100 * $0) } ?? "-" }
        func num(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "-" }
        // A release alone changes no rows and takes no step.
        let computed = !u.afterLimit && u.outcome != "release"
        let outcome =
            u.outcome.replacingOccurrences(of: "_", with: " ") + (u.reasonsRaised.isEmpty ? "" : " (" + u.reasonsRaised.joined(separator: ", ") + ")")
        let selection = computed ? method(u) : "-"
        let block = computed ? "\(u.blockSize)" : "-"
        let delta = !u.afterLimit ? (u.residualBound.map { String(format: "%.4g", $0) } ?? "inf") : "-"
        let sigma = !u.afterLimit ? String(format: "%.4g", u.noiseSigma) : "-"
        let accuracy = pct(u.forgottenAccuracyBefore) + " -> " + pct(u.forgottenAccuracyAfter)
        let loss = num(u.forgottenLossBefore, "%.3f") + " -> " + num(u.forgottenLossAfter, "%.3f")
        return [
            "\(u.number)", shortTime(u.time), "\(u.rows) (\(u.requests))", outcome, selection, block, delta, sigma, u.certified ? "yes" : "no",
            String(format: "%.3f", u.epsilonSpent), pct(u.validationAccuracy), accuracy, loss,
            num(u.validationLossBefore, "%.3f") + " -> " + num(u.validationLossAfter, "%.3f"),
            num(u.membershipAUCBefore, "%.3f") + " -> " + num(u.membershipAUCAfter, "%.3f"), num(u.seconds, "%.2f"),
        ]
    }

    /// `2026-12-07 11:50:28` from `2026-12-07T11:50:28.420Z` (the row's tooltip has the full RFC 3339 time).
    static func shortTime(_ time: String) -> String {
        guard time.count >= 19, time.hasSuffix("Z") else { return time }
        return String(time.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }
}
