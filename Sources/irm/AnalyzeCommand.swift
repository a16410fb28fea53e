// irm analyze --run Runs/<name> | --model PATH — striation statistics, ablations and the dominant indices
// explained through the model (Analysis/Analyze.swift); writes RUN/analysis.json.
import Foundation
import ModelIO
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

    static var options: [Opt<Self>] {
        [
            .string(
                "run", "RUN", \.runPath,
                "the run folder (writes RUN/analysis.json); without it, --model alone prints the model's residual statistics"
            )
        ]
            + including(\.probe) + [
                .string(
                    "emotion", "E", \.probe.o.emotion,
                    "target emotion of the alignment rates (default: the run's label or dataset name)"),
                .string("cache", "DIR", \.probe.o.cacheDir, "cache of per-model statistics")
            ] + including(\.model) + including(\.threads)
    }

    func run() throws {
        threads.apply()
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
}
