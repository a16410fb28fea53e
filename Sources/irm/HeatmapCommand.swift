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

enum HeatmapCommand {
    static let defaultPrompt = "What is the capital of France?"

    static let spec = CommandSpec(
        name: "heatmap", summary: "draw a run's IRM output per token and averaged (PNG + heatmap.csv)",
        usage: "--run Runs/NAME [--prompt TEXT] [--max-tokens N] [--out DIR]",
        options: [
            Option(name: "run", value: "RUN", help: "the run folder (required)"),
            Option(name: "prompt", value: "TEXT", help: "prompt to run (default \"\(defaultPrompt)\")"),
            Option(name: "no-chat", value: nil, help: "feed the prompt as raw text, not as a chat user turn"),
            Option(name: "max-tokens", value: "N", help: "tokens to generate after the prompt (default 24)"),
            Option(name: "out", value: "DIR", help: "output folder (default RUN/heatmaps)"),
            Option(name: "no-per-token", value: nil, help: "only the averaged map"),
            Option(name: "threads", value: "N", help: "worker threads"),
        ])

    static func run(_ args: Arguments) throws {
        try applyThreads(args)
        let run = RunFolder(try args.required("run"))
        let config = try run.readConfig()
        let prompt = args.string("prompt") ?? defaultPrompt
        let lm = try config.loadModel()
        let net = try loadIRM(run.path, for: lm.model.config)
        let out = args.string("out") ?? run.heatmapDir
        let h = try drawIRMHeatmaps(lm: lm, net: net, prompt: prompt, chat: !args.flag("no-chat"), system: config.system,
                                    maxTokens: try args.int("max-tokens", default: 24, range: 0...4096), outDir: out,
                                    csvPath: args.string("out").map { $0 + "/heatmap.csv" } ?? run.path + "/heatmap.csv",
                                    title: config.runName, perToken: !args.flag("no-per-token"))
        try writeSummary(h, run: run, prompt: prompt, dir: out)
        printSummary(h, run: run)
    }

    static func writeSummary(_ h: HeatmapRun, run: RunFolder, prompt: String, dir: String? = nil) throws {
        struct Summary: Codable { var prompt: String; var generated: String; var tokens: [String]; var stats: StriationStats }
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try e.encode(Summary(prompt: prompt, generated: h.generated, tokens: h.tokens, stats: h.stats))
        try writeFileAtomically(data, to: (dir ?? run.heatmapDir) + "/summary.json")
    }

    static func printSummary(_ h: HeatmapRun, run: RunFolder) {
        let s = h.stats
        print(String(format: "heatmaps: %d tokens; stripe score %.3f (1 = pure vertical stripes); dominant hidden index %d (mean %+.4f, %.1f%% of Σ|column means|)",
                     h.tokens.count, s.stripeScore, s.dominantIndex, s.dominantMean, 100 * s.dominantShare))
        print("top indices: " + zip(s.topIndices, s.topMeans).prefix(5).map { String(format: "%d (%+.4f)", $0, $1) }.joined(separator: ", "))
        print("continuation with the IRM: \(h.generated.replacingOccurrences(of: "\n", with: " "))")
    }
}
