// irm eval --run Runs/<name> [--questions FILE] [--n 100] — how well a trained IRM realigns the model:
// alignment rate, emotion probability, lexicon score, perplexity and answer length, with vs without the IRM.
// The evaluation itself lives in Training/Evaluation.swift.
import Foundation
import Numerics
import Datasets
import Training
import Evaluation
import Reports

struct EvalCommand: Command {
    static let name = "eval",
        summary = "evaluate a run's IRM: alignment rate, emotion scores, perplexity, with vs without"

    var trained = RunOptions(), threads = ThreadOptions(), decode = DecodeOptions()
    var o = EvalOptions()

    static var options: [Opt<Self>] {
        including(\.trained) + [
            .string(
                "questions", "FILE", \.o.questionsPath,
                "questions from a dataset file (csv, jsonl, SQuAD json, text;label); default: the run's test split"),
            .choice("format", \.o.questionsFormat, "format of --questions (default: from the extension)"),
            .int("n", "N", \.o.maxQuestions, 1...1_000_000, "questions at most"),
            .string(
                "emotion", "E", \.o.emotion,
                "target emotion (default: the run's label or dataset name: anger, fear, joy, love, sadness, surprise)"),
            .int(
                "seed", "S", \.o.seed, 0...Int.max,
                "sampling seed; question i uses S + i, the same with and without the IRM"),
            .int("max-tokens", "N", \.o.maxTokens, 1...1_000_000, "tokens per answer at most"),
            .float("temperature", "T", \.o.temperature, 1e-6...100, "temperature of the sampled answers"),
            .float("top-p", "P", \.o.topP, 1e-6...1, "nucleus mass of the sampled answers"),
            .float("strength", "S", \.o.strength, -1000...1000, "scale the IRM's injection in the with-IRM answers"),
            .string("classifier", "PATH", \.o.classifierPath, "naive Bayes emotion model"),
            .string("lexicon", "PATH", \.o.lexiconPath, "emotion lexicon"),
            .flag("no-perplexity", \.o.perplexity, "skip the validation perplexity", sets: false)
        ] + including(\.threads) + including(\.decode)
    }

    func run() throws {
        guard o.questionsFormat == nil || o.questionsPath != nil else {
            throw CLIError("--format applies to --questions FILE")
        }
        threads.apply()
        try decode.apply()
        let run = trained.folder
        let progress = ProgressLine()
        let report = try evaluateRun(run, options: o, progress: { progress.update($0) })
        progress.finish()
        try writeEvalOutputs(report, run: run)
        print(evalTable(report), terminator: "")
        print("wrote \(run.evalJSONPath), \(run.evalSamplesPath)")
        print(refreshRunReport(run))
    }
}
