// The line chart of LineChart.swift as inline SVG, for HTML pages: the same LineChartFrame (ranges, ticks,
// plot rectangle, data → pixel transform), so a chart drawn as PNG and as SVG has one layout; text is real
// text (selectable, sharp at any zoom). The frame reserves room for the bitmap font (6·scale px per
// character); SVG text at font size ≈ 7.5·scale in a proportional face is narrower, so it always fits.
// No `xmlns`: an HTML parser puts inline <svg> in the SVG namespace itself, and the page stays free of URLs.

private func svgColor(_ c: RGB) -> String { "rgb(\(c.r),\(c.g),\(c.b))" }
private func fontSize(_ scale: Int) -> Int { (15 * scale + 1) / 2 }
/// Baseline of text whose bitmap version has its top at `top` (capitals are 7·scale tall).
private func baseline(_ top: Int, _ scale: Int) -> Int { top + 7 * scale }

private func svgText(_ s: String, x: Int, y: Int, scale: Int, anchor: String = "start", extra: String = "") -> String {
    "<text x=\"\(x)\" y=\"\(y)\" font-size=\"\(fontSize(scale))\" text-anchor=\"\(anchor)\"\(extra)>\(htmlEscape(s))</text>"
}

/// Series with at most this many drawable points get a marker at each point (validation losses, a few
/// checkpoints), so single points and their steps can be read.
public let svgMarkerLimit = 40

/// The chart as an `<svg>` element, `canvasWidth × canvasHeight` user units, scaling with the page (CSS may set
/// its width). Each series is a `<g class="series">` holding one `<polyline>` per unbroken run of points.
public func renderLineChartSVG(series: [ChartSeries], spec: LineChartSpec) -> HTML {
    let f = LineChartFrame(series: series, spec: spec)
    var s =
        "<svg class=\"chart\" viewBox=\"0 0 \(f.canvasWidth) \(f.canvasHeight)\" width=\"\(f.canvasWidth)\" height=\"\(f.canvasHeight)\""
    s += " role=\"img\" aria-label=\"\(htmlEscape(spec.title))\" font-family=\"sans-serif\">"
    s += "<rect x=\"0\" y=\"0\" width=\"\(f.canvasWidth)\" height=\"\(f.canvasHeight)\" fill=\"white\"/>"
    s += svgChartAxes(f)
    for (k, se) in series.enumerated() { s += svgSeries(f, se, svgColor(seriesPalette[k % seriesPalette.count])) }
    s += svgChartLegend(f, series.map { $0.name })
    return HTML(trusted: s + "</svg>")
}

/// Title, grid, ticks and their labels, frame, axis labels: drawChartAxes's elements at its coordinates.
func svgChartAxes(_ f: LineChartFrame) -> String {
    let sc = f.textScale, W = f.spec.plotWidth, H = f.spec.plotHeight, X = f.plotX, Y = f.plotY
    let grid = svgColor(.lightGray)
    var s = svgText(
        f.spec.title, x: X + W / 2, y: baseline(f.margin, sc + 1), scale: sc + 1, anchor: "middle",
        extra: " font-weight=\"bold\"")
    s += "<g stroke=\"\(grid)\" stroke-width=\"1\">"
    for x in f.xTickValues { let px = f.px(x); s += "<line x1=\"\(px)\" y1=\"\(Y)\" x2=\"\(px)\" y2=\"\(Y + H)\"/>" }
    for v in f.yTickValues { let py = f.py(v); s += "<line x1=\"\(X)\" y1=\"\(py)\" x2=\"\(X + W)\" y2=\"\(py)\"/>" }
    s += "</g><g stroke=\"black\" stroke-width=\"1\">"
    for x in f.xTickValues {
        let px = f.px(x); s += "<line x1=\"\(px)\" y1=\"\(Y + H)\" x2=\"\(px)\" y2=\"\(Y + H + 6)\"/>"
    }
    for v in f.yTickValues {
        let py = f.py(v); s += "<line x1=\"\(X - 7)\" y1=\"\(py)\" x2=\"\(X - 1)\" y2=\"\(py)\"/>"
    }
    s += "</g>"
    for x in f.xTickValues {
        s += svgText(
            formatTick(x, step: f.xTicks.step), x: f.px(x), y: baseline(Y + H + 9, sc), scale: sc, anchor: "middle")
    }
    for v in f.yTickValues {
        s += svgText(f.yLabel(v), x: X - 11, y: f.py(v) + fontSize(sc) * 7 / 20, scale: sc, anchor: "end")
    }
    s +=
        "<rect x=\"\(X)\" y=\"\(Y)\" width=\"\(W)\" height=\"\(H)\" fill=\"none\" stroke=\"black\" stroke-width=\"1\"/>"
    s += svgText(
        f.spec.xLabel, x: X + W / 2, y: baseline(Y + H + 9 + f.lineHeight + 10, sc), scale: sc, anchor: "middle")
    let cy = Y + H / 2, bx = baseline(f.margin, sc)
    s += svgText(
        f.spec.yLabel, x: bx, y: cy, scale: sc, anchor: "middle", extra: " transform=\"rotate(-90 \(bx) \(cy))\"")
    return s
}

/// One series: a polyline per unbroken run of drawable points (a non-finite point breaks the line, as in the
/// PNG), markers when the series is sparse.
func svgSeries(_ f: LineChartFrame, _ se: ChartSeries, _ color: String) -> String {
    var runs: [[(Int, Int)]] = [[]]
    for p in se.points {
        if f.usable(p) {
            runs[runs.count - 1].append(f.point(p))
        } else if !runs[runs.count - 1].isEmpty {
            runs.append([])
        }
    }
    runs = runs.filter { !$0.isEmpty }
    var s = "<g class=\"series\" data-name=\"\(htmlEscape(se.name))\">"
    for r in runs {
        s +=
            "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(f.spec.lineWidth)\" stroke-linejoin=\"round\" points=\""
        s += r.map { "\($0.0),\($0.1)" }.joined(separator: " ") + "\"/>"
    }
    if runs.reduce(0, { $0 + $1.count }) <= svgMarkerLimit {
        for r in runs {
            for p in r { s += "<circle cx=\"\(p.0)\" cy=\"\(p.1)\" r=\"\(f.spec.lineWidth + 2)\" fill=\"\(color)\"/>" }
        }
    }
    return s + "</g>"
}

/// The legend box in the plot's top-right corner, as drawChartLegend places it.
func svgChartLegend(_ f: LineChartFrame, _ names: [String]) -> String {
    guard !names.isEmpty else { return "" }
    let b = f.legendBox(names), lineH = f.lineHeight
    var s =
        "<rect x=\"\(b.x)\" y=\"\(b.y)\" width=\"\(b.width)\" height=\"\(b.height)\" fill=\"white\" stroke=\"\(svgColor(.gray))\"/>"
    for (k, n) in names.enumerated() {
        let ry = b.rowTop(k)
        s +=
            "<rect x=\"\(b.x + 8)\" y=\"\(ry + lineH / 2 - 1)\" width=\"24\" height=\"3\" fill=\"\(svgColor(seriesPalette[k % seriesPalette.count]))\"/>"
        s += svgText(n, x: b.textX, y: baseline(ry, f.textScale), scale: f.textScale)
    }
    return s
}
