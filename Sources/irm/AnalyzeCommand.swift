// irm analyze --run Runs/<name> | --model PATH — striation statistics, ablations and the dominant indices
// explained through the model (Analysis/Analyze.swift); writes RUN/analysis.json.
import Foundation
import ModelIO
import Datasets
import Training
import Analysis
import Reports

/// --questions, --max-tokens, --datasets: the probe pass, the same for `analyze` and `export`.
struct ProbeOptions: OptionGroup {
    var o = AnalysisOptions()
    static var options: [Opt<Self>] {
        [
            .int(
                "questions", "N", \.o.questions, 1...10_000, "probe questions, from the questions Datasets/*.csv share"),
            .int("max-tokens", "N", \.o.maxTokens, 1...100_000, "tokens per greedy probe continuation"),
            .string("datasets", "DIR", \.o.datasetsDir, "where the probe questions come from"),
            .flag(
                "last", \.o.lastWeights,
                "the run's last checkpoint (irm.safetensors) instead of its best validation weights")
        ]
    }
}

struct AnalyzeCommand: Command {
    static let name = "analyze",
        summary = "explain a run's striations: statistics, ablations, the model's view of its top indices"
    static let usage: String? = "--run RUN [options]  |  --model PATH [options]"

    var runPath: String?
    var model = ModelOptions(), probe = ProbeOptions(), threads = ThreadOptions()
    var knobs: String?, dataset: String?, objective: Objective?, knobRows = 16, knobValues: String?, out: String?

    static var options: [Opt<Self>] {
        runOptions + including(\.probe) + probeExtras + knobOptions + including(\.model) + including(\.threads)
    }

    static var runOptions: [Opt<Self>] {
        [
            .string(
                "run", "RUN", \.runPath,
                "the run folder (writes RUN/analysis.json); without it, --model alone prints the model's residual statistics"
            )
        ]
    }

    static var probeExtras: [Opt<Self>] {
        [
            .string(
                "emotion", "E", \.probe.o.emotion,
                "target emotion of the alignment rates (default: the run's label or dataset name)"),
            .string("cache", "DIR", \.probe.o.cacheDir, "cache of per-model statistics")
        ]
    }

    static var knobOptions: [Opt<Self>] {
        [
            .string(
                "knobs", "GROUPS",
                \.knobs,
                "knob scan (issue 19): loss when a constant is added to one index at every injection layer, for the indices of GROUPS (comma-separated: massive, low-gain, irm-top, random; or all)"
            ),
            .string(
                "dataset", "NAME|PATH", \.dataset, "the knob scan's dataset with --model (its validation split, seed 0)"
            ),
            .choice("objective", \.objective, "the knob scan's objective (default: the run's, else response)"),
            .int("knob-rows", "N", \.knobRows, 1...4096, "validation rows the knob scan measures (one batch)"),
            .string(
                "knob-values", "LIST", \.knobValues,
                "the knob scan's values of c, comma-separated (default ±0.05, 0.1, 0.2, 0.5, 1, 2, 4)"),
            .string("out", "DIR", \.out, "where the knob scan's files go with --model (default Runs/knobs)")
        ]
    }

    func run() throws {
        threads.apply()
        if let knobs { return try runKnobs(knobs) }
        guard dataset == nil && objective == nil && knobValues == nil && out == nil else {
            throw CLIError("--dataset, --objective, --knob-values and --out go with --knobs")
        }
        let o = probe.o
        guard let r = runPath else {
            guard model.model != nil else { throw CLIError("pass --run RUN, or --model PATH for the model alone") }
            let lm = try model.load()
            print(
                modelResidualTable(try analyzeModel(lm, modelSHA256: try sha256Hex(ofFile: model.path()), options: o)),
                terminator: "")
            return
        }
        guard model.model == nil && model.tokenizer == nil else {
            throw CLIError("--model and --tokenizer do not go with --run (the run's config.json names its model)")
        }
        let folder = RunFolder(r)
        let progress = ProgressLine()
        let report = try analyzeRun(folder, options: o, progress: { progress.update($0) })
        progress.finish()
        try writeAnalysis(report, run: folder)
        print(analysisTable(report), terminator: "")
        print("wrote \(folder.analysisJSONPath)" + report.files.map { ", \(folder.path)/\($0)" }.joined())
        print(refreshRunReport(folder))
    }

    func runKnobs(_ groups: String) throws {
        let names = groups.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var r = KnobScanRequest(
            kinds: try names == ["all"]
                ? KnobGroupKind.allCases.filter { runPath != nil || $0 != .irmTop }
                : names.map { n in
                    guard let k = KnobGroupKind(rawValue: n) else {
                        throw CLIError(
                            "--knobs: unknown group '\(n)' (massive, low-gain, irm-top, random, or all)")
                    }
                    return k
                })
        r.rows = knobRows
        r.objective = objective
        r.options = probe.o
        if let v = knobValues {
            r.grid = try v.split(separator: ",").map { t in
                guard let c = Float(t.trimmingCharacters(in: .whitespaces)), c.isFinite, c != 0 else {
                    throw CLIError("--knob-values: '\(t)' is not a finite non-zero number")
                }
                return c
            }.sorted()
        }
        let progress = ProgressLine()
        let scan: KnobScan, dir: String
        if let runPath {
            guard model.model == nil && dataset == nil && out == nil else {
                throw CLIError("--model, --dataset and --out do not go with --run (the run names them)")
            }
            scan = try knobScan(run: RunFolder(runPath), r) { progress.update($0) }
            dir = runPath
        } else {
            guard model.model != nil, let dataset else {
                throw CLIError("--knobs needs --run RUN, or --model PATH with --dataset NAME")
            }
            guard !r.kinds.contains(.irmTop) else { throw CLIError("--knobs irm-top needs --run RUN") }
            scan = try knobScan(lm: try model.load(), modelPath: try model.path(), dataset: dataset, r) {
                progress.update($0)
            }
            dir = out ?? "Runs/knobs"
        }
        progress.finish()
        print(knobTable(scan), terminator: "")
        print("wrote " + (try writeKnobScan(scan, dir: dir)).joined(separator: ", "))
    }
}
