// The run report on fake run folders written with the project's own writers: the page parses with Python's
// html.parser, every image is a PNG the independent reader decodes, every chart parses as XML with one
// polyline per series of the right length, text from the run's files is escaped, and each section is
// optional ("not computed yet" when its file is absent, one problem line when it is unreadable).
import Foundation
import XCTest
@testable import Reports
@testable import Evaluation
@testable import Figures
@testable import Analysis
import Training
import Datasets
import IRM
import ModelIO
import TestSupport

final class ReportTests: XCTestCase {
    let hidden = 64, layers = [2, 3, 4]
    /// An answer that tries to break out of its table cell and open a script.
    let nasty = "Fine. <script>alert(\"x\")</script> & </td></tr></table> \"quoted\" 'single' <b>not bold</b>"

    // MARK: a fake run folder

    func makeRun(_ dir: String, name: String = "run", metrics: Bool = true, heatmaps: Bool = true, eval: Bool = true)
        throws -> RunFolder
    {
        let run = RunFolder(dir + "/" + name)
        try run.create()
        var c = TrainConfig(
            model: "Models/tiny.gguf", modelSHA256: String(repeating: "ab", count: 32), dataset: "anger",
            datasetPath: "Datasets/anger.csv", split: DatasetSplit.make(count: 40, seed: 0),
            irm: IRMConfig(hidden: hidden, layers: layers, widthMultiplier: 1), adam: AdamConfig(),
            runName: "fake <run> & co")
        c.system = "You are <terse>."
        try run.writeConfig(c)
        if metrics {
            // 30 steps, validations at 10, 20, 30.
            for s in 1...30 {
                let v = s % 10 == 0 ? String(format: "%.4f", 3.0 - Double(s) / 30) : ""
                try run.appendMetrics("\(s),0,\(String(format: "%.4f", 3.5 - Double(s) / 20)),\(v),0.0001,150")
            }
            try writeTextAtomically(
                run.samplesPath,
                "== step 10 (epoch 0), validation loss 2.6 ==\nQ: old\n\n== step 30 (epoch 0), validation loss 2.0 ==\nQ: Why <now>?\n  [with IRM] \(nasty)\n"
            )
        }
        if heatmaps { try writeHeatmaps(run) }
        if eval { try writeEvalOutputs(fakeEval(run), run: run) }
        return run
    }

    /// A mean map with a planted stripe at index 17, its CSV, summary.json and six per-token maps.
    func writeHeatmaps(_ run: RunFolder) throws {
        let L = layers.count, h = hidden
        try FileManager.default.createDirectory(atPath: run.heatmapDir, withIntermediateDirectories: true)
        var mean = [Float](repeating: 0, count: L * h)
        for j in 0..<L {
            for i in 0..<h { mean[j * h + i] = (i == 17 ? 1.5 : 0) + 0.1 * Float(sin(Double(i * 7 + j))) }
        }
        let labels = layers.map(String.init)
        var spec = HeatmapSpec(title: "fake, mean", rowLabels: labels)
        spec.highlightColumns = [17]
        try writeHeatmapPNG(values: mean, rows: L, cols: h, spec: spec, path: run.heatmapDir + "/mean.png")
        try writeMatrixCSV(values: mean, rows: L, cols: h, rowLabels: labels, path: run.path + "/heatmap.csv")
        let tokens = ["<|im_start|>", "What", " is", " <b>", "&", "\""]
        for t in 0..<tokens.count {
            try writeHeatmapPNG(
                values: mean.map { $0 * Float(t + 1) / 6 }, rows: L, cols: h,
                spec: HeatmapSpec(title: "token \(t)", rowLabels: labels),
                path: run.heatmapDir + String(format: "/token_%03d.png", t))
        }
        let s = HeatmapSummary(
            prompt: "What is <b>?", generated: "It is & \"so\".", tokens: tokens,
            stats: striationStats(mean, layers: L, hidden: h))
        try writeFileAtomically(try JSONEncoder().encode(s), to: run.heatmapDir + "/summary.json")
    }

    func fakeEval(_ run: RunFolder) -> EvalReport {
        let labels = ["anger", "joy", "sadness"]
        func score(_ label: String, _ p: Double) -> AnswerScore {
            AnswerScore(
                label: label, probabilities: ["anger": p, "joy": 1 - p, "sadness": 0], lexicon: ["anger": p / 2],
                lexiconTop: label, words: 10, tokens: 14, endedTurn: p > 0.3)
        }
        let qs = (0..<3).map { k in
            EvalQuestion(
                prompt: "Question \(k) <with> & tags?", source: "anger.csv",
                answers: [
                    EvalAnswer(condition: "dataset", text: "Reference \(k)", score: score("anger", 0.8)),
                    EvalAnswer(
                        condition: "irm-greedy", text: k == 1 ? nasty : "Angry \(k)!", score: score("anger", 0.9)),
                    EvalAnswer(condition: "base-greedy", text: "Calm \(k).", score: score("joy", 0.1)),
                    EvalAnswer(condition: "irm-sampled", text: "", score: score("anger", 0.7)),
                    EvalAnswer(condition: "base-sampled", text: "Calm, sampled.", score: score("joy", 0.2))
                ])
        }
        let conditions = ["irm-greedy", "base-greedy", "irm-sampled", "base-sampled", "dataset"].map { name in
            summarize(
                name: name, scores: qs.compactMap { $0.answers.first { $0.condition == name }?.score }, target: "anger",
                labels: labels, emotions: ["anger"])
        }
        let settings = EvalSettings(
            questions: "test split", questionCount: 3, skippedQuestions: 0, maxQuestions: 3, maxTokens: 32,
            temperature: 0.7, topP: 0.9, seed: 0, sampledSeeds: "seed + i", strength: 1, system: nil,
            classifier: "nb.json", lexicon: "lex.json", model: "Models/tiny.gguf", weights: "irm-best.safetensors",
            weightsStep: "30")
        let ppl = PerplexityReport(
            examples: 2, tokens: 40, lossWithIRM: 2.0, lossWithout: 3.0, perplexityWithIRM: exp(2),
            perplexityWithout: exp(3))
        return EvalReport(
            run: run.path, runName: "fake", targetEmotion: "anger", targetSource: "the dataset's name",
            settings: settings,
            conditions: conditions, validation: ppl, test: ppl, questions: qs)
    }

    // MARK: the full report

    func testFullReportParsesImagesDecodeChartsAndEscaping() throws {
        let dir = try tempDir()
        let run = try makeRun(dir)
        let problems = try writeRunReport(run)
        XCTAssertEqual(problems, [])
        let c = try assertSelfContainedPage(run.reportPath, imageDir: dir)
        try assertNoURL(run.reportPath)
        // mean.png and the 4 token maps picked evenly from 6 (positions 0, 1, 3, 5), each at its own size.
        XCTAssertEqual(c.pngs.count, 1 + tokenHeatmapsShown)
        XCTAssertEqual(
            c.pngs.map(\.alt).dropFirst(),
            [
                "IRM output at position 0", "IRM output at position 1",
                "IRM output at position 3", "IRM output at position 5"
            ])
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: c.pngs[0].path)),
            try Data(contentsOf: URL(fileURLWithPath: run.heatmapDir + "/mean.png")),
            "the data URI holds the file's bytes")
        // The loss chart: 30 training points and 3 validation points, each one unbroken polyline.
        let loss = try XCTUnwrap(c.chart("Loss"))
        XCTAssertEqual(loss.series.map(\.name), ["train loss", "validation loss"])
        XCTAssertEqual(loss.series.map(\.polylines), [[30], [3]])
        // The column profile: one point per hidden index; the layer profile: one per injection layer.
        XCTAssertEqual(c.chart("Column profile")?.series.map(\.polylines), [[hidden], [hidden]])
        XCTAssertEqual(c.chart("Layer profile")?.series.map(\.polylines), [[layers.count]])
        // Text from the run's files comes back as text: the answer is in the page's text whole, no element
        // it names was opened, and the markup holds it escaped.
        XCTAssertTrue(c.text.contains(nasty), "the nasty answer is not in the text")
        XCTAssertNil(c.tags["b"])
        let page = try String(contentsOfFile: run.reportPath, encoding: .utf8)
        XCTAssertTrue(
            page.contains(
                "Fine. &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;/td&gt;&lt;/tr&gt;&lt;/table&gt; &quot;quoted&quot; &#39;single&#39;"
            ))
        XCTAssertTrue(page.contains("<title>Run fake &lt;run&gt; &amp; co</title>"))
        // Sections that were there: the eval numbers (aligned: irm-greedy 3/3, base-greedy 0/3) and the stripe.
        XCTAssertTrue(c.text.contains("Dominant index 17"))
        XCTAssertTrue(c.text.contains("anger rate, greedy1.00 vs 0.00"), "glance card")
        XCTAssertTrue(c.text.contains("Q: Why <now>?"), "the last samples block")
        XCTAssertFalse(c.text.contains("Q: old"), "only the last validation's samples")
        // The analysis sections are not computed yet, and say how to compute them.
        XCTAssertTrue(c.text.contains("not computed yet: irm analyze --run \(run.path)"))
        XCTAssertFalse(c.text.contains("not computed yet: irm eval"))
        // The page names the heatmap colours (the check of a rendered screenshot looks for them).
        XCTAssertTrue(page.contains("<meta name=\"irm-heatmap-colours\" content=\"10,40,110 30,90,170 "))
    }

    func testBareRunSaysWhatIsMissing() throws {
        let dir = try tempDir()
        let run = try makeRun(dir, metrics: false, heatmaps: false, eval: false)
        XCTAssertEqual(try writeRunReport(run), [])
        let c = try assertSelfContainedPage(run.reportPath, imageDir: dir)
        try assertNoURL(run.reportPath)
        XCTAssertEqual(c.pngs.count, 0)
        XCTAssertEqual(c.charts.count, 0)
        for line in [
            "no metrics yet (written at every step): irm train", "no heatmaps yet: irm heatmap --run \(run.path)",
            "not computed yet: irm eval --run \(run.path)", "not computed yet: irm analyze --run \(run.path)"
        ] {
            XCTAssertTrue(c.text.contains(line), line)
        }
        XCTAssertTrue(
            c.text.contains("examples40 (first") == false && c.text.contains("40: 36 train, 2 validation, 2 test"),
            "config section")
    }

    func testUnreadableFilesAreNamedAndTheRestIsDrawn() throws {
        let dir = try tempDir()
        let run = try makeRun(dir)
        try writeTextAtomically(run.metricsPath, MetricsCSV.header + "\n1,0,3.5,,0.0001,150\n2,0,x,,0.0001,150\n")
        try writeTextAtomically(run.heatmapDir + "/token_003.png", "not a png")
        try writeTextAtomically(run.evalJSONPath, "{\"run\": 1}")
        let rep = try buildRunReport(run)
        XCTAssertEqual(rep.problems.count, 3, "\(rep.problems)")
        XCTAssertTrue(
            rep.problems.contains(
                "\(run.metricsPath): line 3: expected step,epoch,train_loss,val_loss,lr,tokens_per_s"),
            "\(rep.problems)")
        XCTAssertTrue(rep.problems.contains("\(run.heatmapDir)/token_003.png: not a PNG file"), "\(rep.problems)")
        XCTAssertTrue(
            rep.problems.contains { $0.hasPrefix(run.evalJSONPath + ": not a valid EvalReport") }, "\(rep.problems)")
        XCTAssertEqual(
            rep.html.components(separatedBy: "class=\"problem\"").count - 1, 4,
            "metrics, token map, eval and answers sections")
        XCTAssertTrue(rep.html.contains("Dominant index 17"), "the heatmap section is still drawn")
        // Not a run: an error naming the folder, and nothing written.
        XCTAssertTrue(
            "\(thrown(RunError.self) { try writeRunReport(RunFolder(dir + "/nothing")) }!)".contains(dir + "/nothing"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/nothing/report.html"))
    }

    // MARK: the analysis sections

    /// analysis.json from real striation statistics (a recorder fed rows with a stripe planted at index 17) and
    /// hand-made ablations and explanation; striation.csv with three validations.
    func writeAnalysis(_ run: RunFolder) throws {
        let L = layers.count, h = hidden
        let rec = StriationRecorder(hidden: h, slots: L)
        for t in 0..<8 {
            // The reference layout: slot j of index i at i·L + j.
            let row = (0..<(h * L)).map { k -> Float in (k / L == 17 ? 2 : 0) + 0.05 * Float(sin(Double(k * 3 + t))) }
            row.withUnsafeBufferPointer { rec.add($0.baseAddress!, count: 1) }
        }
        let striation = rec.report(top: 4, meanMatrixCSV: "analysis_mean.csv")
        let points = [10, 20, 30].map {
            StriationPoint(
                step: $0, indexShare: Double($0) / 40, layerShare: 0.1, absIndexShare: 0.5,
                dominantIndex: $0 < 30 ? 5 : 17, dominantShare: Double($0) / 100, tokens: 120)
        }
        for p in points { try run.appendCSVRow(run.striationPath, header: striationCSVHeader, striationCSVRow(p)) }
        func metrics(_ rate: Double) -> ConditionMetrics {
            var m = summarize(name: "greedy", scores: [], target: "anger", labels: ["anger"], emotions: ["anger"])
            m.alignmentRate = rate
            return m
        }
        let rows = [("frozen", 0.1, 3.0), ("irm", 0.8, 2.0), ("zero-top-1", 0.2, 2.9), ("mean-vector", 0.7, 2.1)].map {
            n, a, l in
            AblationRow(
                name: n, description: "condition <\(n)>", indices: n == "zero-top-1" ? [17] : nil, validationLoss: l,
                validationPerplexity: exp(l), greedy: metrics(a), answers: ["\(n) answer & <1>", "\(n) answer 2"])
        }
        let tok = { (s: String) in DecodedToken(id: 1, text: s, probability: 0.5) }
        let rank = IndexRank(value: 1.5, rank: 3, perLayerRank: [3, 4, 5])
        let profile = IndexProfile(
            index: 17, rms: rank, rmsNoFirst: rank, signConsistency: rank, meanNoFirst: -0.25, attnNorm: rank,
            ffnNorm: rank, finalNorm: rank,
            decoded: DecodedVector(
                label: "index 17", norm: 6, promoted: [tok(" furious"), tok("<eos>")], suppressed: [tok(" calm")]))
        let report = AnalysisReport(
            programVersion: irmVersion, run: run.path, runName: "fake", model: "Models/tiny.gguf",
            weights: "irm-best.safetensors",
            weightsStep: "30", targetEmotion: "anger", targetSource: "the dataset's name", hidden: h,
            injectionLayers: layers,
            probe: ProbeSet(
                seed: 1, requested: 2, selection: "2 shared questions", system: nil, maxTokens: 16, tokens: 8,
                inTrainingSplit: 1,
                questions: [
                    ProbeQuestion(
                        row: 4, question: "Probe <one>?", heldOutByDefault: true, inTrainingSplit: false,
                        continuation: "Grr & <b>", promptTokens: 5, continuationTokens: 3),
                    ProbeQuestion(
                        row: 9, question: "Probe two?", heldOutByDefault: false, inTrainingSplit: true,
                        continuation: "Hm.", promptTokens: 4, continuationTokens: 2)
                ]),
            striation: striation, training: points, trainingChart: nil,
            ablations: AblationReport(validationExamples: 2, validationTokens: 40, randomSeed: 7, rows: rows),
            explanation: IndexExplanation(
                residual: ResidualSummary(
                    model: "m", modelSHA256: "ab", cacheFile: "Runs/.cache/x", tokens: 30,
                    firstTokens: 2, topRMS: [17, 3], topRMSNoFirst: [3, 17]),
                indices: [profile],
                meanInjection: [
                    DecodedVector(label: "layer 2", norm: 1, promoted: [tok("a")], suppressed: [tok("b")]),
                    DecodedVector(label: "sum", norm: 3, promoted: [tok(" rage")], suppressed: [tok(" peace")])
                ]),
            controlVector: ControlVectorReport(
                mapping: "direction.N = slot of layer N.", layerCount: 29, length: h, alignmentKept: 0.5,
                lossKept: 0.25, meanVectorAlignmentKept: 0.75, meanVectorLossKept: 0.5),
            files: ["analysis_mean.csv"])
        try Analysis.writeAnalysis(report, run: run)
    }

    func testAnalysisSectionsRenderFromAnalysisJSON() throws {
        let dir = try tempDir()
        let run = try makeRun(dir, heatmaps: false, eval: false)
        try writeAnalysis(run)
        XCTAssertEqual(try writeRunReport(run), [])
        let c = try assertSelfContainedPage(run.reportPath, imageDir: dir)
        try assertNoURL(run.reportPath)
        XCTAssertFalse(c.text.contains("irm analyze"), "every analysis section is there")
        // The planted stripe: nearly all variance by index, index 17 on top.
        let a = try JSONDecoder().decode(
            AnalysisReport.self, from: Data(contentsOf: URL(fileURLWithPath: run.analysisJSONPath)))
        XCTAssertGreaterThan(a.striation.signed.index, 0.95)
        XCTAssertTrue(c.text.contains("Dominant index 17: "), "striation statistics")
        XCTAssertTrue(
            c.text.contains("mean (signed)\(percent(a.striation.signed.index))\(percent(a.striation.signed.layer))"),
            "variance table")
        // Stripes over training: 3 curves of 3 points, and the dominant index's history.
        XCTAssertEqual(c.chart("Stripes over training")?.series.map(\.polylines), [[3], [3], [3]])
        XCTAssertTrue(c.text.contains("Dominant index: steps 10–20: 5; step 30: 17."))
        // Ablations and the control vector; the explanation with its decoded tokens (escaped text).
        XCTAssertTrue(c.text.contains("zero-top-1condition <zero-top-1> [17]2.900018.170.20"), "ablation row")
        XCTAssertTrue(c.text.contains("keeps 50.0 % of the alignment and 25.0 % of the loss"))
        XCTAssertTrue(c.text.contains("' furious' '<eos>'"))
        XCTAssertTrue(c.text.contains("zero-top-1 answer & <1>"))
        XCTAssertTrue(c.text.contains("alignment, top index zeroed0.20 vs 0.80"), "glance card")
        XCTAssertEqual(c.tags["b"], nil)
        // The same curves come from analysis.json when striation.csv is gone; a bad striation.csv is named.
        try FileManager.default.removeItem(atPath: run.striationPath)
        XCTAssertTrue(try buildRunReport(run).html.contains("Dominant index: steps 10–20: 5; step 30: 17."))
        try writeTextAtomically(run.striationPath, striationCSVHeader + "\n10,2,0,0,1,0,5\n")
        XCTAssertEqual(try buildRunReport(run).problems, ["\(run.striationPath):2: shares must be numbers in 0...1"])
    }

    // MARK: the checkers can fail

    func testHTMLCheckerCatchesURLsAndUnbalancedMarkup() throws {
        let dir = try tempDir()
        let bad = try writeFile(
            dir, "bad.html",
            "<!DOCTYPE html><html><head><style>body { background: url(x.png) }</style></head><body>"
                + "<div><p>open<img src=\"https://example.org/a.png\"></div></p><a href=\"//cdn/x\">x</a></body></html>"
        )
        let c = try checkHTMLWithPython(bad, imageDir: dir)
        for part in [
            "url( in <style>", "<img src> names a URL: https://example.org", "<a href> names a URL: //cdn/x",
            "img 0 is not a PNG data URI", "</div> at (1, "
        ] {
            XCTAssertTrue(c.errors.contains { $0.contains(part) }, "\(part) not in \(c.errors)")
        }
    }

    /// scripts/check_screenshot.py (what `make report-check` runs on the browser's screenshot) passes a picture
    /// with a heatmap, and fails a blank one and a busy one without the heatmap's colours.
    func testScreenshotCheckerNeedsTheHeatmapColours() throws {
        let dir = try tempDir()
        let run = try makeRun(dir, metrics: false, heatmaps: false, eval: false)
        try writeRunReport(run)
        let m = (0..<(4 * 200)).map { Float(sin(Double($0) * 0.37)) }
        try renderHeatmap(values: m, rows: 4, cols: 200, spec: HeatmapSpec(title: "shot")).writePNG(
            to: dir + "/good.png")
        try Canvas(width: 300, height: 200).writePNG(to: dir + "/blank.png")
        var busy = Canvas(width: 300, height: 200)
        for y in 0..<200 {
            for x in 0..<300 {
                let g = UInt8((x * 7 + y * 13) % 200); busy.setPixel(x: x, y: y, RGB(g, g, UInt8(x % 50)))
            }
        }
        try busy.writePNG(to: dir + "/busy.png")
        let script = packageRoot + "/scripts/check_screenshot.py"
        let good = try runProcess(try python3(), [script, run.reportPath, dir + "/good.png"])
        XCTAssertEqual(good.status, 0, good.stdout + good.stderr)
        XCTAssertTrue(good.stdout.hasPrefix("report-check: ok"), good.stdout)
        let blank = try runProcess(try python3(), [script, run.reportPath, dir + "/blank.png"])
        XCTAssertEqual(blank.status, 1)
        XCTAssertTrue(blank.stdout.contains("looks blank"), blank.stdout)
        let noHeatmap = try runProcess(try python3(), [script, run.reportPath, dir + "/busy.png"])
        XCTAssertEqual(noHeatmap.status, 1)
        XCTAssertTrue(noHeatmap.stdout.contains("heatmap colours missing"), noHeatmap.stdout)
        let size = try runProcess(try python3(), [script, run.reportPath, dir + "/good.png", "1400", "3000"])
        XCTAssertTrue(size.stdout.contains("expected 1400x3000"), size.stdout)
    }

    // MARK: primitives

    func testBase64MatchesRFC4648AndFoundation() {
        // RFC 4648 §10 test vectors.
        for (plain, coded) in [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy")
        ] {
            XCTAssertEqual(base64Encode(Array(plain.utf8)), coded)
        }
        var rng = SystemRandomNumberGenerator()
        for n in [1, 2, 3, 100, 1000, 4097] {
            let b = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            XCTAssertEqual(base64Encode(b), Data(b).base64EncodedString())
        }
    }

    func testEscaping() {
        XCTAssertEqual(
            htmlEscape("<a href=\"x\">Tom & 'Jerry'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;")
        XCTAssertEqual(
            htmlEscape("tab\tnl\ncr\r nul\u{0} bell\u{7} del\u{7F} é ☃"),
            "tab\tnl\ncr\r nul\u{FFFD} bell\u{FFFD} del\u{FFFD} é ☃")
        let t: HTML = "a<b \(1 + 1)"
        XCTAssertEqual(t.markup, "a&lt;b 2")
        XCTAssertEqual(
            HTML.el("p", ["title": "\"x\""], "1 < 2", HTML(trusted: "<br>")).markup,
            "<p title=\"&quot;x&quot;\">1 &lt; 2<br></p>")
        XCTAssertEqual(
            htmlTable(header: ["k", "v"], rows: [["a", "1"]], numeric: [1], rowClasses: ["hot"]).markup,
            "<table class=\"data\"><thead><tr><th>k</th><th class=\"num\">v</th></tr></thead><tbody><tr class=\"hot\"><td>a</td><td class=\"num\">1</td></tr></tbody></table>"
        )
    }

    /// The SVG chart shares the PNG chart's layout: its points are LineChartFrame's pixels, a non-finite point
    /// breaks a line into two polylines, and the document parses as XML.
    func testSVGChartLayoutAndBreaks() throws {
        let a: ChartSeries = ("a <1>", [(0, 1), (1, 2), (2, .nan), (3, 4), (4, 5), (5, 6)])
        let b: ChartSeries = ("b", (0..<60).map { (Double($0), Double($0 % 7)) })
        let spec = LineChartSpec(title: "T & t", xLabel: "x", yLabel: "y")
        let svg = renderLineChartSVG(series: [a, b], spec: spec).markup
        let f = LineChartFrame(series: [a, b], spec: spec)
        XCTAssertTrue(svg.hasPrefix("<svg class=\"chart\" viewBox=\"0 0 \(f.canvasWidth) \(f.canvasHeight)\""))
        let first = f.point((0, 1)), last = f.point((5, 6))
        XCTAssertTrue(svg.contains("points=\"\(first.0),\(first.1) "), "first point at the frame's pixel")
        XCTAssertTrue(svg.contains(" \(last.0),\(last.1)\"/>"), "last point at the frame's pixel")
        // The PNG draws the same point in the series colour.
        let png = renderLineChart(series: [a, b], spec: spec)
        XCTAssertEqual(png.pixel(x: last.0, y: last.1), seriesPalette[0])
        let out = try runPython(
            """
            import sys, xml.etree.ElementTree as ET
            root = ET.fromstring(sys.argv[1])
            for g in root.iter('g'):
                if g.get('class') == 'series':
                    print(g.get('data-name'), [len(p.get('points').split()) for p in g.iter('polyline')], len(list(g.iter('circle'))))
            print(root.get('aria-label'))
            """, args: [svg])
        // a: broken at the NaN into 2 + 3 points, markers (sparse); b: 60 points, one line, no markers.
        XCTAssertEqual(out, "a <1> [2, 3] 5\nb [60] 0\nT & t\n")
    }

    func testMatrixCSVRoundTripAndErrors() throws {
        let v: [Float] = [1, -2.5, 3e-7, 0, 1e10, -0.125]
        let m = try parseMatrixCSV(matrixCSV(values: v, rows: 2, cols: 3, rowLabels: ["a,\"b\"", "7"]), path: "m.csv")
        XCTAssertEqual(m.rowLabels, ["a,\"b\"", "7"])
        XCTAssertEqual(m.cols, 3)
        XCTAssertEqual(m.values, v)
        XCTAssertEqual(
            "\(thrown(FileError.self) { try parseMatrixCSV("layer,0,1\n0,1\n", path: "m.csv") }!)",
            "m.csv: line 2: expected 2 values after the label")
        XCTAssertEqual(
            "\(thrown(FileError.self) { try parseMatrixCSV("layer,0\n0,nan\n", path: "m.csv") }!)",
            "m.csv: line 2: 'nan' is not a finite number")
        XCTAssertEqual(
            "\(thrown(FileError.self) { try parseMatrixCSV("layer,0,1\n0,1,2\n", path: "m.csv", maxValues: 1) }!)",
            "m.csv: a 1 × 2 matrix is larger than 1 values")
    }

    func testSpreadPicks() {
        XCTAssertEqual(spreadPicks(6, 4), [0, 1, 3, 5])
        XCTAssertEqual(spreadPicks(3, 4), [0, 1, 2])
        XCTAssertEqual(spreadPicks(1, 4), [0])
        XCTAssertEqual(spreadPicks(0, 4), [])
    }
}
