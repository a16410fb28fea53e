// Font, colormap, heatmap and line chart: pixel-level checks on the canvas and, for the heatmap, on the
// PNG as read back by the Python decoder. Also writes sample figures to /tmp/irm-figures for a human look.
import Foundation
import ModelIO
import XCTest
@testable import Figures
import TestSupport

final class FigureTests: XCTestCase {

    // MARK: font

    func testEveryPrintableASCIIGlyphIsDefined() {
        XCTAssertEqual(BitmapFont.glyphs.count, 95 * 8)
        for code in 0x21...0x7E {
            let ch = Character(Unicode.Scalar(UInt8(code)))
            let rows = BitmapFont.rows(ch)
            XCTAssertEqual(rows.count, 8)
            if !"gjpqy".contains(ch) { XCTAssertEqual(rows.last, 0, "only g j p q y use the descender row") }
            XCTAssertTrue(rows.contains { $0 != 0 }, "glyph \(ch) is blank")
            XCTAssertTrue(rows.allSatisfy { $0 < 32 }, "glyph \(ch) wider than 5")
        }
        XCTAssertTrue(BitmapFont.rows(" ").allSatisfy { $0 == 0 })
        // Distinct glyphs for distinct characters (catches copy-paste slips in the table).
        var seen: [ArraySlice<UInt8>: Character] = [:]
        for code in 0x20...0x7E {
            let ch = Character(Unicode.Scalar(UInt8(code)))
            XCTAssertNil(seen[BitmapFont.rows(ch)], "\(ch) looks like \(seen[BitmapFont.rows(ch)] ?? " ")")
            seen[BitmapFont.rows(ch)] = ch
        }
        XCTAssertEqual(BitmapFont.rows("\u{2212}"), BitmapFont.rows("-"))
        XCTAssertEqual(BitmapFont.rows("é"), BitmapFont.rows("?"))
    }

    func testTextWidthAndDrawnExtent() {
        XCTAssertEqual(BitmapFont.textWidth("", scale: 3), 0)
        XCTAssertEqual(BitmapFont.textWidth("a"), 5)
        XCTAssertEqual(BitmapFont.textWidth("abc", scale: 2), (3 * 6 - 1) * 2)
        XCTAssertEqual(BitmapFont.textHeight(scale: 3), 24)
        // "H" and "W" fill their whole 5×7 box: the ink is exactly textWidth × textHeight.
        var cv = Canvas(width: 80, height: 40)
        cv.drawText("HW", x: 10, y: 5, scale: 3)
        XCTAssertEqual(inkBox(cv)!, Box(x0: 10, y0: 5, x1: 10 + BitmapFont.textWidth("HW", scale: 3) - 1, y1: 5 + 20))
        // Rotated: width and height swap; the first character ends up at the bottom.
        var v = Canvas(width: 40, height: 80)
        v.drawTextVertical("HW", x: 4, y: 6, scale: 3)
        XCTAssertEqual(inkBox(v)!, Box(x0: 4, y0: 6, x1: 4 + 20, y1: 6 + BitmapFont.textWidth("HW", scale: 3) - 1))
        // A descender reaches the eighth row: "Hg" is a full textHeight tall.
        var g = Canvas(width: 40, height: 40)
        g.drawText("Hg", x: 0, y: 0, scale: 2)
        XCTAssertEqual(inkBox(g)!.y1, BitmapFont.textHeight(scale: 2) - 1)
        // "L" reads bottom-to-top: its foot (bottom row, 5 wide) becomes the rightmost column of the box, and
        // its stem (left column) the bottom row.
        var l = Canvas(width: 20, height: 20)
        l.drawTextVertical("L", x: 0, y: 0)
        XCTAssertEqual((0..<7).filter { l.pixel(x: $0, y: 4) == .black }.count, 7)  // stem → bottom row
        XCTAssertEqual((0..<5).filter { l.pixel(x: 6, y: $0) == .black }.count, 5)  // foot → right column
        XCTAssertEqual(l.pixel(x: 0, y: 0), .white)
    }

    // MARK: colormap

    func testColormapCentreEndsAndMonotone() {
        let m = DivergingColormap.blueWhiteRed
        XCTAssertEqual(m.color(0, limit: 2), .white)
        XCTAssertEqual(m.color(2, limit: 2), m.stops.last!)
        XCTAssertEqual(m.color(-2, limit: 2), m.stops.first!)
        XCTAssertEqual(m.color(5, limit: 2), m.stops.last!, "clamped")
        let deepRed = m.color(t: 1), deepBlue = m.color(t: -1)
        XCTAssertTrue(deepRed.r > 90 && deepRed.g < 30 && deepRed.b < 40, "\(deepRed)")
        XCTAssertTrue(deepBlue.b > 90 && deepBlue.r < 30, "\(deepBlue)")
        // Away from 0 each side gets strictly darker and keeps its hue (red side R ≥ B, blue side B ≥ R).
        func sum(_ c: RGB) -> Int { Int(c.r) + Int(c.g) + Int(c.b) }
        var prevPos = sum(.white), prevNeg = sum(.white)
        for k in 1...200 {
            let t = Float(k) / 200
            let p = m.color(t: t), n = m.color(t: -t)
            XCTAssertLessThan(sum(p), prevPos, "t=\(t)"); prevPos = sum(p)
            XCTAssertLessThan(sum(n), prevNeg, "t=-\(t)"); prevNeg = sum(n)
            XCTAssertGreaterThan(p.r, p.b); XCTAssertGreaterThan(n.b, n.r)
        }
        XCTAssertEqual(symmetricLimit([0.5, -3, .nan, 2]), 3)
        XCTAssertEqual(symmetricLimit([0, 0]), 1)
    }

    // MARK: heatmap

    func testHeatmapCellsReadBackFromPNG() throws {
        // 3 layers × 4 hidden indices; L = max|v| = 2.
        let v: [Float] = [
            2, 0, -2, 1,
            0, -2, 2, 0,
            -1, 2, 0, -2
        ]
        let spec = HeatmapSpec(title: "test", rowLabels: ["4", "5", "6"])
        let lay = heatmapLayout(values: v, rows: 3, cols: 4, spec: spec)
        let path = try tempDir() + "/cells.png"
        try writeHeatmapPNG(values: v, rows: 3, cols: 4, spec: spec, path: path)
        var pts: [String] = []
        for r in 0..<3 { for c in 0..<4 { pts.append("\(lay.xCenter(column: c)),\(lay.yCenter(row: r))") } }
        let d = try decodeWithPython(path, points: pts)
        XCTAssertEqual([d.width, d.height], [lay.canvasWidth, lay.canvasHeight])
        let m = DivergingColormap.blueWhiteRed
        let red = m.stops.last!, blue = m.stops.first!
        for r in 0..<3 {
            for c in 0..<4 {
                let got = d.at(lay.xCenter(column: c), lay.yCenter(row: r))!
                let want: RGB =
                    v[r * 4 + c] == 2
                    ? red
                    : v[r * 4 + c] == -2
                        ? blue
                        : v[r * 4 + c] == 0
                            ? .white
                            : m.color(v[r * 4 + c], limit: 2)
                XCTAssertEqual(got, [Int(want.r), Int(want.g), Int(want.b)], "cell \(r),\(c) value \(v[r * 4 + c])")
            }
        }
        XCTAssertEqual(want(red), [110, 5, 20])
        XCTAssertEqual(lay.limit, 2)
        // An explicit limit rescales: with L = 4, v = 2 is half-strength.
        var s4 = spec; s4.limit = 4
        let cv = renderHeatmap(values: v, rows: 3, cols: 4, spec: s4)
        XCTAssertEqual(cv.pixel(x: lay.xCenter(column: 0), y: lay.yCenter(row: 0)), m.color(t: 0.5))
    }

    func testDownsamplingKeepsASingleSpikeColumnVisible() {
        // Llama-2-7b width: 4096 indices on a 1152-pixel plot; small noise everywhere, index 1512 = +1 in
        // every layer, index 3000 = −1 only in layer 2.
        let rows = 6, cols = 4096
        var rng = SplitMix(seed: 11)
        var v = (0..<(rows * cols)).map { _ in 0.05 * rng.float() }
        for r in 0..<rows { v[r * cols + 1512] = 1 }
        v[2 * cols + 3000] = -1
        let spec = HeatmapSpec(title: "spike", highlightColumns: [1512])
        let lay = heatmapLayout(values: v, rows: rows, cols: cols, spec: spec)
        XCTAssertEqual(lay.plotWidth, 1152)
        let cv = renderHeatmap(values: v, rows: rows, cols: cols, spec: spec)
        let red = DivergingColormap.blueWhiteRed.stops.last!, blue = DivergingColormap.blueWhiteRed.stops.first!
        let px = (0..<lay.plotWidth).first { lay.columnRange(pixel: $0).contains(1512) }!
        XCTAssertEqual(lay.xCenter(column: 1512), lay.plotX + px)
        for r in 0..<rows {
            XCTAssertEqual(cv.pixel(x: lay.plotX + px, y: lay.yCenter(row: r)), red, "layer \(r)")
            // Its neighbours show only faint noise.
            let n = cv.pixel(x: lay.plotX + px + 3, y: lay.yCenter(row: r))
            XCTAssertGreaterThan(Int(n.r) + Int(n.g) + Int(n.b), 600, "neighbour of the stripe, layer \(r)")
        }
        let px3000 = (0..<lay.plotWidth).first { lay.columnRange(pixel: $0).contains(3000) }!
        XCTAssertEqual(cv.pixel(x: lay.plotX + px3000, y: lay.yCenter(row: 2)), blue)
        XCTAssertNotEqual(cv.pixel(x: lay.plotX + px3000, y: lay.yCenter(row: 1)), blue)
        // Pixel columns partition the indices: every index is covered exactly once.
        var covered = 0, next = 0
        for p in 0..<lay.plotWidth {
            let r = lay.columnRange(pixel: p); XCTAssertEqual(r.lowerBound, next); next = r.upperBound;
            covered += r.count
        }
        XCTAssertEqual(covered, cols)
        // The marker above the plot is drawn at the stripe (triangle tip 3 px above the frame).
        XCTAssertEqual(cv.pixel(x: lay.plotX + px, y: lay.plotY - 3), .black)

        // SmolLM2 width: 576 columns at 2 px each, no downsampling; both pixels of column 100 show it.
        var w = [Float](repeating: 0, count: 2 * 576); w[100] = -3; w[576 + 100] = 3
        let l2 = heatmapLayout(values: w, rows: 2, cols: 576, spec: HeatmapSpec(title: ""))
        XCTAssertEqual(l2.plotWidth, 1152)
        let c2 = renderHeatmap(values: w, rows: 2, cols: 576, spec: HeatmapSpec(title: ""))
        XCTAssertEqual(c2.pixel(x: l2.plotX + 200, y: l2.yCenter(row: 0)), blue)
        XCTAssertEqual(c2.pixel(x: l2.plotX + 201, y: l2.yCenter(row: 0)), blue)
        XCTAssertEqual(c2.pixel(x: l2.plotX + 202, y: l2.yCenter(row: 0)), .white)
        XCTAssertEqual(c2.pixel(x: l2.plotX + 200, y: l2.yCenter(row: 1)), red)
    }

    func testTickStepsAndLabels() {
        let s = 2, label = { (n: Int) in BitmapFont.textWidth(String(n), scale: s) + 3 * BitmapFont.advance * s }
        XCTAssertEqual(indexTickStep(count: 576, pixels: 1152, minSpacing: label(576)), 50)
        XCTAssertEqual(indexTickStep(count: 4096, pixels: 1152, minSpacing: label(4096)), 512)
        XCTAssertEqual(indexTickStep(count: 10, pixels: 320, minSpacing: label(10)), 2)
        XCTAssertEqual(formatSignificant(0.012345, plusSign: true), "+0.0123")
        XCTAssertEqual(formatSignificant(-2), "-2.00")
        XCTAssertEqual(formatSignificant(1.3), "1.30")
        XCTAssertEqual(formatSignificant(0), "0")
        XCTAssertEqual(formatSignificant(1512.7), "1.51e+03")
    }

    func testMatrixCSV() {
        let csv = matrixCSV(values: [1, -0.5, 0.25, 3], rows: 2, cols: 2, rowLabels: ["10", "a,b"])
        XCTAssertEqual(csv, "layer,0,1\n10,1.0,-0.5\n\"a,b\",0.25,3.0\n")
        XCTAssertEqual(matrixCSV(values: [7], rows: 1, cols: 1), "layer,0\n0,7.0\n")
    }

    func testWriteHeatmapRejectsWrongValueCount() {
        XCTAssertThrowsError(
            try writeHeatmapPNG(
                values: [1, 2, 3], rows: 2, cols: 2, spec: HeatmapSpec(title: ""),
                path: "/tmp/never-written.png")
        ) { e in
            XCTAssertEqual((e as? FileError)?.file, "/tmp/never-written.png")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/never-written.png"))
    }

    func testHeatmapEdgeCases() throws {
        // One cell; all zeros (limit falls back to 1, everything white); NaN shows grey.
        let one = renderHeatmap(
            values: [0], rows: 1, cols: 1, spec: HeatmapSpec(title: "a long title for a single cell"))
        let l1 = heatmapLayout(
            values: [0], rows: 1, cols: 1, spec: HeatmapSpec(title: "a long title for a single cell"))
        XCTAssertEqual(l1.limit, 1)
        XCTAssertEqual(one.pixel(x: l1.xCenter(column: 0), y: l1.yCenter(row: 0)), .white)
        XCTAssertGreaterThanOrEqual(one.width, BitmapFont.textWidth("a long title for a single cell", scale: 3))
        let nan = renderHeatmap(values: [.nan, 1], rows: 1, cols: 2, spec: HeatmapSpec(title: ""))
        let ln = heatmapLayout(values: [.nan, 1], rows: 1, cols: 2, spec: HeatmapSpec(title: ""))
        XCTAssertEqual(nan.pixel(x: ln.xCenter(column: 0), y: ln.yCenter(row: 0)), RGB(150, 150, 150))
        XCTAssertEqual(ln.limit, 1)
        // More rows than plot pixels: rows are merged by largest |v| too; a single negative row survives.
        let rows = 1000, cols = 8
        var v = [Float](repeating: 0.01, count: rows * cols); v[777 * cols + 3] = -5
        let lay = heatmapLayout(values: v, rows: rows, cols: cols, spec: HeatmapSpec(title: "tall"))
        XCTAssertEqual(lay.plotHeight, 640)
        let cv = renderHeatmap(values: v, rows: rows, cols: cols, spec: HeatmapSpec(title: "tall"))
        let py = (0..<lay.plotHeight).first { lay.rowRange(pixel: $0).contains(777) }!
        XCTAssertEqual(cv.pixel(x: lay.xCenter(column: 3), y: lay.plotY + py), DivergingColormap.blueWhiteRed.stops[0])
        // Explicit cell size wins over the automatic one.
        var spec = HeatmapSpec(title: ""); spec.cellWidth = 3; spec.cellHeight = 5
        let l3 = heatmapLayout(values: [Float](repeating: 0, count: 2000 * 2), rows: 2, cols: 2000, spec: spec)
        XCTAssertEqual([l3.plotWidth, l3.plotHeight], [6000, 10])
        // Small sample for a look.
        try FileManager.default.createDirectory(atPath: "/tmp/irm-figures", withIntermediateDirectories: true)
        var small = HeatmapSpec(title: "3 layers x 4", rowLabels: ["4", "5", "6"], highlightColumns: [2])
        small.limit = 2
        try writeHeatmapPNG(
            values: [2, 0, -2, 1, 0, -2, 2, 0, -1, 2, 0, -2], rows: 3, cols: 4, spec: small,
            path: "/tmp/irm-figures/heatmap_small.png")
    }

    // MARK: line chart

    func testLineChartDrawsEverySeriesInItsColour() throws {
        let a: [(Double, Double)] = (0...100).map { (i: Int) -> (Double, Double) in
            let x = Double(i); return (x, 3.0 * exp(-x / 30.0) + 0.5)
        }
        let b: [(Double, Double)] = (0...100).map { (i: Int) -> (Double, Double) in
            let x = Double(i); return (x, 2.5 * exp(-x / 50.0) + 0.8)
        }
        let c: [(Double, Double)] = [(0, 1), (50, .nan), (100, 2)]  // NaN breaks the line
        let cv = renderLineChart(
            series: [("train", a), ("val", b), ("gap", c)], title: "loss",
            xLabel: "step", yLabel: "loss")
        var counts = [RGB: Int]()
        for y in 0..<cv.height { for x in 0..<cv.width { counts[cv.pixel(x: x, y: y), default: 0] += 1 } }
        for k in 0..<2 { XCTAssertGreaterThan(counts[seriesPalette[k]] ?? 0, 300, "series \(k) colour") }
        // The third series has a NaN between its two points: only its legend swatch (24×3) and two dots
        // (at most 2×2 each) are drawn, no line across the gap.
        XCTAssertTrue((72...80).contains(counts[seriesPalette[2]] ?? 0), "\(counts[seriesPalette[2]] ?? 0)")
        let path = try tempDir() + "/chart.png"
        try cv.writePNG(to: path)
        let d = try decodeWithPython(path)
        XCTAssertEqual([d.width, d.height, d.channels], [cv.width, cv.height, 3])
        let t = niceTicks(0.13, 3.4, target: 8)
        XCTAssertEqual([t.lo, t.hi, t.step], [0, 3.5, 0.5])
        XCTAssertEqual(formatTick(0.5, step: 0.5), "0.5")
        XCTAssertEqual(formatTick(200, step: 50), "200")
    }

    // MARK: samples for a human look

    func testWriteSampleFigures() throws {
        let dir = "/tmp/irm-figures"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // 30 layers × 576 (SmolLM2-135M): vertical stripes at a few indices, one dominant.
        var rng = SplitMix(seed: 5)
        let rows = 30, cols = 576
        let stripes = (0..<cols).map { _ in rng.float() * (rng.next() % 9 == 0 ? 0.6 : 0.08) }
        var v = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols {
                let layerGain = 0.5 + Float(r) / Float(rows)
                v[r * cols + c] = stripes[c] * layerGain + 0.03 * rng.float()
            }
        }
        for r in 0..<rows { v[r * cols + 217] = 2.4 + 0.2 * rng.float() }
        var spec = HeatmapSpec(
            title: "IRM output, anger, mean over tokens", rowLabels: (0..<rows).map(String.init),
            highlightColumns: [217])
        spec.colorbarLabel = "IRM output"
        try writeHeatmapPNG(values: v, rows: rows, cols: cols, spec: spec, path: dir + "/heatmap_576.png")
        try writeMatrixCSV(values: v, rows: rows, cols: cols, rowLabels: spec.rowLabels, path: dir + "/heatmap_576.csv")

        // 32 layers × 4096 (Llama-2-7b), dominant index 1512 plus a second marked index.
        let cols2 = 4096
        var v2 = (0..<(32 * cols2)).map { _ in 0.02 * rng.float() }
        for r in 0..<32 { v2[r * cols2 + 1512] = -0.9 - 0.1 * Float(r % 3); v2[r * cols2 + 2533] = 0.35 }
        var spec2 = HeatmapSpec(
            title: "Llama-2-7b-chat IRM, sadness", rowLabels: (0..<32).map(String.init),
            highlightColumns: [1512, 1600, 2533])
        spec2.limit = 1
        try writeHeatmapPNG(values: v2, rows: 32, cols: cols2, spec: spec2, path: dir + "/heatmap_4096.png")

        let steps = (0...300).map(Double.init)
        var train: [(Double, Double)] = []
        for s in steps {
            let noise = 0.05 * Double(rng.float())
            train.append((s * 10, 2.8 * exp(-s / 60.0) + 0.9 + noise))
        }
        var val: [(Double, Double)] = []
        for s in stride(from: 0.0, through: 300.0, by: 25.0) { val.append((s * 10, 2.7 * exp(-s / 70.0) + 1.05)) }
        try renderLineChart(
            series: [("train loss", train), ("validation loss", val)],
            title: "IRM training, anger", xLabel: "step", yLabel: "cross-entropy"
        )
        .writePNG(to: dir + "/loss.png")
        // Font sheet.
        var sheet = Canvas(width: 16 * 6 * 3 + 20, height: 6 * 8 * 3 + 20)
        for row in 0..<6 {
            let s = String(
                (0..<16).compactMap { k -> Character? in
                    let code = 0x20 + row * 16 + k
                    return code <= 0x7E ? Character(Unicode.Scalar(UInt8(code))) : nil
                })
            sheet.drawText(s, x: 10, y: 10 + row * 24, scale: 3)
        }
        try sheet.writePNG(to: dir + "/font.png")
        for f in ["heatmap_576.png", "heatmap_4096.png", "loss.png", "font.png"] {
            let d = try decodeWithPython(dir + "/" + f)
            XCTAssertGreaterThan(d.width, 0, f)
        }
    }
}

private func want(_ c: RGB) -> [Int] { [Int(c.r), Int(c.g), Int(c.b)] }

struct Box: Equatable { var x0, y0, x1, y1: Int }

/// Bounding box of the non-white pixels.
func inkBox(_ cv: Canvas) -> Box? {
    var b: Box? = nil
    for y in 0..<cv.height {
        for x in 0..<cv.width where cv.pixel(x: x, y: y) != .white {
            if b == nil { b = Box(x0: x, y0: y, x1: x, y1: y) }
            b!.x0 = min(b!.x0, x); b!.y0 = min(b!.y0, y); b!.x1 = max(b!.x1, x); b!.y1 = max(b!.y1, y)
        }
    }
    return b
}
