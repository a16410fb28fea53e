// `irm sweep-report Runs/sweeps/NAME`: the sweep's runs side by side, written into the sweep folder —
//   summary.json           SweepSummary (SweepSummary.swift)
//   sweep.html             one self-contained page: the table (each run linked to its report.html), the dominant
//                          indices, the correlation matrix of the per-index profiles, the grid of mean heatmaps
//   sweep_grid.png         the grid: the paper's figure, for every run (one cell per run, in plan order)
//   sweep_correlation.png  the correlation matrix (rows and columns numbered as the table)
// Runs not finished are shown as such: their row says where they stand, their cell shows what they have.
import Foundation
import ModelIO
import Figures
import Training

public struct SweepReportFiles {
    public var summary: SweepSummary
    public var summaryPath: String, htmlPath: String, gridPath: String, correlationPath: String
}

func buildSweepSummary(_ folder: SweepFolder) throws -> (SweepSummary, [SweepRunData]) {
    let plan = try folder.readPlan()
    let data = plan.runs.map { sweepRunData(folder, $0) }
    let rows = data.map(\.summary)
    let (names, corr) = profileCorrelations(data)
    let summary = SweepSummary(
        sweep: folder.path, planSource: plan.source, runs: rows, dominantIndices: dominantIndexCounts(rows),
        profileRuns: names, profileCorrelation: corr, meanProfileCorrelation: meanOffDiagonal(corr),
        gridPNG: sweepGridPNG, correlationPNG: sweepCorrelationPNG)
    return (summary, data)
}

let sweepGridPNG = "sweep_grid.png", sweepCorrelationPNG = "sweep_correlation.png"

/// Writes the four files (each atomically) and returns what was written.
public func writeSweepReport(_ folder: SweepFolder) throws -> SweepReportFiles {
    let (summary, data) = try buildSweepSummary(folder)
    let grid = encoded(sweepGrid(data)), corr = encoded(correlationFigure(summary))
    let f = SweepReportFiles(
        summary: summary, summaryPath: folder.path + "/summary.json", htmlPath: folder.path + "/sweep.html",
        gridPath: folder.path + "/" + sweepGridPNG, correlationPath: folder.path + "/" + sweepCorrelationPNG)
    try writeJSONFile(summary, to: f.summaryPath)
    try writeFileAtomically(f.gridPath, grid.bytes)
    try writeFileAtomically(f.correlationPath, corr.bytes)
    try writeFileAtomically(f.htmlPath, Array(sweepPage(summary, grid: grid, correlation: corr).utf8))
    return f
}

func encoded(_ c: Canvas) -> PNGFile { PNGFile(bytes: c.image.encode(), width: c.width, height: c.height) }

// MARK: figures

/// One cell per run: its mean heatmap titled with its number and name, or a grey box saying what is missing.
func sweepGrid(_ data: [SweepRunData]) -> Canvas {
    let cells: [Canvas] = data.enumerated().map { k, d in
        let title = "\(k + 1). \(d.summary.name)" + (d.summary.finished ? "" : " (unfinished)")
        guard let m = d.matrix else {
            var c = Canvas(width: 420, height: 120, background: .lightGray)
            c.drawText(title, x: 8, y: 8, scale: 1)
            c.drawText(d.summary.status, x: 8, y: 30, scale: 1, .gray)
            c.drawText("no mean heatmap yet", x: 8, y: 50, scale: 1, .gray)
            return c
        }
        var spec = HeatmapSpec(title: title, rowLabels: m.rowLabels)
        spec.maxPlotWidth = 360; spec.maxPlotHeight = 120; spec.textScale = 1
        if let dom = d.summary.dominantIndex, dom < m.cols { spec.highlightColumns = [dom] }
        return renderHeatmap(values: m.values, rows: m.rows, cols: m.cols, spec: spec)
    }
    let columns = gridColumns(data.map { $0.summary.dataset ?? "" })
    let gap = 12
    var widths = [Int](repeating: 0, count: columns), heights: [Int] = []
    for (k, c) in cells.enumerated() {
        widths[k % columns] = max(widths[k % columns], c.width)
        if k % columns == 0 { heights.append(0) }
        heights[k / columns] = max(heights[k / columns], c.height)
    }
    var canvas = Canvas(
        width: max(1, widths.reduce(gap, { $0 + $1 + gap })), height: max(1, heights.reduce(gap, { $0 + $1 + gap })))
    for (k, c) in cells.enumerated() {
        let x = gap + widths[..<(k % columns)].reduce(0) { $0 + $1 + gap }
        let y = gap + heights[..<(k / columns)].reduce(0) { $0 + $1 + gap }
        canvas.draw(c, x: x, y: y)
    }
    return canvas
}

/// One grid row per dataset when the runs come dataset by dataset in equal groups of at most 10 (the paper plan:
/// 3 × 8); otherwise a near-square grid.
func gridColumns(_ datasets: [String]) -> Int {
    guard !datasets.isEmpty else { return 1 }
    var groups: [Int] = []
    for (k, d) in datasets.enumerated() {
        if k == 0 || d != datasets[k - 1] { groups.append(0) }; groups[groups.count - 1] += 1
    }
    if let g = groups.first, groups.count > 1, (2...10).contains(g), groups.allSatisfy({ $0 == g }) { return g }
    return max(1, Int(Double(datasets.count).squareRoot().rounded(.up)))
}

func correlationFigure(_ s: SweepSummary) -> Canvas {
    let n = s.profileRuns.count
    guard n > 0 else {
        var c = Canvas(width: 420, height: 60, background: .lightGray)
        c.drawText("no run has a per-index profile yet", x: 8, y: 22, scale: 1)
        return c
    }
    let number = Dictionary(uniqueKeysWithValues: s.runs.enumerated().map { ($0.element.name, $0.offset + 1) })
    var spec = HeatmapSpec(
        title: "Correlation of the runs' per-index profiles (|column mean|)",
        rowLabels: s.profileRuns.map { "\(number[$0] ?? 0)" }, xLabel: "run (table order)", yLabel: "run",
        colorbarLabel: "Pearson r", limit: 1)
    spec.maxPlotWidth = 640; spec.maxPlotHeight = 640
    return renderHeatmap(values: s.profileCorrelation.flatMap { $0.map(Float.init) }, rows: n, cols: n, spec: spec)
}

// MARK: the page

func sweepPage(_ s: SweepSummary, grid: PNGFile, correlation: PNGFile) -> String {
    let finished = s.runs.filter(\.finished).count
    var cards: [HTML] = []
    func card(_ k: String, _ v: String, _ d: String) { cards.append(glanceCard(k, v, d)) }
    card("runs finished", "\(finished) of \(s.runs.count)", "plan: \(s.planSource)")
    let counted = s.runs.filter { $0.dominantIndex != nil }.count
    if let top = s.dominantIndices.first {
        card(
            "most common dominant index", "\(top.index)", "dominates \(top.runs.count) of the \(counted) runs measured")
    }
    if let m = s.meanProfileCorrelation {
        card("mean profile correlation", num(m), "over \(s.profileRuns.count) runs, off-diagonal")
    }
    let glance = HTML.el("div", ["class": "glance"], cards)

    let rows: [[HTML]] = s.runs.enumerated().map { k, r in
        let name = r.report.map { HTML.el("a", ["href": $0], .text(r.name)) } ?? .text(r.name)
        let align = r.alignmentRate.map { num($0, 2) + (r.baseAlignmentRate.map { " vs " + num($0, 2) } ?? "") } ?? "–"
        return [
            "\(k + 1)", name, .text(r.status), .text(r.dataset ?? "–"), .text(r.layers ?? "–"),
            .text(r.l1.map { String(format: "%g", $0) } ?? "–"),
            .text(r.objective ?? "–"), .text(r.steps.map(String.init) ?? "–"), .text(num(r.finalValidationLoss, 4)),
            .text(align),
            .text(percent(r.indexShare)), .text(r.dominantIndex.map(String.init) ?? "–"),
            .text(percent(r.dominantShare, 2)),
            .text(r.statsSource ?? "–")
        ]
    }
    let table = htmlTable(
        header: [
            "#", "run", "status", "dataset", "layers", "L1", "objective", "steps", "final val. loss",
            "alignment (IRM vs none)", "index share of variance", "dominant index", "its share", "statistics from"
        ],
        rows: rows, numeric: [0, 7, 8, 9, 10, 11, 12], rowClasses: s.runs.map { $0.finished ? nil : "unfinished" })
    let problems = s.runs.flatMap { r in r.problems.map { r.name + ": " + $0 } }
    var sections = [
        ReportSection(
            id: "runs", title: "Runs",
            body: table
                + paragraph(
                    .text(
                        "Alignment: share of greedy answers the emotion classifier gives the run's target emotion, with the IRM vs the "
                            + "frozen model (from analysis.json's probe set, else eval.json). Index share of variance: the two-way decomposition "
                            + "of the IRM's mean [layers × hidden] output (analysis.json), or the trainer's last striation.csv row. "
                            + "Dominant index: the largest |column mean|, its share of Σ|column means|."))
                + HTML.join(problems.map(problemLine)))
    ]
    let dom = s.dominantIndices.prefix(8).map { d -> [HTML] in
        ["\(d.index)", "\(d.runs.count)", .text(d.runs.joined(separator: ", "))]
    }
    sections.append(
        ReportSection(
            id: "dominant", title: "Dominant indices across runs",
            body: dom.isEmpty
                ? notComputed("no run has striation statistics yet", command: "irm analyze --run RUN")
                : htmlTable(header: ["hidden index", "runs it dominates", "which"], rows: dom, numeric: [0, 1])))
    sections.append(
        ReportSection(
            id: "correlation", title: "How alike the runs' per-index profiles are",
            body: figure(
                pngImage(
                    correlation.bytes, alt: "profile correlation matrix", width: correlation.width,
                    height: correlation.height),
                caption: "Pearson correlation between runs of the IRM's |column mean| per hidden index (averaged over "
                    + "tokens and injection layers); rows and columns numbered as the table.")))
    sections.append(
        ReportSection(
            id: "grid", title: "Mean heatmaps of every run",
            body: figure(
                pngImage(grid.bytes, alt: "grid of mean heatmaps", width: grid.width, height: grid.height),
                caption:
                    "Each run's IRM output averaged over the tokens (rows: injection layers, columns: hidden index, "
                    + "each with its own colour scale); the triangle marks the run's dominant index. Also \(s.gridPNG)."
            )))
    let subtitle =
        HTML.text("\(s.runs.count) runs in ") + code(s.sweep)
        + HTML.text(" — written \(ISO8601DateFormatter().string(from: Date())) by irm \(s.programVersion).")
    return reportPage(
        title: "Sweep \((s.sweep as NSString).lastPathComponent)", subtitle: subtitle, glance: glance,
        sections: sections)
}
