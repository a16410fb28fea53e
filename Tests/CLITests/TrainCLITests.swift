import XCTest
import Foundation

/// `irm train` end to end on small slices of our datasets with SmolLM2.
final class TrainCLITests: XCTestCase {
    /// A small, fast configuration: 16 examples, short sequences, a narrow IRM on every layer.
    let small = [
        "--dataset", "anger", "--limit", "20", "--seq-len", "64", "--batch-size", "4", "--width", "1",
        "--no-heatmaps", "--threads", "2"
    ]

    func metrics(_ run: String) throws -> [[String]] {
        let s = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8)
        return s.split(separator: "\n").dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
    }

    /// Training needs answers: a SQuAD file of questions only (a test split) is refused, naming the file.
    func testSQuADWithoutAnswers() throws {
        let d = try tempDir("squad-noanswers")
        let f = d + "/test-split.json"
        try #"{"data": [{"paragraphs": [{"qas": [{"question": "Where is Paris?", "id": "q1", "answers": []}]}]}]}"#
            .write(toFile: f, atomically: true, encoding: .utf8)
        assertOneLineError(
            try runIRM(["train", "--dataset", f, "--runs", d]),
            contains: [f, "none of its 1 questions has an answer: training needs answers"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: d), ["test-split.json"])
    }

    /// `--irm-kind constant`: a vector per injection layer (576·30 parameters on SmolLM2), trained, saved as one
    /// `constant` tensor, the same heatmap column at every token; resumed runs keep the kind.
    func testConstantKindTrainsAndResumes() throws {
        let runs = try tempDir("train-constant")
        let args = [
            "train", "--dataset", "anger", "--limit", "20", "--seq-len", "64", "--batch-size", "4", "--no-heatmaps",
            "--threads", "2", "--irm-kind", "constant", "--init", "zero-output", "--lr", "1e-2", "--runs", runs,
            "--name", "c"
        ]
        let r = try runIRM(args + ["--max-steps", "6"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("IRM 17280 parameters"), r.stdout)
        let losses = try metrics(runs + "/c").map { Double($0[2])! }
        XCTAssertEqual(losses.count, 6)
        let config = try String(contentsOfFile: runs + "/c/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains(#""kind" : "constant""#) || config.contains(#""kind":"constant""#), config)
        let more = try runIRM(["train", "--resume", runs + "/c", "--max-steps", "8"])
        XCTAssertEqual(more.status, 0, more.stderr)
        XCTAssertEqual(try metrics(runs + "/c").count, 8)
        let h = try runIRM(["heatmap", "--run", runs + "/c", "--max-tokens", "2"])
        XCTAssertEqual(h.status, 0, h.stderr)
        let csv = try String(contentsOfFile: runs + "/c/heatmap.csv", encoding: .utf8)
        XCTAssertFalse(csv.isEmpty)
        assertOneLineError(
            try runIRM(["train", "--dataset", "anger", "--irm-kind", "constant", "--depth", "3", "--runs", runs]),
            contains: ["--depth", "constant"])
    }

    func testThirtyStepsLowerTheTrainingLoss() throws {
        let runs = try tempDir("train30")
        let r = try runIRM(
            ["train"] + small + [
                "--max-steps", "30", "--lr", "1e-3", "--init", "zero-output",
                "--runs", runs, "--name", "r", "--eval-every", "15"
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try metrics(runs + "/r")
        XCTAssertEqual(rows.count, 30)
        let losses = rows.map { Double($0[2])! }
        let first = losses.prefix(4).reduce(0, +) / 4, last = losses.suffix(4).reduce(0, +) / 4
        print("train loss: first 4 steps \(first), last 4 steps \(last)")
        XCTAssertLessThan(last, first - 0.3, "loss did not drop: \(losses)")
        // Validation loss goes down too, and the run folder is complete.
        let vals = rows.compactMap { Double($0[3]) }
        XCTAssertGreaterThanOrEqual(vals.count, 2)  // every 15 steps and at each epoch end
        XCTAssertLessThan(vals.last!, vals.first!)
        for f in ["config.json", "checkpoint.json", "irm-best.safetensors", "samples.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: runs + "/r/" + f), f)
        }
        // Heatmaps of the trained IRM: per token and averaged, PNGs that Python's zlib decodes.
        let h = try runIRM(["heatmap", "--run", runs + "/r", "--max-tokens", "3"])
        XCTAssertEqual(h.status, 0, h.stderr)
        XCTAssertTrue(h.stdout.contains("dominant hidden index"))
        let files = try FileManager.default.contentsOfDirectory(atPath: runs + "/r/heatmaps")
        XCTAssertTrue(files.contains("mean.png") && files.contains("token_000.png") && files.contains("summary.json"))
        let check = try runPython(
            """
            import struct, zlib, sys
            d = open(sys.argv[1], 'rb').read()
            assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
            i, idat, w, h = 8, b'', 0, 0
            while i < len(d):
                n, t = struct.unpack('>I4s', d[i:i+8]); body = d[i+8:i+8+n]
                assert zlib.crc32(t + body) == struct.unpack('>I', d[i+8+n:i+12+n])[0]
                if t == b'IHDR': w, h = struct.unpack('>II', body[:8])
                if t == b'IDAT': idat += body
                i += 12 + n
            raw = zlib.decompress(idat)
            print(w, h, len(raw) == h * (1 + 3 * w))
            """, args: [runs + "/r/heatmaps/mean.png"])
        XCTAssertTrue(check.hasSuffix("True\n"), check)
        let csv = try String(contentsOfFile: runs + "/r/heatmap.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 31)  // header + 30 injection layers
        XCTAssertEqual(csv[0].split(separator: ",").count, 577)
        let cfg =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: runs + "/r/config.json")))
            as! [String: Any]
        XCTAssertEqual(
            cfg["modelSHA256"] as? String, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
        XCTAssertNotNil((cfg["split"] as? [String: Any])?["valIndices"])

        // The run's report, redrawn now that the heatmaps are there: a self-contained page whose images are
        // the PNGs of the run (mean + 4 tokens), with the loss curve of all 30 steps and its 2 validations.
        let rep = try runIRM(["report", "--run", runs + "/r"])
        XCTAssertEqual(rep.status, 0, rep.stderr)
        XCTAssertEqual(rep.stdout, "wrote \(runs)/r/report.html\n")
        let page = try assertSelfContainedPage(runs + "/r/report.html", imageDir: try tempDir("reportImages"))
        XCTAssertEqual(page.pngs.count, 5)
        XCTAssertEqual(page.chart("Loss")?.series.map(\.polylines), [[30], [vals.count]])
        XCTAssertEqual(page.chart("Column profile")?.series.map(\.polylines), [[576], [576]])
        XCTAssertTrue(page.text.contains("not computed yet: irm eval --run \(runs)/r"))
        // A bad metrics.csv: the page is still written (the section names the problem), the exit status says so.
        try (String(contentsOfFile: runs + "/r/metrics.csv", encoding: .utf8) + "31,0,oops,,0.001,10\n")
            .write(toFile: runs + "/r/metrics.csv", atomically: true, encoding: .utf8)
        assertOneLineError(try runIRM(["report", "--run", runs + "/r"]), contains: [runs + "/r/metrics.csv", "line 32"])
        XCTAssertTrue(
            try String(contentsOfFile: runs + "/r/report.html", encoding: .utf8).contains("class=\"problem\""))
        assertOneLineError(
            try runIRM(["report", "--run", runs + "/nothing"]), contains: [runs + "/nothing", "no such run folder"])
        assertOneLineError(try runIRM(["report"]), contains: ["--run is required"])
    }

    func testSameSeedSameWeightsAndKillResumeSameWeights() throws {
        let runs = try tempDir("determinism")
        let args = small + ["--max-steps", "8", "--eval-every", "2", "--runs", runs, "--seed", "7"]
        let a = try runIRM(["train"] + args + ["--name", "a"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let b = try runIRM(["train"] + args + ["--name", "b"])
        XCTAssertEqual(b.status, 0, b.stderr)
        let wa = try committedCheckpoint(runs + "/a").weights
        let wb = try committedCheckpoint(runs + "/b").weights
        XCTAssertEqual(wa, wb, "same seed, different weights")

        // Kill -9 after the step-4 checkpoint, then resume: the final weights equal the uninterrupted run's.
        let p = try startIRM(["train"] + args + ["--name", "c"])
        let opt = runs + "/c/metrics.csv"
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline {
            if let s = try? String(contentsOfFile: opt, encoding: .utf8), s.split(separator: "\n").count >= 6 { break }
            usleep(50_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        let r = try runIRM(["train", "--resume", runs + "/c", "--no-heatmaps", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let wc = try committedCheckpoint(runs + "/c").weights
        XCTAssertEqual(wc.count, wa.count)
        XCTAssertTrue(wc == wa, "resumed run ended with different weights")
        XCTAssertEqual(try metrics(runs + "/c").map { $0[0] }, (1...8).map(String.init))  // no duplicated steps
    }

    func testBadTrainingInput() throws {
        let runs = try tempDir("badtrain")
        assertOneLineError(try runIRM(["train", "--dataset", "angry", "--runs", runs]), contains: ["angry", "anger"])
        let empty = runs + "/empty.csv"
        try "question,answer\n".write(toFile: empty, atomically: true, encoding: .utf8)
        assertOneLineError(try runIRM(["train", "--dataset", empty, "--runs", runs]), contains: [empty])
        assertOneLineError(
            try runIRM(["train", "--dataset", "anger", "--layers", "0-30", "--runs", runs]),
            contains: ["--layers", "30"])
        assertOneLineError(try runIRM(["train", "--resume", runs]), contains: [runs, "not a run"])
        // A corrupted checkpoint: the optimiser file cut short. Nothing is overwritten by the failed resume.
        let ok = try runIRM(["train"] + small + ["--max-steps", "2", "--runs", runs, "--name", "c"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let optPath = try FileManager.default.contentsOfDirectory(atPath: runs + "/c").first {
            $0.hasSuffix(".optimizer.safetensors")
        }
        .map { runs + "/c/" + $0 }!
        let opt = try Data(contentsOf: URL(fileURLWithPath: optPath))
        try opt.prefix(opt.count / 2).write(to: URL(fileURLWithPath: optPath))
        let before = try FileManager.default.contentsOfDirectory(atPath: runs + "/c").sorted()
        let weightsPath = optPath.replacingOccurrences(of: ".optimizer.", with: ".irm.")
        let weights = try Data(contentsOf: URL(fileURLWithPath: weightsPath))
        assertOneLineError(try runIRM(["train", "--resume", runs + "/c"]), contains: ["corrupted checkpoint", optPath])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: runs + "/c").sorted(), before)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: weightsPath)), weights)
    }
}
