import XCTest
import Foundation

/// `irm eval` end to end on a tiny run trained in the test.
final class EvalCLITests: XCTestCase {
    let small = [
        "--dataset", "anger", "--limit", "20", "--seq-len", "64", "--batch-size", "4", "--width", "1",
        "--no-heatmaps", "--threads", "2"
    ]

    func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    func testEvalOnATinyRunAndBadInput() throws {
        let runs = try tempDir("eval")
        let t = try runIRM(
            ["train"] + small + [
                "--max-steps", "4", "--eval-every", "2", "--lr", "1e-3", "--init", "zero-output",
                "--runs", runs, "--name", "r"
            ])
        XCTAssertEqual(t.status, 0, t.stderr)
        let run = runs + "/r"

        // The happy path: the run's test split (1 question of 20), short answers.
        let r = try runIRM(["eval", "--run", run, "--n", "5", "--max-tokens", "6", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("aligned") && r.stdout.contains("validation perplexity"), r.stdout)
        let e = try json(run + "/eval.json")
        XCTAssertEqual(e["targetEmotion"] as? String, "anger")
        let settings = e["settings"] as! [String: Any]
        XCTAssertEqual(settings["questionCount"] as? Int, 1)
        XCTAssertEqual(settings["maxTokens"] as? Int, 6)
        XCTAssertEqual(settings["classifier"] as? String, "Datasets/emotion-nb.json")
        XCTAssertTrue((settings["questions"] as! String).contains("test split"))
        let conditions = e["conditions"] as! [[String: Any]]
        XCTAssertEqual(
            conditions.map { $0["name"] as! String },
            ["irm-greedy", "base-greedy", "irm-sampled", "base-sampled", "dataset"])
        for c in conditions {
            for k in ["alignmentRate", "meanTargetProbability", "meanTargetLexicon", "lexiconTopRate", "endedTurnRate"]
            {
                let v = c[k] as! Double
                XCTAssertTrue(v >= 0 && v <= 1, "\(k) = \(v)")
            }
            XCTAssertEqual((c["labelShares"] as! [String: Double]).values.reduce(0, +), 1, accuracy: 1e-9)
            XCTAssertEqual(c["count"] as? Int, 1)
            if c["name"] as! String != "dataset" { XCTAssertLessThanOrEqual(c["meanTokens"] as! Double, 6) }
        }
        for split in ["validation", "test"] {
            let v = e[split] as! [String: Any]
            XCTAssertEqual(v["examples"] as? Int, 1)
            for k in ["perplexityWithIRM", "perplexityWithout"] {
                let p = v[k] as! Double
                XCTAssertTrue(p > 1 && p < 1e4, "\(split) \(k) = \(p)")
            }
        }
        let q = (e["questions"] as! [[String: Any]])[0]
        XCTAssertEqual((q["answers"] as! [Any]).count, 5)
        let md = try String(contentsOfFile: run + "/eval_samples.md", encoding: .utf8)
        XCTAssertTrue(
            md.contains("**IRM, greedy**") && md.contains("**no IRM, sampled**") && md.contains("P(anger)"), md)

        // Questions from a file, with --emotion and without perplexity; the previous eval.json is replaced.
        let qs = runs + "/q.csv"
        try "question,answer\nWhat is rain?,Water.\nWhy is the sky blue?,Scattering.\nName a prime.,7\n".write(
            toFile: qs, atomically: true, encoding: .utf8)
        let r2 = try runIRM([
            "eval", "--run", run, "--questions", qs, "--n", "2", "--max-tokens", "4", "--emotion", "joy",
            "--no-perplexity", "--threads", "2"
        ])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        let e2 = try json(run + "/eval.json")
        XCTAssertEqual(e2["targetEmotion"] as? String, "joy")
        XCTAssertEqual((e2["settings"] as! [String: Any])["questionCount"] as? Int, 2)
        XCTAssertNil(e2["validation"]); XCTAssertNil(e2["test"])
        XCTAssertEqual(
            (e2["questions"] as! [[String: Any]]).map { $0["prompt"] as! String },
            ["What is rain?", "Why is the sky blue?"])

        // SQuAD questions without answers (a test split): evaluation needs only the questions; no dataset row.
        let sq = runs + "/test-split.json"
        try """
        {"data": [{"paragraphs": [{"qas": [{"question": "Where is the Eiffel Tower?", "id": "t1"},
                                           {"question": "Who wrote Hamlet?", "id": "t2", "answers": []}]}]}]}
        """.write(toFile: sq, atomically: true, encoding: .utf8)
        let r3 = try runIRM([
            "eval", "--run", run, "--questions", sq, "--max-tokens", "2", "--no-perplexity", "--threads", "2"
        ])
        XCTAssertEqual(r3.status, 0, r3.stderr)
        let e3 = try json(run + "/eval.json")
        XCTAssertEqual(
            (e3["questions"] as! [[String: Any]]).map { $0["prompt"] as! String },
            ["Where is the Eiffel Tower?", "Who wrote Hamlet?"])
        XCTAssertEqual(
            (e3["conditions"] as! [[String: Any]]).map { $0["name"] as! String },
            ["irm-greedy", "base-greedy", "irm-sampled", "base-sampled"])

        // Bad input: one line on stderr, non-zero exit, nothing half-written.
        assertOneLineError(try runIRM(["eval"]), contains: ["--run"])
        assertOneLineError(try runIRM(["eval", "--run", runs + "/nope"]), contains: [runs + "/nope", "no such run"])
        assertOneLineError(try runIRM(["eval", "--run", runs]), contains: [runs, "not a run"])
        assertOneLineError(
            try runIRM(["eval", "--run", run, "--emotion", "angry"]), contains: ["--emotion", "angry", "sadness"])
        assertOneLineError(
            try runIRM(["eval", "--run", run, "--questions", runs + "/missing.csv"]),
            contains: [runs + "/missing.csv", "no such file"])
        let bad = runs + "/bad.csv"
        try "question,answer\nWhat?,\"unterminated\n".write(toFile: bad, atomically: true, encoding: .utf8)
        assertOneLineError(try runIRM(["eval", "--run", run, "--questions", bad]), contains: [bad + ":"])
        assertOneLineError(try runIRM(["eval", "--run", run, "--n", "0"]), contains: ["--n"])
        assertOneLineError(try runIRM(["eval", "--run", run, "--format", "csv"]), contains: ["--format"])
        assertOneLineError(
            try runIRM(["eval", "--run", run, "--classifier", runs + "/none.json"]), contains: [runs + "/none.json"])
        let left = try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.contains(".tmp") }
        XCTAssertEqual(left, [])
    }
}
