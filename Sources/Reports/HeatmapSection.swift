// What the IRM injects (the paper's figure): the heatmap averaged over the tokens of one prompt and its
// continuation (heatmaps/mean.png), its striation statistics (heatmaps/summary.json), the column and layer
// profiles of the averaged matrix (heatmap.csv) and a few of the per-token maps (heatmaps/token_NNN.png).
import Foundation
import Figures
import Analysis

/// Per-token maps shown: this many, spread evenly over the recorded positions.
let tokenHeatmapsShown = 4

func heatmapSection(_ r: ReportInputs) -> ReportSection {
    let redraw = "irm heatmap --run \(r.run.path)"
    var body = HTML.empty
    if let s = r.heatmapSummary.value {
        body += paragraph(
            "Prompt ", HTML.el("q", [:], .text(s.prompt)),
            " (chat-formatted) and the greedy continuation with the IRM: ",
            HTML.el("q", [:], .text(s.generated)), HTML.text(". \(s.tokens.count) tokens recorded."))
    } else if let m = r.heatmapSummary.problem {
        body += problemLine(m)
    }

    body += rendered(r.meanHeatmap, missing: notComputed("no heatmaps yet", command: redraw)) { png in
        figure(
            pngImage(png.bytes, alt: "IRM output averaged over the tokens", width: png.width, height: png.height),
            caption:
                "Rows: injection layers; columns: hidden index; colour: the IRM's signed output averaged over the tokens "
                + "(blue negative, white 0, red positive; the colour bar gives the scale). The triangle marks the dominant index."
        )
    }
    if let s = r.heatmapSummary.value { body += striationSummary(s.stats) }
    let profiles = r.heatmapMatrix.value.map(profileCharts)
    body += profiles?.columns ?? r.heatmapMatrix.problem.map(problemLine) ?? .empty
    let top = r.heatmapSummary.value.map { topIndexTable($0.stats) }
    if top != nil || profiles != nil {
        body += HTML.el("div", ["class": "grid2"], top ?? .empty, profiles?.layers ?? .empty)
    }
    body += tokenHeatmaps(r)
    return ReportSection(id: "heatmaps", title: "What the IRM injects", body: body)
}

/// The summary's statistics in words: stripe score and dominant index.
func striationSummary(_ s: StriationStats) -> HTML {
    paragraph(
        strong("Stripe score \(num(s.stripeScore))"),
        HTML.text(
            " (share of the averaged map's energy Σv² explained by its column means; 1 = pure vertical stripes). "),
        strong("Dominant index \(s.dominantIndex)"),
        HTML.text(
            ": column mean \(formatSignificant(Float(s.dominantMean), plusSign: true)), \(percent(s.dominantShare)) of Σ|column means|."
        ))
}

/// The strongest indices of the summary with their column means and shares.
func topIndexTable(_ s: StriationStats) -> HTML {
    let absSum = s.dominantShare > 0 ? abs(s.dominantMean) / s.dominantShare : 0
    let rows: [[HTML]] = zip(s.topIndices, s.topMeans).enumerated().map { k, e in
        [
            "\(k + 1)", "\(e.0)", "\(formatSignificant(Float(e.1), plusSign: true))",
            "\(absSum > 0 ? percent(abs(e.1) / absSum, 2) : "–")"
        ]
    }
    return HTML.el(
        "div", [:], HTML.el("h3", [:], "Strongest indices of the averaged map"),
        htmlTable(
            header: ["rank", "hidden index", "column mean", "share of Σ|column means|"], rows: rows,
            numeric: [0, 1, 2, 3]))
}

/// Column profile (mean and mean |v| over layers, per hidden index) and layer profile (RMS over hidden indices,
/// per injection layer) of the averaged matrix: a stripe is a spike in the first, a band a bump in the second.
func profileCharts(_ m: LabelledMatrix) -> (columns: HTML, layers: HTML) {
    let L = m.rows, h = m.cols
    var colMean = [Double](repeating: 0, count: h), colAbs = [Double](repeating: 0, count: h)
    var layerRMS = [Double](repeating: 0, count: L)
    for j in 0..<L {
        for i in 0..<h {
            let v = Double(m.values[j * h + i])
            colMean[i] += v / Double(L); colAbs[i] += abs(v) / Double(L); layerRMS[j] += v * v / Double(h)
        }
    }
    var cs = LineChartSpec(
        title: "Column profile of the averaged map (heatmap.csv)", xLabel: "hidden index", yLabel: "over layers")
    cs.plotWidth = 1050; cs.plotHeight = 240; cs.lineWidth = 1
    let cols = renderLineChartSVG(
        series: [
            ("mean", colMean.enumerated().map { (Double($0.offset), $0.element) }),
            ("mean |value|", colAbs.enumerated().map { (Double($0.offset), $0.element) })
        ], spec: cs)
    let layerNumbers = m.rowLabels.enumerated().map { Double($0.element) ?? Double($0.offset) }
    var ls = LineChartSpec(title: "Layer profile", xLabel: "injection layer", yLabel: "RMS over indices")
    ls.plotWidth = 420; ls.plotHeight = 220
    let layers = renderLineChartSVG(
        series: [("RMS", zip(layerNumbers, layerRMS.map { $0.squareRoot() }).map { ($0, $1) })], spec: ls)
    return (
        figure(
            cols,
            caption:
                "Per hidden index, over the injection layers: a vertical stripe is a spike; the signed mean is what the stripe score measures."
        ),
        figure(layers, caption: "How strongly each injection layer is pushed (RMS of its row of the averaged map).")
    )
}

/// The per-token maps the inputs picked, evenly spread from the first recorded position to the last.
func tokenHeatmaps(_ r: ReportInputs) -> HTML {
    guard !r.tokenHeatmaps.isEmpty else { return .empty }
    let figs = r.tokenHeatmaps.map { pos, png in
        rendered(png, missing: .empty) { png in
            let token = r.heatmapSummary.value.flatMap { pos < $0.tokens.count ? $0.tokens[pos] : nil }
            return figure(
                pngImage(png.bytes, alt: "IRM output at position \(pos)", width: png.width, height: png.height),
                caption: HTML.text("Position \(pos)") + (token.map { HTML.text(", token ") + code($0) } ?? .empty))
        }
    }
    return HTML.el("h3", [:], "Single tokens")
        + paragraph(
            .text(
                "\(figs.count) of the \(r.tokenHeatmapCount) per-token maps, on one colour scale shared by all tokens (so they compare with each other, not with the mean)."
            ))
        + HTML.el("div", ["class": "grid2"], figs)
}
