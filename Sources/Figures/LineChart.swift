// Line charts for training curves (loss against step, one line per run or per split): axes with round
// ticks, light grid, a legend, distinct colours (seriesPalette). Non-finite points break a line rather
// than dragging it off the chart.
import Foundation

public struct LineChartSpec {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var plotWidth: Int = 900
    public var plotHeight: Int = 500
    public var textScale: Int = 2
    /// Line thickness in pixels.
    public var lineWidth: Int = 2
    /// Logarithmic y axis (positive values only; others are skipped).
    public var logY: Bool = false
    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
    }
}

/// Round tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k, about `target` of them.
func niceTicks(_ lo: Double, _ hi: Double, target: Int) -> (lo: Double, hi: Double, step: Double) {
    var lo = lo, hi = hi
    if !(hi > lo) { let d = lo == 0 ? 1 : abs(lo) * 0.1; lo -= d; hi += d }
    let raw = (hi - lo) / Double(max(1, target))
    let mag = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
    return ((lo / step).rounded(.down) * step, (hi / step).rounded(.up) * step, step)
}

/// Tick label: integers without a decimal point, otherwise as many decimals as the step needs (or
/// scientific notation for very small/large values).
func formatTick(_ v: Double, step: Double) -> String {
    if abs(v) < step * 1e-9 { return "0" }
    if abs(v) >= 1e6 || (abs(v) < 1e-3) { return String(format: "%.2g", v) }
    let decimals = max(0, Int((-log10(step)).rounded(.up)))
    return String(format: "%.\(decimals)f", v)
}

public func renderLineChart(series: [(name: String, points: [(Double, Double)])], spec: LineChartSpec) -> Canvas {
    let s = max(1, spec.textScale), lineH = BitmapFont.textHeight(scale: s), margin = 12
    func ty(_ y: Double) -> Double { spec.logY ? log10(y) : y }
    func usable(_ p: (Double, Double)) -> Bool { p.0.isFinite && p.1.isFinite && (!spec.logY || p.1 > 0) }

    var xmin = Double.infinity, xmax = -Double.infinity, ymin = Double.infinity, ymax = -Double.infinity
    for se in series { for p in se.points where usable(p) {
        xmin = min(xmin, p.0); xmax = max(xmax, p.0); ymin = min(ymin, ty(p.1)); ymax = max(ymax, ty(p.1))
    } }
    if !xmin.isFinite { xmin = 0; xmax = 1; ymin = 0; ymax = 1 }
    let xt = niceTicks(xmin, xmax, target: 8)
    // y: pad by 5 % so lines do not run along the frame, then round.
    let pad = (ymax - ymin) * 0.05
    let yt = spec.logY ? (lo: floor(ymin), hi: max(ceil(ymax), floor(ymin) + 1), step: 1.0)
                       : niceTicks(ymin - pad, ymax + pad, target: 6)

    func yLabel(_ v: Double) -> String { spec.logY ? formatSignificant(Float(pow(10, v))) : formatTick(v, step: yt.step) }
    var yLabels: [Double] = []
    var v = yt.lo
    while v <= yt.hi + yt.step * 1e-6 { yLabels.append(v); v += yt.step }
    let yLabelW = yLabels.map { BitmapFont.textWidth(yLabel($0), scale: s) }.max() ?? 0

    let plotX = margin + lineH + 10 + yLabelW + 4 + 6
    let plotY = margin + BitmapFont.textHeight(scale: s + 1) + 14
    let W = spec.plotWidth, H = spec.plotHeight
    let canvasW = max(plotX + W + 30 + margin, BitmapFont.textWidth(spec.title, scale: s + 1) + 2 * margin)
    let canvasH = plotY + H + 6 + 3 + lineH + 10 + lineH + margin
    var cv = Canvas(width: canvasW, height: canvasH)

    cv.drawTextCentered(spec.title, cx: plotX + W / 2, y: margin, scale: s + 1)
    func px(_ x: Double) -> Int { plotX + Int(((x - xt.lo) / (xt.hi - xt.lo) * Double(W - 1)).rounded()) }
    func py(_ y: Double) -> Int { plotY + H - 1 - Int(((y - yt.lo) / (yt.hi - yt.lo) * Double(H - 1)).rounded()) }

    // Grid and ticks.
    var x = xt.lo
    while x <= xt.hi + xt.step * 1e-6 {
        let X = px(x)
        cv.fillRect(x: X, y: plotY, width: 1, height: H, .lightGray)
        cv.fillRect(x: X, y: plotY + H, width: 1, height: 6, .black)
        cv.drawTextCentered(formatTick(x, step: xt.step), cx: X, y: plotY + H + 9, scale: s)
        x += xt.step
    }
    for yv in yLabels {
        let Y = py(yv)
        cv.fillRect(x: plotX, y: Y, width: W, height: 1, .lightGray)
        cv.fillRect(x: plotX - 7, y: Y, width: 6, height: 1, .black)
        cv.drawTextRight(yLabel(yv), right: plotX - 11, y: Y - lineH / 2, scale: s)
    }
    cv.strokeRect(x: plotX - 1, y: plotY - 1, width: W + 2, height: H + 2, .black)
    cv.drawTextCentered(spec.xLabel, cx: plotX + W / 2, y: plotY + H + 9 + lineH + 10, scale: s)
    let ylw = BitmapFont.textWidth(spec.yLabel, scale: s)
    cv.drawTextVertical(spec.yLabel, x: margin, y: plotY + H / 2 - ylw / 2, scale: s)

    // Lines, drawn onto a plot-sized canvas so they are clipped to the plot area, then copied in.
    var plot = Canvas(width: W, height: H)
    // Copy the grid already drawn so the lines go on top of it.
    for yy in 0..<H { for xx in 0..<W { plot.setPixel(x: xx, y: yy, cv.pixel(x: plotX + xx, y: plotY + yy)) } }
    for (k, se) in series.enumerated() {
        let c = seriesPalette[k % seriesPalette.count]
        var last: (Int, Int)? = nil
        for p in se.points {
            guard usable(p) else { last = nil; continue }
            let P = (px(p.0) - plotX, py(ty(p.1)) - plotY)
            if let l = last {
                plot.drawLine(x0: l.0, y0: l.1, x1: P.0, y1: P.1, c, thickness: spec.lineWidth)
            } else {
                plot.fillRect(x: P.0 - spec.lineWidth / 2, y: P.1 - spec.lineWidth / 2,
                              width: spec.lineWidth, height: spec.lineWidth, c)
            }
            last = P
        }
    }
    for yy in 0..<H { for xx in 0..<W { cv.setPixel(x: plotX + xx, y: plotY + yy, plot.pixel(x: xx, y: yy)) } }

    // Legend box in the top-right corner of the plot.
    if !series.isEmpty {
        let names = series.map { $0.name }
        let nameW = names.map { BitmapFont.textWidth($0, scale: s) }.max() ?? 0
        let rowH = lineH + 6, boxW = 8 + 24 + 6 + nameW + 8, boxH = 6 + rowH * names.count
        let bx = plotX + W - boxW - 8, by = plotY + 8
        cv.fillRect(x: bx, y: by, width: boxW, height: boxH, .white)
        cv.strokeRect(x: bx, y: by, width: boxW, height: boxH, .gray)
        for (k, n) in names.enumerated() {
            let c = seriesPalette[k % seriesPalette.count]
            let ry = by + 6 + k * rowH
            cv.fillRect(x: bx + 8, y: ry + lineH / 2 - 1, width: 24, height: 3, c)
            cv.drawText(n, x: bx + 8 + 24 + 6, y: ry, scale: s)
        }
    }
    return cv
}

/// The requested convenience form: title and axis labels, defaults for the rest.
public func renderLineChart(series: [(name: String, points: [(Double, Double)])], title: String,
                            xLabel: String, yLabel: String) -> Canvas {
    renderLineChart(series: series, spec: LineChartSpec(title: title, xLabel: xLabel, yLabel: yLabel))
}

public func writeLineChartPNG(series: [(name: String, points: [(Double, Double)])], spec: LineChartSpec,
                              path: String) throws {
    try renderLineChart(series: series, spec: spec).writePNG(to: path)
}
