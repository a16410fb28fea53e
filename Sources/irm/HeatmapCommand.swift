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

    var trained = RunOptions(), threads = ThreadOptions()
    var prompt = defaultHeatmapPrompt, chat = true, maxTokens = 24, out: String?, perToken = true

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
        try writeHeatmapSummary(h, prompt: prompt, dir: out ?? run.heatmapDir)
        print(h.summary)
        if out == nil { print(refreshRunReport(run)) }
    }
}
