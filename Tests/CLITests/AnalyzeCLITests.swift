import XCTest
import Foundation

/// `irm analyze` and `irm export --control-vector` end to end on a tiny trained run (SmolLM2, 2 steps of a
/// narrow IRM on layers 0-3), and the model-only analysis.
final class AnalyzeCLITests: XCTestCase {
    func testAnalyzeAndExportATinyRun() throws {
        let runs = try tempDir("analyze")
        let run = runs + "/r", cache = runs + "/cache"
        let t = try runIRM([
            "train", "--dataset", "anger", "--limit", "16", "--max-steps", "2", "--eval-every", "1", "--width", "1",
            "--layers", "0-3", "--seq-len", "64", "--batch-size", "4", "--no-heatmaps",
            "--runs", runs, "--name", "r"
        ])
        XCTAssertEqual(t.status, 0, t.stderr)
        // Stripes over training: one row per validation.
        let csv = try String(contentsOfFile: run + "/striation.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "step,index_share,layer_share,abs_index_share,dominant_index,dominant_share,tokens")
        XCTAssertEqual(csv.dropFirst().map { $0.split(separator: ",")[0] }, ["1", "2"])

        let a = try runIRM(["analyze", "--run", run, "--questions", "2", "--max-tokens", "4", "--cache", cache])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertTrue(a.stdout.contains("striation statistics") && a.stdout.contains("zero-top-16"), a.stdout)
        // analyze rewrites the run's report: every analysis section drawn, the stripes over training from striation.csv.
        XCTAssertTrue(a.stdout.contains("report: \(run)/report.html"), a.stdout)
        let page = try assertSelfContainedPage(run + "/report.html", imageDir: try tempDir("analyzeReport"))
        XCTAssertFalse(page.text.contains("irm analyze"), "an analysis section is missing")
        XCTAssertEqual(page.chart("Stripes over training")?.series.map(\.polylines), [[2], [2], [2]])
        XCTAssertTrue(page.text.contains("zero-random-16"))
        let j = try json(run + "/analysis.json") as! [String: Any]
        XCTAssertEqual(j["injectionLayers"] as? [Int], [0, 1, 2, 3])
        XCTAssertEqual(j["targetEmotion"] as? String, "anger")
        let probe = j["probe"] as! [String: Any], questions = probe["questions"] as! [[String: Any]]
        XCTAssertEqual(questions.count, 2)
        XCTAssertEqual(probe["inTrainingSplit"] as? Int, 0)  // a --limit 16 run never saw the default test rows
        let tokens = questions.reduce(0) { $0 + ($1["promptTokens"] as! Int) + ($1["continuationTokens"] as! Int) }
        let probeTokens = probe["tokens"] as! Int
        XCTAssertTrue(
            probeTokens == tokens || probeTokens == tokens - 1 || probeTokens == tokens - 2,
            "\(probeTokens) vs \(tokens)")
        let s = j["striation"] as! [String: Any], signed = s["signed"] as! [String: Double]
        XCTAssertEqual(signed["index"]! + signed["layer"]! + signed["residual"]!, 1, accuracy: 1e-9)
        XCTAssertEqual((s["topIndices"] as! [[String: Any]]).count, 16)
        let rows = (j["ablations"] as! [String: Any])["rows"] as! [[String: Any]]
        XCTAssertEqual(
            rows.map { $0["name"] as! String },
            [
                "frozen", "irm", "zero-top-1", "zero-top-4", "zero-top-16", "keep-top-1", "keep-top-4", "keep-top-16",
                "zero-random-1", "zero-random-4", "zero-random-16", "mean-vector", "constant-on-massive",
                "control-vector"
            ])
        for t in s["topIndices"] as! [[String: Any]] {
            let share = t["constantShare"] as! Double
            XCTAssertTrue(share >= 0 && share <= 1, "\(share)")
        }
        func row(_ n: String) -> [String: Any] { rows.first { $0["name"] as! String == n }! }
        XCTAssertEqual((row("constant-on-massive")["indices"] as! [Int]).count, 16)
        // The IRM row's greedy answers are the probe pass's continuations (two generations, one result).
        XCTAssertEqual(row("irm")["answers"] as! [String], questions.map { $0["continuation"] as! String })
        XCTAssertNotEqual(row("frozen")["validationLoss"] as! Double, row("irm")["validationLoss"] as! Double)
        XCTAssertEqual(
            (row("zero-top-4")["indices"] as! [Int]),
            Array((s["topIndices"] as! [[String: Any]]).prefix(4).map { $0["index"] as! Int }))
        let ex = j["explanation"] as! [String: Any]
        XCTAssertEqual((ex["indices"] as! [[String: Any]]).count, 16)
        XCTAssertEqual(
            (ex["meanInjection"] as! [[String: Any]]).map { $0["label"] as! String },
            ["layer 0", "layer 1", "layer 2", "layer 3", "sum"])
        XCTAssertTrue(
            FileManager.default.fileExists(
                atPath: cache + "/" + ((ex["residual"] as! [String: Any])["cacheFile"] as! String).split(separator: "/")
                    .last!))
        XCTAssertEqual((j["training"] as! [[String: Any]]).count, 2)
        XCTAssertEqual(try decodeWithPython(run + "/striation.png").channels, 3)

        // The control vector: read by Python's struct; its directions are analysis_mean.csv's rows mapped as documented.
        let cv = runs + "/anger.gguf"
        let e = try runIRM(["export", "--run", run, "--control-vector", cv, "--questions", "2", "--max-tokens", "4"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let g = try readGGUFWithPython(cv)
        XCTAssertEqual(g.metadata["general.architecture"]?.value, "controlvector")
        XCTAssertEqual(g.metadata["controlvector.layer_count"]?.value, "29")
        XCTAssertEqual(g.tensors.map(\.name), (1...29).map { "direction.\($0)" })
        XCTAssertTrue(g.tensors.allSatisfy { $0.ne == [576] && $0.values.count == 576 })
        let mean = try String(contentsOfFile: run + "/analysis_mean.csv", encoding: .utf8).split(separator: "\n")
            .dropFirst()
            .map { $0.split(separator: ",").dropFirst().map { Double(String($0))! } }
        XCTAssertEqual(mean.count, 4)
        for i in stride(from: 0, to: 576, by: 7) {
            assertClose(
                Double(g.tensors[0].values[i]), mean[0][i] + mean[1][i], rel: 1e-3, abs: 1e-6, "direction.1[\(i)]")
            assertClose(Double(g.tensors[2].values[i]), mean[3][i], rel: 1e-3, abs: 1e-6, "direction.3[\(i)]")
            XCTAssertEqual(g.tensors[10].values[i], 0)
        }

        // The model alone (its own cache folder: the run's analysis cached the same probe already): measured once,
        // then read from the cache.
        let m1 = try runIRM(["analyze", "--model", smolPath, "--questions", "2", "--cache", runs + "/cache2"])
        XCTAssertEqual(m1.status, 0, m1.stderr)
        XCTAssertTrue(m1.stdout.contains("strongest dimensions by RMS"), m1.stdout)
        XCTAssertTrue(m1.stdout.contains("measured"), m1.stdout)
        let m2 = try runIRM(["analyze", "--model", smolPath, "--questions", "2", "--cache", runs + "/cache2"])
        XCTAssertTrue(m2.stdout.contains("cached in"), m2.stdout)
        XCTAssertFalse(m2.stdout.contains("measured"), m2.stdout)

        // The knob scan (issue 19) on the run: its 16 strongest IRM indices (from the analysis.json above), c = ±1,
        // two validation rows; the table, the JSON (read back independently of irm) and the figure.
        let k = try runIRM(["analyze", "--run", run, "--knobs", "irm-top", "--knob-rows", "2", "--knob-values", "1,-1"])
        XCTAssertEqual(k.status, 0, k.stderr)
        XCTAssertTrue(k.stdout.contains("irm-top: "), k.stdout)
        XCTAssertTrue(k.stdout.contains("33 forward passes"), k.stdout)
        let scan = try json(run + "/knobs-response.json") as! [String: Any]
        XCTAssertEqual(scan["rows"] as? Int, 1, "the tiny run's validation split holds one example, fewer than asked")
        XCTAssertEqual((scan["curves"] as? [Any])?.count, 16)
        XCTAssertEqual(scan["grid"] as? [Double], [-1, 1])
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/knobs-response.html"))

        // Mistakes: one line each.
        assertOneLineError(try runIRM(["analyze", "--run", run, "--knobs", "loud"]), contains: ["--knobs", "loud"])
        assertOneLineError(
            try runIRM(["analyze", "--model", smolPath, "--knobs", "massive"]), contains: ["--dataset"])
        assertOneLineError(
            try runIRM(["analyze", "--model", smolPath, "--knobs", "irm-top", "--dataset", "anger"]),
            contains: ["irm-top", "--run"])
        assertOneLineError(
            try runIRM(["analyze", "--run", run, "--knobs", "random", "--knob-values", "1,x"]),
            contains: ["--knob-values", "'x'"])
        assertOneLineError(try runIRM(["analyze", "--run", run, "--dataset", "anger"]), contains: ["--knobs"])
        assertOneLineError(try runIRM(["analyze"]), contains: ["--run", "--model"])
        assertOneLineError(try runIRM(["analyze", "--run", runs + "/none"]), contains: [runs + "/none"])
        assertOneLineError(try runIRM(["analyze", "--run", run, "--model", smolPath]), contains: ["--model"])
        assertOneLineError(try runIRM(["export", "--run", run]), contains: ["--control-vector"])
        assertOneLineError(try runIRM(["analyze", "--run", run, "--datasets", runs]), contains: [runs + "/anger.csv"])
    }
}
