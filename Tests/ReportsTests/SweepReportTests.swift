// The sweep report on a fake sweep folder: three planned runs, one finished (checkpoint, eval.json, heatmaps),
// one stopped early whose statistics come from striation.csv and whose heatmap has its stripe elsewhere, one
// never started. Every run is in the table, the numbers are the runs' own, the correlation is Pearson's of the
// |column mean| profiles computed here, and the page and both figures decode with the independent readers.
import Foundation
import XCTest
@testable import Reports
@testable import Analysis
import Figures
import Training
import IRM
import ModelIO
import TestSupport

extension ReportTests {
    func testSweepReportHasEveryRunAndItsFiguresDecode() throws {
        let dir = try tempDir()
        let folder = SweepFolder(dir)
        let names = ["anger-2-4", "joy-2-4", "sadness-2-4"]
        try folder.record(
            SweepFile(
                source: "fake.json",
                runs: names.map { SweepRun(name: $0, options: ["dataset": String($0.prefix { $0 != "-" })]) }))

        // Run 1: finished (a committed checkpoint that says so), eval.json, heatmaps with the stripe at 17.
        let a = try makeRun(dir, name: names[0])
        let net = IRMNetwork(config: IRMConfig(hidden: hidden, layers: layers, widthMultiplier: 1), seed: 1)
        var state = TrainState()
        state.step = 30; state.epoch = 0; state.finished = true; state.stopReason = "max steps"
        try a.saveCheckpoint(net: net, adam: Adam(config: AdamConfig(), count: net.params.count), state: state)
        try writeRunReport(a)

        // Run 2: no eval, its mean matrix has the stripe at 40, striation.csv says index 40 dominates.
        let b = try makeRun(dir, name: names[1], heatmaps: false, eval: false)
        let L = layers.count
        var mean = [Float](repeating: 0, count: L * hidden)
        for j in 0..<L {
            for i in 0..<hidden { mean[j * hidden + i] = (i == 40 ? -2 : 0) + 0.2 * Float(cos(Double(i * 3 + j))) }
        }
        try writeMatrixCSV(
            values: mean, rows: L, cols: hidden, rowLabels: layers.map(String.init), path: b.path + "/heatmap.csv")
        try writeTextAtomically(
            b.striationPath, striationCSVHeader + "\n10,0.5,0.1,0.4,12,0.01,50\n20,0.75,0.05,0.6,40,0.125,50\n")

        let f = try writeSweepReport(folder)
        let s = f.summary
        XCTAssertEqual(s.runs.map(\.name), names)
        let (r1, r2, r3) = (s.runs[0], s.runs[1], s.runs[2])
        XCTAssertTrue(r1.finished); XCTAssertEqual(r1.status, "finished at step 30 (max steps)")
        XCTAssertEqual(r1.dataset, "anger"); XCTAssertEqual(r1.layers, "2-4"); XCTAssertEqual(r1.steps, 30)
        XCTAssertEqual(r1.finalValidationLoss, 2.0); XCTAssertEqual(r1.bestValidationLoss, 2.0)
        XCTAssertEqual(r1.alignmentRate, 1.0); XCTAssertEqual(r1.baseAlignmentRate, 0.0)
        XCTAssertEqual(r1.dominantIndex, 17); XCTAssertEqual(r1.statsSource, "heatmaps/summary.json (one prompt)")
        XCTAssertEqual(r1.report, names[0] + "/report.html")
        XCTAssertFalse(r2.finished); XCTAssertNil(r2.alignmentRate); XCTAssertNil(r2.report)
        XCTAssertEqual(r2.indexShare, 0.75); XCTAssertEqual(r2.dominantIndex, 40);
        XCTAssertEqual(r2.dominantShare, 0.125)
        XCTAssertEqual(r2.statsSource, "striation.csv step 20 (50 tokens)")
        XCTAssertEqual(r3.status, "new"); XCTAssertFalse(r3.finished); XCTAssertEqual(r3.dataset, "sadness");
        XCTAssertNil(r3.steps)
        XCTAssertEqual(
            s.dominantIndices,
            [DominantIndexCount(index: 17, runs: [names[0]]), DominantIndexCount(index: 40, runs: [names[1]])])

        // The correlation of the two profiles, by hand: |mean over layers| per index, then Pearson.
        func profile(_ path: String) throws -> [Double] {
            let m = try parseMatrixCSV(String(contentsOfFile: path, encoding: .utf8), path: path)
            return (0..<m.cols).map { i in
                abs((0..<m.rows).map { Double(m.values[$0 * m.cols + i]) }.reduce(0, +) / Double(m.rows))
            }
        }
        let p = try profile(a.path + "/heatmap.csv"), q = try profile(b.path + "/heatmap.csv")
        let mp = p.reduce(0, +) / Double(hidden), mq = q.reduce(0, +) / Double(hidden)
        let num = zip(p, q).map { ($0 - mp) * ($1 - mq) }.reduce(0, +)
        let r =
            num
            / (p.map { ($0 - mp) * ($0 - mp) }.reduce(0, +) * q.map { ($0 - mq) * ($0 - mq) }.reduce(0, +)).squareRoot()
        XCTAssertEqual(s.profileRuns, Array(names.prefix(2)))
        XCTAssertEqual(s.profileCorrelation[0][0], 1, accuracy: 1e-12)
        XCTAssertEqual(s.profileCorrelation[0][1], r, accuracy: 1e-12)
        XCTAssertEqual(s.meanProfileCorrelation!, r, accuracy: 1e-12)
        XCTAssertLessThan(abs(r), 0.5, "different stripes should not correlate strongly")

        // summary.json reads back as what was returned; the page parses, links run 1's report, shows every run.
        let back = try JSONDecoder().decode(
            SweepSummary.self, from: Data(contentsOf: URL(fileURLWithPath: f.summaryPath)))
        XCTAssertEqual(back.runs.map(\.status), s.runs.map(\.status))
        let c = try assertSelfContainedPage(f.htmlPath, imageDir: dir)
        try assertNoURL(f.htmlPath)
        XCTAssertEqual(c.pngs.count, 2)
        for n in names { XCTAssertTrue(c.text.contains(n), n) }
        XCTAssertTrue(
            try String(contentsOfFile: f.htmlPath, encoding: .utf8).contains("href=\"\(names[0])/report.html\""))
        XCTAssertTrue(c.text.contains("1 of 3"), "runs finished card")
        // The grid: one cell per run, two across (no dataset has two runs: a near-square grid); the page holds
        // the figures' bytes.
        let grid = try decodeWithPython(f.gridPath)
        XCTAssertGreaterThan(grid.width, 2 * 420)  // two cells of at least 420 px (the empty cell's width)
        XCTAssertLessThan(grid.width, 3 * 420 + 4 * 12)  // not three
        XCTAssertGreaterThan(grid.height, 2 * 120)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: f.gridPath)),
            try Data(contentsOf: URL(fileURLWithPath: c.pngs[1].path)))
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: f.correlationPath)),
            try Data(contentsOf: URL(fileURLWithPath: c.pngs[0].path)))
    }
}
