// irm eval --run Runs/<name> [--questions FILE] [--n 100] — how well a trained IRM realigns the model:
// alignment rate, emotion probability, lexicon score, perplexity and answer length, with vs without the IRM.
// The evaluation itself lives in Training/Evaluation.swift.
import Foundation
import Numerics
import Datasets
import Training
import Evaluation

enum EvalCommand {
    static let spec = CommandSpec(
        name: "eval", summary: "evaluate a run's IRM: alignment rate, emotion scores, perplexity, with vs without",
        usage: "--run Runs/NAME [--questions FILE] [--n 100] [--emotion E] [--seed S] [--max-tokens 64]",
        options: [
            Option(name: "run", value: "RUN", help: "the run folder (required)"),
            Option(name: "questions", value: "FILE", help: "questions from a dataset file (csv, jsonl, SQuAD json, text;label); default: the run's test split"),
            Option(name: "format", value: "F", help: "format of --questions: csv | labelled | jsonl | squad (default: from the extension)"),
            Option(name: "n", value: "N", help: "questions at most (default 100)"),
            Option(name: "emotion", value: "E", help: "target emotion (default: the run's label or dataset name: anger, fear, joy, love, sadness, surprise)"),
            Option(name: "seed", value: "S", help: "sampling seed; question i uses S + i, the same with and without the IRM (default 0)"),
            Option(name: "max-tokens", value: "N", help: "tokens per answer at most (default 64)"),
            Option(name: "temperature", value: "T", help: "temperature of the sampled answers (default 0.7)"),
            Option(name: "top-p", value: "P", help: "nucleus mass of the sampled answers (default 0.9)"),
            Option(name: "strength", value: "S", help: "scale the IRM's injection in the with-IRM answers (default 1)"),
            Option(name: "classifier", value: "PATH", help: "naive Bayes emotion model (default Datasets/emotion-nb.json)"),
            Option(name: "lexicon", value: "PATH", help: "emotion lexicon (default Datasets/emotion-lexicon.json)"),
            Option(name: "no-perplexity", value: nil, help: "skip the validation perplexity"),
            Option(name: "threads", value: "N", help: "worker threads"),
        ])

    static func run(_ args: Arguments) throws {
        try applyThreads(args)
        let run = RunFolder(try args.required("run"))
        var o = EvalOptions()
        o.questionsPath = args.string("questions")
        if let f = args.string("format") {
            guard o.questionsPath != nil else { throw CLIError("irm eval: --format applies to --questions FILE") }
            guard let fmt = DatasetFormat(rawValue: f) else {
                throw CLIError("irm eval: --format '\(f)' is not one of csv, labelled, jsonl, squad")
            }
            o.questionsFormat = fmt
        }
        o.maxQuestions = try args.int("n", default: 100, range: 1...1_000_000)
        o.emotion = args.string("emotion")
        o.seed = UInt64(try args.int("seed", default: 0, range: 0...Int.max))
        o.maxTokens = try args.int("max-tokens", default: 64, range: 1...1_000_000)
        o.temperature = try args.float("temperature", default: 0.7, range: 1e-6...100)
        o.topP = try args.float("top-p", default: 0.9, range: 1e-6...1)
        o.strength = try args.float("strength", default: 1, range: -1000...1000)
        o.classifierPath = args.string("classifier") ?? o.classifierPath
        o.lexiconPath = args.string("lexicon") ?? o.lexiconPath
        o.perplexity = !args.flag("no-perplexity")

        let progress = ProgressLine()
        let report = try evaluateRun(run, options: o, progress: { progress.update($0) })
        progress.finish()
        try writeEvalOutputs(report, run: run)
        print(evalTable(report), terminator: "")
        print("wrote \(run.evalJSONPath), \(run.evalSamplesPath)")
    }
}
