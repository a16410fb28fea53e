// The IRM heatmap (Smith et al.; the reference's src/utils/tensor_logger.py): rows = injection layers (top row = first layer), columns = hidden
// index, colour = the IRM's signed output on a diverging colormap centred at 0, with a colour bar, axis
// ticks, a title and optional markers above chosen columns (the dominant index, e.g. 1512 in Llama-2-7b).
//
// Downsampling: when there are more columns (or rows) than plot pixels — 4096 hidden indices on a ~1150 px
// plot — each pixel shows, among the columns it covers, the value of largest |v| (sign kept), not the mean.
// A single dominant index therefore stays visible as a full-strength stripe instead of being averaged
// away by its neighbours; the picture errs towards showing more structure, never less.
import Foundation
import ModelIO

public struct HeatmapSpec {
    public var title: String
    /// One label per row (e.g. the injection layer numbers); when the count does not match, rows are
    /// labelled 0, 1, 2, ….
    public var rowLabels: [String]
    public var xLabel: String = "hidden index"
    public var yLabel: String = "layer"
    public var colorbarLabel: String = "IRM output"
    /// Symmetric colour limit L (v = ±L is the deepest red/blue); nil = max |v| over the matrix.
    public var limit: Float? = nil
    /// Pixels per column / row; 0 = automatic (as large as fits `maxPlotWidth` × `maxPlotHeight`, at most 32).
    public var cellWidth: Int = 0
    public var cellHeight: Int = 0
    /// Plot area limits used by the automatic cell size. With more columns than `maxPlotWidth` the plot is
    /// exactly `maxPlotWidth` wide and each pixel column shows the largest-|v| value it covers.
    public var maxPlotWidth: Int = 1152
    public var maxPlotHeight: Int = 640
    /// Columns marked with a small triangle above the plot, labelled with their index.
    public var highlightColumns: [Int] = []
    /// Font scale for labels and ticks (the title is one step larger).
    public var textScale: Int = 2
    public var colormap: DivergingColormap = .blueWhiteRed

    public init(
        title: String, rowLabels: [String] = [], xLabel: String = "hidden index", yLabel: String = "layer",
        colorbarLabel: String = "IRM output", limit: Float? = nil, highlightColumns: [Int] = []
    ) {
        self.title = title; self.rowLabels = rowLabels; self.xLabel = xLabel; self.yLabel = yLabel
        self.colorbarLabel = colorbarLabel; self.limit = limit; self.highlightColumns = highlightColumns
    }
}

/// Where things are on a rendered heatmap; tests and callers use it to find the pixels of a cell.
public struct HeatmapLayout {
    public let rows: Int, cols: Int
    public let canvasWidth: Int, canvasHeight: Int
    public let plotX: Int, plotY: Int, plotWidth: Int, plotHeight: Int
    public let colorbarX: Int, colorbarY: Int, colorbarWidth: Int, colorbarHeight: Int
    /// The symmetric colour limit L in use (spec.limit, or max |v|).
    public let limit: Float
    let titleScale: Int, titleY: Int, highlightLabelY: Int

    /// Columns shown by plot pixel column `px` (0-based within the plot): one column when the plot has at
    /// least one pixel per column, otherwise the span whose largest-|v| value it shows.
    public func columnRange(pixel px: Int) -> Range<Int> { span(px, plotWidth, cols) }
    public func rowRange(pixel py: Int) -> Range<Int> { span(py, plotHeight, rows) }

    /// Canvas x of the pixel column nearest the centre of column `c`; canvas y of the centre of row `r`.
    public func xCenter(column c: Int) -> Int {
        plotX + min(plotWidth - 1, Int((Double(c) + 0.5) * Double(plotWidth) / Double(cols)))
    }
    public func yCenter(row r: Int) -> Int {
        plotY + min(plotHeight - 1, Int((Double(r) + 0.5) * Double(plotHeight) / Double(rows)))
    }
}

/// Items [p·n/P, (p+1)·n/P) covered by pixel p of P, at least one (when P ≥ n, exactly item ⌊p·n/P⌋).
private func span(_ p: Int, _ pixels: Int, _ n: Int) -> Range<Int> {
    let start = p * n / pixels
    return start..<max(start + 1, (p + 1) * n / pixels)
}

/// `digits` significant digits, trailing zeros kept so every label shows the same precision
/// ("+0.0123", "1.30", "0", "-1.51e+03"); "+" on positive values when asked.
public func formatSignificant(_ v: Float, digits: Int = 3, plusSign: Bool = false) -> String {
    if v == 0 { return "0" }
    let s = String(format: "%#.\(digits)g", Double(v))
    return plusSign && v > 0 ? "+" + s : s
}

/// Layout of the heatmap `renderHeatmap` draws for these arguments (the colour-bar labels, and so the
/// canvas width, depend on the limit, hence the values).
public func heatmapLayout(values: [Float], rows: Int, cols: Int, spec: HeatmapSpec) -> HeatmapLayout {
    precondition(rows > 0 && cols > 0, "heatmap: empty matrix \(rows)×\(cols)")
    let limit = spec.limit.map { $0 > 0 && $0.isFinite ? $0 : symmetricLimit(values) } ?? symmetricLimit(values)
    let s = max(1, spec.textScale), lineH = BitmapFont.textHeight(scale: s), margin = 12
    let cw = spec.cellWidth > 0 ? spec.cellWidth : min(32, spec.maxPlotWidth / cols)
    let ch = spec.cellHeight > 0 ? spec.cellHeight : min(32, spec.maxPlotHeight / rows)
    let plotW = cw >= 1 ? cols * cw : spec.maxPlotWidth
    let plotH = ch >= 1 ? rows * ch : spec.maxPlotHeight

    let labels = rowLabelsFor(rows, spec)
    let rowLabelW = labels.map { BitmapFont.textWidth($0, scale: s) }.max() ?? 0
    let cbLabelW = [limit, -limit, limit / 2, -limit / 2]
        .map { BitmapFont.textWidth(formatSignificant($0, plusSign: true), scale: s) }.max()!

    let titleScale = s + 1
    let titleH = BitmapFont.textHeight(scale: titleScale)
    let highlightH = spec.highlightColumns.isEmpty ? 0 : 2 * (lineH + 3) + 10
    let titleY = margin
    let plotY = titleY + titleH + 12 + highlightH
    let plotX = margin + lineH + 10 + rowLabelW + 4 + 6
    let cbX = plotX + plotW + 20, cbW = 20
    let cbH = max(plotH, 6 * (lineH + 6))
    let right = cbX + cbW + 6 + 3 + cbLabelW + 10 + lineH + margin
    let bottom = max(plotY + plotH, plotY + cbH) + 6 + 3 + lineH + 10 + lineH + margin
    let titleW = BitmapFont.textWidth(spec.title, scale: titleScale) + 2 * margin
    return HeatmapLayout(
        rows: rows, cols: cols, canvasWidth: max(right, titleW), canvasHeight: bottom,
        plotX: plotX, plotY: plotY, plotWidth: plotW, plotHeight: plotH,
        colorbarX: cbX, colorbarY: plotY, colorbarWidth: cbW, colorbarHeight: cbH, limit: limit,
        titleScale: titleScale, titleY: titleY,
        highlightLabelY: plotY - highlightH)
}

private func rowLabelsFor(_ rows: Int, _ spec: HeatmapSpec) -> [String] {
    spec.rowLabels.count == rows ? spec.rowLabels : (0..<rows).map { String($0) }
}

/// Of `a` and `b`, the one with larger |v|; NaN loses to any number.
@inline(__always) private func largerMagnitude(_ a: Float, _ b: Float) -> Float {
    if a.isNaN { return b }
    if b.isNaN { return a }
    return abs(b) > abs(a) ? b : a
}

/// Tick step for `n` indices spread over `pixels`: the smallest "round" step whose labels do not collide.
/// Widths that are multiples of 256 (4096, 2048, …) get power-of-two steps (0, 512, 1024, …), others
/// 1-2-5 steps (0, 50, 100, …).
func indexTickStep(count n: Int, pixels: Int, minSpacing: Int) -> Int {
    let perIndex = Double(pixels) / Double(n)
    var candidates: [Int] = []
    if n % 256 == 0 && n >= 1024 {
        var p = 1; while p <= n { candidates.append(p); p *= 2 }
    } else {
        var m = 1
        while m <= n { candidates += [m, 2 * m, 5 * m]; m *= 10 }
    }
    return candidates.first { Double($0) * perIndex >= Double(minSpacing) } ?? max(1, n)
}

public func renderHeatmap(values: [Float], rows: Int, cols: Int, spec: HeatmapSpec) -> Canvas {
    precondition(values.count == rows * cols, "renderHeatmap: \(values.count) values for \(rows)×\(cols)")
    let lay = heatmapLayout(values: values, rows: rows, cols: cols, spec: spec)
    var cv = Canvas(width: lay.canvasWidth, height: lay.canvasHeight)
    // Title, centred over the plot when it fits there, else over the canvas.
    let tw = BitmapFont.textWidth(spec.title, scale: lay.titleScale)
    let tcx = tw <= lay.plotWidth ? lay.plotX + lay.plotWidth / 2 : lay.canvasWidth / 2
    cv.drawTextCentered(spec.title, cx: tcx, y: lay.titleY, scale: lay.titleScale)
    drawHeatmapCells(&cv, lay, values: values, rows: rows, cols: cols, spec: spec)
    drawHeatmapAxes(&cv, lay, rows: rows, cols: cols, spec: spec)
    drawHeatmapColorbar(&cv, lay, spec: spec)
    drawHighlightedColumns(&cv, lay, cols: cols, spec: spec)
    return cv
}

/// Cells: first the largest-|v| value per (row, pixel column), then per (pixel row, pixel column), so a single
/// strong column or row stays visible when there are more of them than pixels.
func drawHeatmapCells(
    _ cv: inout Canvas, _ lay: HeatmapLayout, values: [Float], rows: Int, cols: Int, spec: HeatmapSpec
) {
    let W = lay.plotWidth, H = lay.plotHeight
    var colAgg = [Float](repeating: .nan, count: rows * W)
    values.withUnsafeBufferPointer { v in
        for px in 0..<W {
            let cr = lay.columnRange(pixel: px)
            for r in 0..<rows {
                var m = Float.nan
                for c in cr { m = largerMagnitude(m, v[r * cols + c]) }
                colAgg[r * W + px] = m
            }
        }
    }
    var line = [Float](repeating: .nan, count: W)
    for py in 0..<H {
        let rr = lay.rowRange(pixel: py)
        for px in 0..<W {
            var m = Float.nan
            for r in rr { m = largerMagnitude(m, colAgg[r * W + px]) }
            line[px] = m
        }
        for px in 0..<W {
            cv.setPixel(x: lay.plotX + px, y: lay.plotY + py, spec.colormap.color(line[px], limit: lay.limit))
        }
    }
    cv.strokeRect(x: lay.plotX - 1, y: lay.plotY - 1, width: W + 2, height: H + 2, .black)
}

/// x axis: ticks at round hidden indices below the plot and the axis label; y axis: row labels, thinned so
/// they never overlap, and the rotated axis label.
func drawHeatmapAxes(_ cv: inout Canvas, _ lay: HeatmapLayout, rows: Int, cols: Int, spec: HeatmapSpec) {
    let s = max(1, spec.textScale), lineH = BitmapFont.textHeight(scale: s)
    let W = lay.plotWidth, H = lay.plotHeight
    let tickTop = lay.plotY + H + 1
    let maxLabelW = BitmapFont.textWidth(String(cols), scale: s)
    let step = indexTickStep(count: cols, pixels: W, minSpacing: maxLabelW + 3 * BitmapFont.advance * s)
    for i in stride(from: 0, to: cols, by: step) {
        let x = lay.xCenter(column: i)
        cv.fillRect(x: x, y: tickTop, width: 1, height: 6, .black)
        cv.drawTextCentered(String(i), cx: x, y: tickTop + 6 + 3, scale: s)
    }
    cv.drawTextCentered(spec.xLabel, cx: lay.plotX + W / 2, y: tickTop + 6 + 3 + lineH + 10, scale: s)

    let labels = rowLabelsFor(rows, spec)
    let rowPx = Double(H) / Double(rows)
    let every = max(1, Int((Double(lineH + 3) / rowPx).rounded(.up)))
    for r in stride(from: 0, to: rows, by: every) {
        let y = lay.yCenter(row: r)
        cv.fillRect(x: lay.plotX - 1 - 6, y: y, width: 6, height: 1, .black)
        cv.drawTextRight(labels[r], right: lay.plotX - 1 - 6 - 4, y: y - lineH / 2, scale: s)
    }
    let ylw = BitmapFont.textWidth(spec.yLabel, scale: s)
    cv.drawTextVertical(spec.yLabel, x: 12, y: lay.plotY + H / 2 - ylw / 2, scale: s)
}

/// Colour bar: +limit at the top, −limit at the bottom, ticks at ±limit, ±limit/2, 0, and its label.
func drawHeatmapColorbar(_ cv: inout Canvas, _ lay: HeatmapLayout, spec: HeatmapSpec) {
    let s = max(1, spec.textScale), lineH = BitmapFont.textHeight(scale: s)
    let cbX = lay.colorbarX, cbY = lay.colorbarY, cbW = lay.colorbarWidth, cbH = lay.colorbarHeight
    for y in 0..<cbH {
        let t = 1 - 2 * (Float(y) + 0.5) / Float(cbH)
        cv.fillRect(x: cbX, y: cbY + y, width: cbW, height: 1, spec.colormap.color(t: t))
    }
    cv.strokeRect(x: cbX - 1, y: cbY - 1, width: cbW + 2, height: cbH + 2, .black)
    var cbRight = 0
    for frac: Float in [1, 0.5, 0, -0.5, -1] {
        let y = cbY + Int((Float(cbH - 1) * (1 - frac) / 2).rounded())
        let label = formatSignificant(frac * lay.limit, plusSign: true)
        cv.fillRect(x: cbX + cbW + 1, y: y, width: 6, height: 1, .black)
        cv.drawText(label, x: cbX + cbW + 1 + 6 + 3, y: y - lineH / 2, scale: s)
        cbRight = max(cbRight, cbX + cbW + 1 + 6 + 3 + BitmapFont.textWidth(label, scale: s))
    }
    let cblw = BitmapFont.textWidth(spec.colorbarLabel, scale: s)
    cv.drawTextVertical(spec.colorbarLabel, x: cbRight + 10, y: cbY + cbH / 2 - cblw / 2, scale: s)
}

/// Highlighted columns: a triangle pointing down at the column, its index above; labels that would
/// collide with the previous one on the first line move to a second line.
func drawHighlightedColumns(_ cv: inout Canvas, _ lay: HeatmapLayout, cols: Int, spec: HeatmapSpec) {
    let s = max(1, spec.textScale), lineH = BitmapFont.textHeight(scale: s)
    var lastEnd = [Int.min, Int.min]
    for c in spec.highlightColumns.filter({ $0 >= 0 && $0 < cols }).sorted() {
        let x = lay.xCenter(column: c)
        let tipY = lay.plotY - 3
        for k in 0..<5 { cv.fillRect(x: x - k, y: tipY - k, width: 2 * k + 1, height: 1, .black) }
        let label = String(c), lw = BitmapFont.textWidth(label, scale: s)
        let lx = x - lw / 2
        let level = lx > lastEnd[1] + 4 ? 1 : (lx > lastEnd[0] + 4 ? 0 : 1)
        let ly = level == 1 ? tipY - 5 - 4 - lineH : tipY - 5 - 4 - 2 * lineH - 3
        cv.drawText(label, x: lx, y: ly, scale: s)
        lastEnd[level] = lx + lw
    }
}

/// Renders and writes the heatmap as a PNG (atomically). A value count that does not match rows × cols is
/// reported as an error naming `path`.
public func writeHeatmapPNG(values: [Float], rows: Int, cols: Int, spec: HeatmapSpec, path: String) throws {
    guard rows > 0 && cols > 0 && values.count == rows * cols else {
        throw FileError(path, "heatmap needs rows × cols = \(rows) × \(cols) values, got \(values.count)")
    }
    try renderHeatmap(values: values, rows: rows, cols: cols, spec: spec).writePNG(to: path)
}
