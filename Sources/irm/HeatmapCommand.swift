// irm heatmap --run Runs/<name> [--prompt TEXT] — draw what a trained IRM injects.
import Foundation
import ModelIO
import Llama
import IRM
import Datasets
import Training
import Evaluation
import Figures
import Analysis
import Reports

struct HeatmapCommand: Command {
    static let name = "heatmap", summary = "draw a run's IRM output per token and averaged (PNG + heatmap.csv)"
    static let defaultPrompt = "What is the capital of France?"

    var trained = RunOptions(), threads = ThreadOptions()
    var prompt = defaultPrompt, chat = true, maxTokens = 24, out: String?, perToken = true

    static var options: [Opt<Self>] {
        including(\.trained) + [
            .string("prompt", "TEXT", \.prompt, "prompt to run"),
            .flag("no-chat", \.chat, "feed the prompt as raw text, not as a chat user turn", sets: false),
            .int("max-tokens", "N", \.maxTokens, 0...4096, "tokens to generate after the prompt"),
            .string("out", "DIR", \.out, "output folder (default RUN/heatmaps)"),
            .flag("no-per-token", \.perToken, "only the averaged map", sets: false)
        ] + including(\.threads)
    }

    func run() throws {
        threads.apply()
        let run = trained.folder
        let config = try run.readConfig()
        let lm = try config.loadModel()
        let net = try loadIRM(run.path, for: lm.model.config)
        let h = try drawIRMHeatmaps(
            lm: lm, net: net, prompt: prompt, chat: chat, system: config.system,
            maxTokens: maxTokens, outDir: out ?? run.heatmapDir,
            csvPath: out.map { $0 + "/heatmap.csv" } ?? run.path + "/heatmap.csv",
            title: config.runName, perToken: perToken)
        try Self.writeSummary(h, run: run, prompt: prompt, dir: out)
        Self.printSummary(h, run: run)
        if out == nil { print(refreshRunReport(run)) }
    }

    static func writeSummary(_ h: HeatmapRun, run: RunFolder, prompt: String, dir: String? = nil) throws {
        try writeHeatmapSummary(h, prompt: prompt, dir: dir ?? run.heatmapDir)
    }

    static func printSummary(_ h: HeatmapRun, run: RunFolder) {
        let s = h.stats
        print(
            String(
                format:
                    "heatmaps: %d tokens; stripe score %.3f (1 = pure vertical stripes); dominant hidden index %d (mean %+.4f, %.1f%% of Σ|column means|)",
                h.tokens.count, s.stripeScore, s.dominantIndex, s.dominantMean, 100 * s.dominantShare))
        print(
            "top indices: "
                + zip(s.topIndices, s.topMeans).prefix(5).map { String(format: "%d (%+.4f)", $0, $1) }.joined(
                    separator: ", "))
        print("continuation with the IRM: \(h.generated.replacingOccurrences(of: "\n", with: " "))")
    }
}
