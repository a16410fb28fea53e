import XCTest
import Foundation
@testable import Training
import Llama
import TestSupport

/// The sweep's plans: the paper's 24 runs at any depth, plan files, run names, plan.json across restarts.
final class SweepPlanTests: XCTestCase {
    /// irm train's options as the sweep sees them (name → takes a value); the CLI passes the real table.
    let kinds: TrainOptionKinds = [
        "dataset": true, "layers": true, "l1": true, "seed": true, "objective": true,
        "max-steps": true, "lr": true, "width": true, "model": true, "batch-size": true,
        "seq-len": true, "recompute": false, "no-heatmaps": false, "label": true
    ]

    func layerSets(_ runs: [SweepRun], _ n: Int) throws -> [[Int]] {
        try runs.map { try parseLayerSpec($0.options["layers"]!, nLayers: n) }
    }

    /// Llama-2-7b (32 layers): exactly the reference's sets, each for anger, sadness and neutral, the L1 runs
    /// with λ = 1e-4 · 4096 · 8 · 127 (the reference's 1e-4/L · Σ|out| over a batch of 8 × 127 positions).
    func testPaperPlanFor32Layers() throws {
        let c = LlamaConfig.llama2_7b
        let runs = try SweepPlan.paper(nLayers: c.nLayers, hidden: c.dim).expand(
            nLayers: 32, kinds: kinds, source: "paper")
        XCTAssertEqual(runs.count, 24)
        let sets: [[Int]] = [
            Array(0...31), Array(0...7), Array(8...15), Array(16...23), Array(24...31),
            [3, 7, 11, 15, 19, 23, 27, 31], Array(0...7), Array(0...31)
        ]
        XCTAssertEqual(try layerSets(runs, 32), sets + sets + sets)
        XCTAssertEqual(
            runs.map { $0.options["dataset"]! },
            ["anger", "sadness", "neutral"].flatMap { Array(repeating: $0, count: 8) })
        let l1 = runs.map { $0.options["l1"].flatMap(Double.init) ?? 0 }
        XCTAssertEqual(l1.filter { $0 > 0 }.count, 6)
        for (i, v) in l1.enumerated() { XCTAssertEqual(v > 0, i % 8 >= 6, runs[i].name) }
        XCTAssertEqual(l1[6], 416.154, accuracy: 1e-3)
        XCTAssertEqual(
            runs.prefix(8).map(\.name),
            [
                "anger-0-31", "anger-0-7", "anger-8-15", "anger-16-23", "anger-24-31",
                "anger-3_31_4", "anger-0-7-l1", "anger-0-31-l1"
            ])
        XCTAssertEqual(Set(runs.map(\.name)).count, 24)
    }

    /// SmolLM2 (30 layers): quarters from round(k·30/4) — 0–7, 8–14, 15–22, 23–29 — and every 4th from 3 up to 27.
    func testPaperPlanFor30Layers() throws {
        let c = LlamaConfig.smolLM2_135M
        let runs = try SweepPlan.paper(nLayers: c.nLayers, hidden: c.dim).expand(
            nLayers: 30, kinds: kinds, source: "paper")
        XCTAssertEqual(runs.count, 24)
        let sets: [[Int]] = [
            Array(0...29), Array(0...7), Array(8...14), Array(15...22), Array(23...29),
            [3, 7, 11, 15, 19, 23, 27], Array(0...7), Array(0...29)
        ]
        XCTAssertEqual(try layerSets(runs, 30), sets + sets + sets)
        // Every layer is in exactly one quarter.
        XCTAssertEqual(sets[1...4].flatMap { $0 }, Array(0...29))
        XCTAssertEqual(
            runs.filter { $0.options["l1"] != nil }.map(\.name),
            ["anger", "sadness", "neutral"].flatMap { ["\($0)-0-7-l1", "\($0)-0-29-l1"] })
        XCTAssertEqual(Double(runs[7].options["l1"]!)!, 1e-4 * 576 * 8 * 127, accuracy: 1e-3)
        // The λ follows the batch and sequence length the plan trains with.
        let short = SweepPlan.paper(nLayers: 30, hidden: 576, options: ["seq-len": "65", "batch-size": "4"])
        XCTAssertEqual(Double(short.axes[1][7]["l1"]!)!, 1e-4 * 576 * 4 * 64, accuracy: 1e-3)
    }

    /// A plan file: a grid of datasets × objectives × seeds with option groups, named by what differs.
    func testPlanFileGridAndNames() throws {
        let dir = try tempDir()
        let path = try writeFile(
            dir, "grid.json",
            """
            {"options": {"max-steps": 300, "lr": "1e-3", "no-heatmaps": true, "recompute": false},
             "axes": [{"dataset": ["anger", "Datasets/neutral.csv"]},
                      {"objective": ["response", "reference"]},
                      [{"layers": "0-7"}, {"layers": "all", "l1": 0.5}, {"layers": "all", "l1": 0}],
                      {"seed": [0, 1]}]}
            """)
        let runs = try SweepPlan.load(path: path).expand(nLayers: 30, kinds: kinds, source: path)
        XCTAssertEqual(runs.count, 2 * 2 * 3 * 2)
        XCTAssertEqual(
            runs[0].options,
            [
                "dataset": "anger", "objective": "response", "layers": "0-7", "seed": "0",
                "max-steps": "300", "lr": "1e-3", "no-heatmaps": "true"
            ])
        XCTAssertEqual(
            runs.prefix(6).map(\.name),
            [
                "anger-0-7-seed0", "anger-0-7-seed1", "anger-0-29-l1-seed0",
                "anger-0-29-l1-seed1", "anger-0-29-seed0", "anger-0-29-seed1"
            ])
        XCTAssertEqual(runs[6].name, "anger-0-7-reference-seed0")
        XCTAssertEqual(runs[12].name, "neutral-0-7-seed0")
        XCTAssertEqual(runs[12].options["dataset"], "Datasets/neutral.csv")
        XCTAssertEqual(runs.last!.options["l1"], "0")
        XCTAssertEqual(runs[0].maxSteps, 300)
    }

    func testBadPlans() throws {
        let dir = try tempDir()
        func error(_ json: String) throws -> String {
            let p = try writeFile(dir, "p.json", json)
            do { _ = try SweepPlan.load(path: p).expand(nLayers: 30, kinds: kinds, source: p) } catch {
                return "\(error)"
            }
            XCTFail("accepted: \(json)"); return ""
        }
        XCTAssertTrue(
            try error(#"{"axes": [{"dataset": ["anger"]}], "options": {"lrate": 1}}"#).contains(
                "--lrate is not an irm train option"))
        XCTAssertTrue(try error(#"{"axes": [{"dataset": ["anger"], "seed": [1]}]}"#).contains("exactly one option"))
        XCTAssertTrue(try error(#"{"axes": [{"dataset": ["anger"]}, {"layers": ["0-7", "0-30"]}]}"#).contains("30"))
        XCTAssertTrue(
            try error(#"{"axes": [{"dataset": ["anger"]}, {"layers": ["0-7", "0,1,2,3,4,5,6,7"]}]}"#).contains(
                "both be named 'anger-0-7'"))
        XCTAssertTrue(
            try error(#"{"axes": [{"dataset": ["anger"]}], "options": {"name": "x"}}"#).contains("set by the sweep"))
        XCTAssertTrue(
            try error(#"{"axes": [{"dataset": ["anger"]}], "options": {"recompute": "yes"}}"#).contains("switch"))
        XCTAssertTrue(try error(#"{"axes": [{"layers": ["0-7"]}]}"#).contains("no dataset"))
        XCTAssertTrue(
            try error(#"{"axes": [{"dataset": ["anger"]}, {"dataset": ["neutral"]}]}"#).contains("axes 1 and 2"))
        XCTAssertTrue(try error(#"{"axes": 3}"#).contains("not a valid sweep plan"))
        XCTAssertTrue(try error(#"{"axes": [[{"dataset": {"a": 1}}]]}"#).contains("not a valid sweep plan"))
    }

    /// plan.json is written once; a sweep started again must describe the same runs, may change their step
    /// limits, and keeps the stored limits when it gives none.
    func testPlanJSONAcrossRestarts() throws {
        let dir = try tempDir()
        let folder = SweepFolder(dir + "/s")
        let runs = [SweepRun(name: "anger-0-7", options: ["dataset": "anger", "layers": "0-7", "max-steps": "10"])]
        try folder.record(SweepFile(source: "p", runs: runs))
        XCTAssertEqual(try folder.readPlan().runs, runs)
        var longer = runs
        longer[0].options["max-steps"] = "20"
        XCTAssertEqual(try folder.record(SweepFile(source: "p", runs: longer)).runs[0].maxSteps, 20)
        var unlimited = runs
        unlimited[0].options["max-steps"] = nil
        XCTAssertEqual(try folder.record(SweepFile(source: "p", runs: unlimited)).runs[0].maxSteps, 20)
        var other = runs
        other[0].options["lr"] = "1e-3"
        let e = thrown(RunError.self) { try folder.record(SweepFile(source: "p", runs: other)) }
        XCTAssertTrue(
            e?.description.contains("run anger-0-7 was planned with --lr (unset), now 1e-3") == true,
            "\(String(describing: e))")
        XCTAssertEqual(try folder.readPlan().runs[0].maxSteps, 20)
        XCTAssertEqual(try folder.status(runs[0]), .new)
    }

    /// The SLURM script: one array task per run, every run named, requeue on, per-task logs.
    func testSlurmScriptNamesEveryRun() throws {
        let c = LlamaConfig.smolLM2_135M
        let runs = try SweepPlan.paper(nLayers: c.nLayers, hidden: c.dim).expand(
            nLayers: 30, kinds: kinds, source: "paper")
        let s = slurmScript(
            folder: SweepFolder("Runs/sweeps/paper"), runs: runs, executable: "/opt/irm's/irm", workDir: "/work/x",
            cpusPerTask: 2, extraDirectives: ["--time=1:00:00"])
        XCTAssertTrue(s.contains("#SBATCH --array=0-23\n"))
        XCTAssertTrue(
            s.contains("#SBATCH --requeue\n") && s.contains("#SBATCH --time=1:00:00\n")
                && s.contains("#SBATCH --cpus-per-task=2\n"))
        XCTAssertTrue(s.contains("#SBATCH --output=/work/x/Runs/sweeps/paper/logs/slurm-%A_%a.out\n"))
        XCTAssertTrue(s.contains("runs=(" + runs.map(\.name).joined(separator: " ") + ")\n"))
        for (i, r) in runs.enumerated() {
            XCTAssertTrue(
                s.contains("#  \(String(i).padding(toLength: 4, withPad: " ", startingAt: 0)) \(r.name)\n"), r.name)
        }
        XCTAssertTrue(s.contains("exec '/opt/irm'\\''s/irm' sweep --dir '/work/x/Runs/sweeps/paper' --task \"$task\""))
    }
}
