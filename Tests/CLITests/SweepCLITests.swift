import XCTest
import Foundation

/// `irm sweep` end to end with SmolLM2: the SLURM script, and a sweep killed with kill -9 and started again.
final class SweepCLITests: XCTestCase {
    func metricsSteps(_ run: String) throws -> [String] {
        let s = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8)
        return s.split(separator: "\n").dropFirst().map { String($0.split(separator: ",").first!) }
    }

    /// The paper plan as a job array: the script passes `bash -n`, has one task per run and names every run of
    /// plan.json; nothing is trained.
    func testEmittedSlurmScript() throws {
        let dir = try tempDir()
        let script = dir + "/paper.sbatch"
        let r = try runIRM(["sweep", "--plan", "paper", "--sweeps", dir, "--steps", "10", "--emit-slurm", script])
        XCTAssertEqual(r.status, 0, r.stderr)
        let plan =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/paper/plan.json")))
            as! [String: Any]
        let names = (plan["runs"] as! [[String: Any]]).map { $0["name"] as! String }
        XCTAssertEqual(names.count, 24)
        let text = try String(contentsOfFile: script, encoding: .utf8)
        XCTAssertTrue(text.contains("#SBATCH --array=0-23\n"))
        XCTAssertTrue(text.contains("runs=(\(names.joined(separator: " ")))\n"))
        for n in names { XCTAssertTrue(text.contains(" \(n)\n"), n) }
        XCTAssertFalse(text.contains("--eval"))
        let check = try runProcess("/bin/bash", ["-n", script])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir + "/paper").sorted(), ["logs", "plan.json"])
        // --eval reaches every task, as it does in a local sweep.
        let withEval = try runIRM([
            "sweep", "--dir", dir + "/paper", "--eval", "6", "--eval-tokens", "32", "--emit-slurm", script
        ])
        XCTAssertEqual(withEval.status, 0, withEval.stderr)
        XCTAssertTrue(
            try String(contentsOfFile: script, encoding: .utf8).contains(
                "--task \"$task\" --threads \"${SLURM_CPUS_PER_TASK:-1}\" --eval 6 --eval-tokens 32\n"))
        // Another plan under the same name is refused, with one line.
        assertOneLineError(
            try runIRM(["sweep", "--plan", "paper", "--sweeps", dir, "--set", "lr=1e-3", "--emit-slurm", script]),
            contains: ["plan.json", "--lr"])
    }

    /// Two tiny runs. Sweep A trains them to step 4, then (a larger --steps) extends both to 6. Sweep B is killed
    /// (kill -9, the sweep and its run) during its second run and started again: the first run is skipped, the
    /// second resumed, and both end with exactly A's weights.
    func testKilledSweepStartsAgainWhereItStopped() throws {
        let dir = try tempDir()
        let plan = try writeFile(
            dir, "tiny.json",
            """
            {"options": {"limit": 16, "width": 1, "layers": "0-3", "seq-len": 40, "batch-size": 2, "eval-every": 2,
                         "system": "Be brief.", "sample-tokens": 0, "no-heatmaps": true},
             "axes": [{"dataset": ["anger", "neutral"]}]}
            """)
        let base = ["sweep", "--plan", plan, "--sweeps", dir, "--jobs", "1", "--threads", "2"]
        let a = try runIRM(base + ["--name", "a", "--steps", "4", "--eval", "1", "--eval-tokens", "4"])
        XCTAssertEqual(a.status, 0, a.stdout + a.stderr)
        XCTAssertEqual(try metricsSteps(dir + "/a/anger-0-3"), ["1", "2", "3", "4"])
        XCTAssertEqual(a.stdout.components(separatedBy: ": evaluated in ").count - 1, 2, a.stdout)
        // The sweep report of the two real runs: both in summary.json with their steps and losses, both cells
        // in the grid, which decodes.
        let rep = try runIRM(["sweep-report", dir + "/a"])
        XCTAssertEqual(rep.status, 0, rep.stdout + rep.stderr)
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/a/summary.json")))
            as! [String: Any]
        let rows = summary["runs"] as! [[String: Any]]
        XCTAssertEqual(rows.map { $0["name"] as? String }, ["anger-0-3", "neutral-0-3"])
        XCTAssertEqual(rows.map { $0["steps"] as? Int }, [4, 4])
        XCTAssertEqual(rows.map { $0["finished"] as? Bool }, [true, true])
        XCTAssertEqual((rows[0]["alignmentSource"] as? String)?.hasPrefix("eval.json (1 questions"), true, "\(rows[0])")
        XCTAssertEqual(rows[0]["statsSource"] as? String, "striation.csv step 4 (109 tokens)")
        // No heatmaps in these runs: two grey cells of 420 px side by side (a near-square grid of 2).
        let grid = try decodeWithPython(dir + "/a/sweep_grid.png")
        XCTAssertGreaterThan(grid.width, 2 * 420)
        let a2 = try runIRM(base + ["--name", "a", "--steps", "6"])
        XCTAssertEqual(a2.status, 0, a2.stdout + a2.stderr)
        XCTAssertEqual(a2.stdout.components(separatedBy: "extend from step 4").count - 1, 2, a2.stdout)
        XCTAssertEqual(try metricsSteps(dir + "/a/neutral-0-3"), (1...6).map(String.init))

        let p = try startIRM(base + ["--name", "b", "--steps", "6"])
        let second = dir + "/b/neutral-0-3"
        let deadline = Date().addingTimeInterval(120)
        // Killed once its first checkpoint (step 2) is committed, so that there is something to resume.
        while Date() < deadline, !FileManager.default.fileExists(atPath: second + "/checkpoint.json") { usleep(20_000) }
        let child = Int32(
            (try String(contentsOfFile: dir + "/b/.locks/neutral-0-3", encoding: .utf8)).trimmingCharacters(
                in: .whitespacesAndNewlines))!
        kill(p.processIdentifier, SIGKILL)
        kill(child, SIGKILL)
        p.waitUntilExit()
        let killedAt = try metricsSteps(second).count
        XCTAssertLessThan(killedAt, 6, "the run finished before it could be killed")

        let b = try runIRM(base + ["--name", "b", "--steps", "6"])
        XCTAssertEqual(b.status, 0, b.stdout + b.stderr)
        XCTAssertTrue(b.stdout.contains("[1/2] anger-0-3: finished at step 6 (max steps), skipped"), b.stdout)
        XCTAssertTrue(b.stdout.contains("[2/2] neutral-0-3: resume at step "), b.stdout)
        XCTAssertFalse(b.stdout.contains("resume at step 0"), b.stdout)
        for run in ["anger-0-3", "neutral-0-3"] {
            let wa = try committedCheckpoint(dir + "/a/\(run)").weights
            let wb = try committedCheckpoint(dir + "/b/\(run)").weights
            XCTAssertGreaterThan(wa.count, 1_000_000)
            XCTAssertTrue(wa == wb, "\(run): the interrupted sweep ended with other weights")
        }
        XCTAssertEqual(try metricsSteps(second), (1...6).map(String.init))  // no step twice
    }
}
