import XCTest
import Foundation

/// Never lose a run: kills at any instant, write failures, divergence, two writers, and the memory plan
/// against the measured peak.
final class RunSafetyTests: XCTestCase {
    /// A real training run that is cheap enough to kill twenty times: llama2.c's stories260K (5 layers,
    /// dim 64) with an IRM of about a million parameters (4 MB of weights, 8 MB of Adam state per
    /// checkpoint), a checkpoint at every step, and 46 steps over three epochs.
    static let stories = sharedDir + "/models/stories260K"
    static let tiny = [
        "--model", stories + "/stories260K.bin", "--tokenizer", stories + "/tok512.bin", "--dataset", "anger",
        "--limit", "40", "--seq-len", "128", "--batch-size", "2", "--width", "8", "--eval-every", "1",
        "--sample-tokens", "2", "--max-steps", "46", "--no-heatmaps", "--threads", "2"
    ]
    static let resumeArgs = ["--no-heatmaps", "--threads", "2"]

    /// The uninterrupted run of `tiny`, made once for all the tests of the class.
    static let referenceDir = NSTemporaryDirectory() + "irm-test-safety-reference-\(UUID().uuidString.prefix(8))"
    nonisolated(unsafe) static var reference: String?
    static func referenceRun() throws -> String {
        if let r = reference { return r }
        let r = try runIRM(["train"] + tiny + ["--runs", referenceDir, "--name", "ref"])
        XCTAssertEqual(r.status, 0, r.stderr)
        reference = referenceDir + "/ref"
        return referenceDir + "/ref"
    }
    override class func tearDown() { try? FileManager.default.removeItem(atPath: referenceDir) }

    func rows(_ run: String) throws -> [[Substring]] {
        try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false) }
    }

    /// The run ended exactly as the uninterrupted one: the same committed weights and optimiser state, the
    /// same metrics (without the timing column) and samples, and nothing left over.
    func assertSameAsReference(_ run: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let ref = try Self.referenceRun()
        let a = try committedCheckpoint(run), b = try committedCheckpoint(ref)
        XCTAssertEqual(a.step, 46, file: file, line: line)
        XCTAssertTrue(a.weights == b.weights, "weights differ from the uninterrupted run", file: file, line: line)
        XCTAssertTrue(
            a.optimizer == b.optimizer, "optimiser state differs from the uninterrupted run", file: file, line: line)
        XCTAssertEqual(try rows(run).map { $0.dropLast() }, try rows(ref).map { $0.dropLast() }, file: file, line: line)
        XCTAssertEqual(
            try String(contentsOfFile: run + "/samples.txt", encoding: .utf8),
            try String(contentsOfFile: ref + "/samples.txt", encoding: .utf8), file: file, line: line)
        let names = try FileManager.default.contentsOfDirectory(atPath: run)
        XCTAssertEqual(temporaryFiles(in: run), [], file: file, line: line)
        XCTAssertEqual(names.filter { $0.hasPrefix("checkpoint-") }.count, 2, "\(names)", file: file, line: line)
        XCTAssertFalse(names.contains("lock"), file: file, line: line)
        XCTAssertFalse(
            names.contains("irm.safetensors") || names.contains("optimizer.safetensors"), file: file, line: line)
    }

    /// Starts `tiny` as RUNS/NAME and kills it with SIGKILL once it has committed a checkpoint.
    func startTinyRunAndKillAfterFirstCheckpoint(_ runs: String, _ name: String) throws {
        let p = try startIRM(["train"] + Self.tiny + ["--runs", runs, "--name", name])
        while p.isRunning && (try? committedCheckpoint(runs + "/" + name)) == nil { usleep(10_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
    }

    /// A run written before checkpoint generations (irm.safetensors + optimizer.safetensors, no
    /// checkpoint.json) resumes, and ends as the uninterrupted run.
    func testResumeOfTheLayoutBeforeGenerations() throws {
        let t0 = Date()
        let runs = try tempDir("legacy")
        let run = runs + "/o"
        try startTinyRunAndKillAfterFirstCheckpoint(runs, "o")
        // The same files under the old names.
        let names = try FileManager.default.contentsOfDirectory(atPath: run)
        let g =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/checkpoint.json")))
            as! [String: Any]
        let gen = String(format: "%06d", g["generation"] as! Int)
        try FileManager.default.moveItem(
            atPath: run + "/checkpoint-\(gen).irm.safetensors", toPath: run + "/irm.safetensors")
        try FileManager.default.moveItem(
            atPath: run + "/checkpoint-\(gen).optimizer.safetensors", toPath: run + "/optimizer.safetensors")
        for n in names where n.hasPrefix("checkpoint-") && !n.contains(gen) {
            try? FileManager.default.removeItem(atPath: run + "/" + n)
        }
        try FileManager.default.removeItem(atPath: run + "/checkpoint.json")
        let r = try runIRM(["train", "--resume", run] + Self.resumeArgs)
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertSameAsReference(run)
        print(String(format: "legacy resume: %.1f s", Date().timeIntervalSince(t0)))
    }

    /// SIGKILL at 20 instants chosen with a fixed seed, spread over the first 40 of the 46 steps (kill i comes
    /// once step 2i is committed, however fast the machine; the last leaves 8 steps, so that a fast machine cannot
    /// finish the run between the commit it waits for and the kill): a quarter at a random time after the launch (also while it
    /// starts up), a quarter at a random time in mid-training, half at a random moment (0–3 ms) after a
    /// checkpoint write has begun. Resumed after each; the run ends byte-identical to the uninterrupted one.
    func testTwentyKillsAtRandomInstantsLoseNothing() throws {
        let t0 = Date()
        _ = try Self.referenceRun()
        let runs = try tempDir("kill20")
        let run = runs + "/k"
        var seed: UInt64 = 20  // the instants: Knuth's MMIX linear congruential generator
        func random(_ n: UInt32) -> UInt32 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407; return UInt32(seed >> 33) % n
        }
        var inWrite = 0, committedSteps: [Int] = []
        for i in 0..<20 {
            let earlier = Set((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? [])
            let started = FileManager.default.fileExists(atPath: run + "/config.json")
            let p = try startIRM(
                ["train"]
                    + (started ? ["--resume", run] + Self.resumeArgs : Self.tiny + ["--runs", runs, "--name", "k"]))
            let deadline = Date().addingTimeInterval(120)
            if i % 4 == 0 {
                usleep(UInt32(50_000 + random(750_000)))
            } else {
                while p.isRunning && Date() < deadline && ((try? committedCheckpoint(run))?.step ?? -1) < 2 * i {
                    usleep(2000)
                }
            }
            if i % 4 == 2 {
                usleep(UInt32(random(500_000)))
            } else if i % 2 == 1 {
                // Wait for a checkpoint file or checkpoint.json under its temporary name, then a little more.
                while p.isRunning && Date() < deadline
                    && !temporaryFiles(in: run).contains(where: { $0.hasPrefix(".checkpoint") })
                { usleep(300) }
                usleep(UInt32(random(3000)))
            }
            XCTAssertTrue(p.isRunning, "kill \(i): the run ended before it was killed (too short for the test)")
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .uncaughtSignal)
            // Where did it land? A new temporary checkpoint file, or a generation checkpoint.json does not name.
            let left = Set((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []).subtracting(earlier)
            let generations = ((try? FileManager.default.contentsOfDirectory(atPath: run)) ?? [])
                .filter { $0.hasPrefix("checkpoint-") && $0.hasSuffix(".irm.safetensors") }
            if left.contains(where: { $0.hasPrefix(".checkpoint") }) || generations.count > 1 { inWrite += 1 }
            committedSteps.append((try? committedCheckpoint(run))?.step ?? -1)
        }
        let r = try runIRM(["train", "--resume", run] + Self.resumeArgs)
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertSameAsReference(run)
        print(
            "20 kills: \(inWrite) inside a checkpoint write; committed step after each kill \(committedSteps); "
                + String(format: "%.1f s", Date().timeIntervalSince(t0)))
        XCTAssertGreaterThanOrEqual(inWrite, 5)
        XCTAssertGreaterThanOrEqual(committedSteps.last!, 36)  // the kills reached the last epoch
        XCTAssertLessThan(committedSteps.last!, 46)  // and the last resume had work left
    }

    /// A file that cannot be written (file-size limit) ends with one line naming it and the error, the
    /// previous version stays, and no temporary file is left: checkpoint, heatmap, eval file, neuron map.
    func testWriteFailuresKeepThePreviousVersion() throws {
        let t0 = Date()
        let runs = try tempDir("wfail")
        let run = runs + "/w"
        func snapshot(_ dir: String) throws -> [String: Data] {
            var out: [String: Data] = [:]
            for n in try FileManager.default.contentsOfDirectory(atPath: dir) where n != "lock" {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: dir + "/" + n, isDirectory: &isDir), !isDir.boolValue {
                    out[n] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + n))
                }
            }
            return out
        }
        // Checkpoint: a run killed after its first checkpoint, resumed under a 6 MB limit: the 4 MB weights
        // of the next generation are written, its 8 MB optimiser state is not.
        try startTinyRunAndKillAfterFirstCheckpoint(runs, "w")
        let before = try snapshot(run)
        let committed = try committedCheckpoint(run)
        let full = try runIRM(["train", "--resume", run] + Self.resumeArgs, fileSizeLimitKB: 6000)
        assertEndsWithOneErrorLine(
            full, contains: [run + "/checkpoint-", ".optimizer.safetensors: write failed: File too large"])
        let after = try snapshot(run)
        let committedAfter = try committedCheckpoint(run)
        XCTAssertEqual(committedAfter.step, committed.step)
        XCTAssertTrue(committedAfter.weights == committed.weights && committedAfter.optimizer == committed.optimizer)
        XCTAssertEqual(
            Set(after.keys.filter { $0.hasPrefix("checkpoint") }),
            Set(before.keys.filter { $0.hasPrefix("checkpoint") }))
        XCTAssertEqual(temporaryFiles(in: run), [])
        // With room again, the run resumes and ends as the uninterrupted one.
        let ok = try runIRM(["train", "--resume", run] + Self.resumeArgs)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        try assertSameAsReference(run)

        // Heatmaps and eval files: made once, then again with no room at all.
        let heat = ["heatmap", "--run", run, "--max-tokens", "3", "--threads", "2"]
        let eval = ["eval", "--run", run, "--n", "2", "--max-tokens", "4", "--threads", "2"]
        for (cmd, dir, names) in [(heat, run + "/heatmaps", ["token_000.png"]), (eval, run, ["eval.json"])] {
            XCTAssertEqual(try runIRM(cmd).status, 0)
            let old = try snapshot(dir)
            let r = try runIRM(cmd, fileSizeLimitKB: 0)
            assertEndsWithOneErrorLine(r, contains: names + ["write failed: File too large"])
            XCTAssertEqual(try snapshot(dir), old, cmd[0])
            XCTAssertEqual(temporaryFiles(in: dir), [], cmd[0])
        }
        // A neuron map.
        let map = runs + "/s.nmap"
        let mapCmd = [
            "neurons", "map", "--model", Self.stories + "/stories260K.bin", "--tokenizer", Self.stories + "/tok512.bin",
            "--top", "3", "--out", map, "--threads", "2"
        ]
        XCTAssertEqual(try runIRM(mapCmd).status, 0)
        let oldMap = try Data(contentsOf: URL(fileURLWithPath: map))
        assertEndsWithOneErrorLine(
            try runIRM(mapCmd, fileSizeLimitKB: 0), contains: [map + ": write failed: File too large"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: map)), oldMap)
        XCTAssertEqual(temporaryFiles(in: runs), [])
        print(String(format: "write failures: %.1f s", Date().timeIntervalSince(t0)))
    }

    /// An absurd learning rate makes the loss non-finite: the run stops naming the step, keeps the last
    /// good checkpoint, and `--resume --lr` from it ends as a run that had the sane rate from the start.
    func testDivergenceStopsAndResumeWithLowerLR() throws {
        let t0 = Date()
        let runs = try tempDir("nan")
        let run = runs + "/n"
        // Mid-run: killed after a checkpoint, resumed with --lr 1e30, it diverges at the next step.
        try startTinyRunAndKillAfterFirstCheckpoint(runs, "n")
        let good = try committedCheckpoint(run)
        let r = try runIRM(["train", "--resume", run, "--lr", "1e30"] + Self.resumeArgs)
        assertEndsWithOneErrorLine(
            r,
            contains: [
                "diverged at step \(good.step + 1)", "last good checkpoint (step \(good.step)) is kept",
                "--lr", "--clip", "--resume " + run
            ])
        let kept = try committedCheckpoint(run)
        XCTAssertEqual(kept.step, good.step)
        XCTAssertTrue(kept.weights == good.weights && kept.optimizer == good.optimizer)
        XCTAssertEqual(try rows(run).count, good.step)  // the diverged step left no row
        let ok = try runIRM(["train", "--resume", run, "--lr", "1e-4"] + Self.resumeArgs)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let cfg =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/config.json")))
            as! [String: Any]
        XCTAssertEqual(
            cfg["changes"] as? [String],
            [
                "from step \(good.step): --lr 1e+30 (was --lr 0.0001)",
                "from step \(good.step): --lr 0.0001 (was --lr 1e+30)"
            ])
        try assertSameAsReference(run)

        // Before the first checkpoint there is nothing to keep: the resume starts at step 0.
        let f = try runIRM(["train"] + Self.tiny + ["--runs", runs, "--name", "f", "--lr", "1e30"])
        assertEndsWithOneErrorLine(f, contains: ["diverged at step 1", "no checkpoint yet", "--resume " + runs + "/f"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: runs + "/f/checkpoint.json"))
        let f2 = try runIRM(["train", "--resume", runs + "/f", "--lr", "1e-4"] + Self.resumeArgs)
        XCTAssertEqual(f2.status, 0, f2.stderr)
        try assertSameAsReference(runs + "/f")
        // Other settings are fixed by the run.
        assertOneLineError(
            try runIRM(["train", "--resume", run, "--width", "2"]), contains: ["--width", "cannot change on --resume"])
        print(String(format: "divergence: %.1f s", Date().timeIntervalSince(t0)))
    }

    /// One run, one writer: a second `train --resume` refuses while the first runs, naming its pid; after a
    /// kill -9 the stale lock is taken over.
    func testSecondWriterRefusedAndStaleLockTakenOver() throws {
        let t0 = Date()
        let runs = try tempDir("lock")
        let run = runs + "/l"
        let p = try startIRM(["train"] + Self.tiny + ["--runs", runs, "--name", "l"])
        while p.isRunning && (try? committedCheckpoint(run)) == nil { usleep(10_000) }
        let pid = String(p.processIdentifier)
        XCTAssertEqual(try String(contentsOfFile: run + "/lock", encoding: .utf8), pid + "\n")
        let second = try runIRM(["train", "--resume", run] + Self.resumeArgs)
        assertOneLineError(second, contains: ["in use", "process \(pid)", run + "/lock"])
        XCTAssertTrue(p.isRunning, "the first writer was disturbed")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(try String(contentsOfFile: run + "/lock", encoding: .utf8), pid + "\n")  // stale
        let r = try runIRM(["train", "--resume", run] + Self.resumeArgs)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("taking over the lock left by process \(pid)"), r.stderr)
        try assertSameAsReference(run)
        print(String(format: "lock: %.1f s", Date().timeIntervalSince(t0)))
    }

    /// The plan's total for a SmolLM2 run with the reference IRM (width 3, all 30 layers, batch 8) against
    /// the peak resident memory the run measured (VmHWM); and the refusal when the memory is smaller.
    func testMemoryPlanMatchesMeasuredPeakAndRefuses() throws {
        let t0 = Date()
        let runs = try tempDir("mem")
        let r = try runIRM([
            "train", "--dataset", "anger", "--limit", "40", "--seq-len", "64", "--max-steps", "1", "--sample-tokens",
            "4",
            "--no-heatmaps", "--threads", "2", "--runs", runs, "--name", "m"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        // "memory: peak resident 1435.2 MB (VmHWM); plan 1440.3 MB"
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("memory: peak resident") })
        let sizes = line.split(separator: " ").enumerated().compactMap { i, w -> Double? in
            guard let v = Double(w), let u = line.split(separator: " ").dropFirst(i + 1).first else { return nil }
            return v * (u.hasPrefix("GB") ? 1e9 : u.hasPrefix("MB") ? 1e6 : 1e3)
        }
        XCTAssertEqual(sizes.count, 2, String(line))
        let (peak, plan) = (sizes[0], sizes[1])
        print("memory: measured peak \(peak / 1e6) MB, plan \(plan / 1e6) MB, ratio \(peak / plan)")
        XCTAssertGreaterThan(plan, 1e9)  // the IRM state and the activations dominate, not the runtime
        XCTAssertEqual(peak / plan, 1, accuracy: 0.15)

        // With 1 GB the reference run (batch 8 × 128) does not fit: one line with alternatives, each of
        // which fits that memory, and no run folder.
        let base = ["train", "--dataset", "anger", "--plan-only", "--max-memory", "1G", "--runs", runs]
        let no = try runIRM(base + ["--name", "big"])
        assertOneLineError(no, contains: ["needs", "1.00 GB is available", "try --"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: runs + "/big"))
        let tries = no.stderr.components(separatedBy: "; try ")[1].components(separatedBy: ", or ")
        XCTAssertGreaterThanOrEqual(tries.count, 2, no.stderr)
        for t in tries {
            let flags = t.components(separatedBy: " (needs")[0].split(separator: " ").map(String.init)
            let yes = try runIRM(base + ["--name", "small"] + flags)
            XCTAssertEqual(yes.status, 0, "\(flags): \(yes.stderr)")
            XCTAssertTrue(yes.stdout.contains("; fits)"), yes.stdout)
        }
        print(String(format: "memory plan: %.1f s", Date().timeIntervalSince(t0)))
    }
}
