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

public typealias ChartSeries = (name: String, points: [(Double, Double)])

/// Where everything of a line chart goes, worked out from the data before anything is drawn: the axis
/// ranges and ticks, the plot rectangle, the canvas size and the data → pixel transforms. Shared by the
/// PNG renderer here and by any other renderer of the same chart.
public struct LineChartFrame {
    public let spec: LineChartSpec
    public let xTicks: (lo: Double, hi: Double, step: Double)
    public let yTicks: (lo: Double, hi: Double, step: Double)
    /// y tick values (in the transformed space: log10 for a log axis).
    public let yTickValues: [Double]
    public let plotX: Int, plotY: Int, canvasWidth: Int, canvasHeight: Int
    public let textScale: Int, lineHeight: Int, margin = 12

    public init(series: [ChartSeries], spec: LineChartSpec) {
        self.spec = spec
        let s = max(1, spec.textScale), lineH = BitmapFont.textHeight(scale: s)
        textScale = s; lineHeight = lineH
        var xmin = Double.infinity, xmax = -Double.infinity, ymin = Double.infinity, ymax = -Double.infinity
        for se in series {
            for p in se.points where LineChartFrame.usable(p, spec) {
                let y = LineChartFrame.ty(p.1, spec)
                xmin = min(xmin, p.0); xmax = max(xmax, p.0); ymin = min(ymin, y); ymax = max(ymax, y)
            }
        }
        if !xmin.isFinite { xmin = 0; xmax = 1; ymin = 0; ymax = 1 }
        xTicks = niceTicks(xmin, xmax, target: 8)
        // y: pad by 5 % so lines do not run along the frame, then round.
        let pad = (ymax - ymin) * 0.05
        let yt =
            spec.logY
            ? (lo: floor(ymin), hi: max(ceil(ymax), floor(ymin) + 1), step: 1.0)
            : niceTicks(ymin - pad, ymax + pad, target: 6)
        yTicks = yt
        var values: [Double] = []
        var v = yt.lo
        while v <= yt.hi + yt.step * 1e-6 { values.append(v); v += yt.step }
        yTickValues = values
        let yLabelW = values.map { BitmapFont.textWidth(LineChartFrame.yLabel($0, spec, yt.step), scale: s) }.max() ?? 0
        plotX = margin + lineH + 10 + yLabelW + 4 + 6
        plotY = margin + BitmapFont.textHeight(scale: s + 1) + 14
        canvasWidth = max(
            plotX + spec.plotWidth + 30 + margin, BitmapFont.textWidth(spec.title, scale: s + 1) + 2 * margin)
        canvasHeight = plotY + spec.plotHeight + 6 + 3 + lineH + 10 + lineH + margin
    }

    static func ty(_ y: Double, _ spec: LineChartSpec) -> Double { spec.logY ? log10(y) : y }
    static func usable(_ p: (Double, Double), _ spec: LineChartSpec) -> Bool {
        p.0.isFinite && p.1.isFinite && (!spec.logY || p.1 > 0)
    }
    static func yLabel(_ v: Double, _ spec: LineChartSpec, _ step: Double) -> String {
        spec.logY ? formatSignificant(Float(pow(10, v))) : formatTick(v, step: step)
    }
    public func usable(_ p: (Double, Double)) -> Bool { LineChartFrame.usable(p, spec) }
    public func yLabel(_ v: Double) -> String { LineChartFrame.yLabel(v, spec, yTicks.step) }
    /// x tick values.
    public var xTickValues: [Double] {
        var out: [Double] = [], x = xTicks.lo
        while x <= xTicks.hi + xTicks.step * 1e-6 { out.append(x); x += xTicks.step }
        return out
    }
    /// Canvas pixel of a data x, and of a transformed y.
    public func px(_ x: Double) -> Int {
        plotX + Int(((x - xTicks.lo) / (xTicks.hi - xTicks.lo) * Double(spec.plotWidth - 1)).rounded())
    }
    public func py(_ y: Double) -> Int {
        plotY + spec.plotHeight - 1
            - Int(((y - yTicks.lo) / (yTicks.hi - yTicks.lo) * Double(spec.plotHeight - 1)).rounded())
    }
    /// Canvas pixel of a data point (y transformed as the axis is).
    public func point(_ p: (Double, Double)) -> (Int, Int) { (px(p.0), py(LineChartFrame.ty(p.1, spec))) }
}

public func renderLineChart(series: [ChartSeries], spec: LineChartSpec) -> Canvas {
    let f = LineChartFrame(series: series, spec: spec)
    var cv = Canvas(width: f.canvasWidth, height: f.canvasHeight)
    drawChartAxes(&cv, f)
    drawChartLines(&cv, f, series)
    drawChartLegend(&cv, f, series.map { $0.name })
    return cv
}

/// Title, grid, ticks, tick labels, frame and axis labels.
func drawChartAxes(_ cv: inout Canvas, _ f: LineChartFrame) {
    let s = f.textScale, lineH = f.lineHeight, W = f.spec.plotWidth, H = f.spec.plotHeight
    let plotX = f.plotX, plotY = f.plotY
    cv.drawTextCentered(f.spec.title, cx: plotX + W / 2, y: f.margin, scale: s + 1)
    for x in f.xTickValues {
        let X = f.px(x)
        cv.fillRect(x: X, y: plotY, width: 1, height: H, .lightGray)
        cv.fillRect(x: X, y: plotY + H, width: 1, height: 6, .black)
        cv.drawTextCentered(formatTick(x, step: f.xTicks.step), cx: X, y: plotY + H + 9, scale: s)
    }
    for yv in f.yTickValues {
        let Y = f.py(yv)
        cv.fillRect(x: plotX, y: Y, width: W, height: 1, .lightGray)
        cv.fillRect(x: plotX - 7, y: Y, width: 6, height: 1, .black)
        cv.drawTextRight(f.yLabel(yv), right: plotX - 11, y: Y - lineH / 2, scale: s)
    }
    cv.strokeRect(x: plotX - 1, y: plotY - 1, width: W + 2, height: H + 2, .black)
    cv.drawTextCentered(f.spec.xLabel, cx: plotX + W / 2, y: plotY + H + 9 + lineH + 10, scale: s)
    let ylw = BitmapFont.textWidth(f.spec.yLabel, scale: s)
    cv.drawTextVertical(f.spec.yLabel, x: f.margin, y: plotY + H / 2 - ylw / 2, scale: s)
}

/// The series, drawn onto a plot-sized canvas (so they are clipped to the plot area) over a copy of the grid,
/// then copied in. A non-finite point breaks its line.
func drawChartLines(_ cv: inout Canvas, _ f: LineChartFrame, _ series: [ChartSeries]) {
    let W = f.spec.plotWidth, H = f.spec.plotHeight, lw = f.spec.lineWidth
    var plot = Canvas(width: W, height: H)
    for yy in 0..<H { for xx in 0..<W { plot.setPixel(x: xx, y: yy, cv.pixel(x: f.plotX + xx, y: f.plotY + yy)) } }
    for (k, se) in series.enumerated() {
        let c = seriesPalette[k % seriesPalette.count]
        var last: (Int, Int)? = nil
        for p in se.points {
            guard f.usable(p) else { last = nil; continue }
            let q = f.point(p)
            let P = (q.0 - f.plotX, q.1 - f.plotY)
            if let l = last {
                plot.drawLine(x0: l.0, y0: l.1, x1: P.0, y1: P.1, c, thickness: lw)
            } else {
                plot.fillRect(x: P.0 - lw / 2, y: P.1 - lw / 2, width: lw, height: lw, c)
            }
            last = P
        }
    }
    for yy in 0..<H { for xx in 0..<W { cv.setPixel(x: f.plotX + xx, y: f.plotY + yy, plot.pixel(x: xx, y: yy)) } }
}

/// Legend box in the top-right corner of the plot: a colour swatch and the name of each series.
func drawChartLegend(_ cv: inout Canvas, _ f: LineChartFrame, _ names: [String]) {
    guard !names.isEmpty else { return }
    let b = f.legendBox(names), lineH = f.lineHeight
    cv.fillRect(x: b.x, y: b.y, width: b.width, height: b.height, .white)
    cv.strokeRect(x: b.x, y: b.y, width: b.width, height: b.height, .gray)
    for (k, n) in names.enumerated() {
        let c = seriesPalette[k % seriesPalette.count]
        let ry = b.rowTop(k)
        cv.fillRect(x: b.x + 8, y: ry + lineH / 2 - 1, width: 24, height: 3, c)
        cv.drawText(n, x: b.textX, y: ry, scale: f.textScale)
    }
}

/// The legend's box (top-right corner of the plot), the top of row k and where its name starts: a 24-px
/// swatch at x + 8, the name after it.
public struct ChartLegendBox {
    public let x: Int, y: Int, width: Int, height: Int, rowHeight: Int
    public var textX: Int { x + 8 + 24 + 6 }
    public func rowTop(_ k: Int) -> Int { y + 6 + k * rowHeight }
}

extension LineChartFrame {
    public func legendBox(_ names: [String]) -> ChartLegendBox {
        let nameW = names.map { BitmapFont.textWidth($0, scale: textScale) }.max() ?? 0
        let rowH = lineHeight + 6, boxW = 8 + 24 + 6 + nameW + 8
        return ChartLegendBox(
            x: plotX + spec.plotWidth - boxW - 8, y: plotY + 8, width: boxW, height: 6 + rowH * names.count,
            rowHeight: rowH)
    }
}

/// Title and axis labels, defaults for the rest.
public func renderLineChart(
    series: [ChartSeries], title: String,
    xLabel: String, yLabel: String
) -> Canvas {
    renderLineChart(series: series, spec: LineChartSpec(title: title, xLabel: xLabel, yLabel: yLabel))
}
