// What an evaluation writes: eval.json, eval_samples.md, and the table printed on the terminal.
import Foundation
import ModelIO
import Training

// MARK: - Output

extension RunFolder {
    public var evalJSONPath: String { path + "/eval.json" }
    public var evalSamplesPath: String { path + "/eval_samples.md" }
}

/// Writes eval.json and eval_samples.md into the run folder, each atomically.
public func writeEvalOutputs(_ r: EvalReport, run: RunFolder) throws {
    try writeJSONFile(r, to: run.evalJSONPath)
    try writeFileAtomically(run.evalSamplesPath, Array(evalSamplesMarkdown(r).utf8))
}

public func conditionTitle(_ name: String) -> String {
    switch name {
    case "irm-greedy": "IRM, greedy"
    case "base-greedy": "no IRM, greedy"
    case "irm-sampled": "IRM, sampled"
    case "base-sampled": "no IRM, sampled"
    case "dataset": "dataset answer"
    default: name
    }
}

public func evalSamplesMarkdown(_ r: EvalReport) -> String {
    let t = r.targetEmotion
    var s = "# Evaluation of \(r.runName)\n\n"
    s +=
        "Questions: \(r.settings.questions) (\(r.settings.questionCount)). Target emotion: \(t ?? "none") (\(r.targetSource)). "
    s +=
        "Greedy, and sampled at temperature \(r.settings.temperature), top-p \(r.settings.topP), seed \(r.settings.seed) + question index; "
    s += "at most \(r.settings.maxTokens) tokens. Labels from the naive Bayes classifier (\(r.settings.classifier))"
    s += t.map { "; P = its probability of \($0)" } ?? ""
    s += ".\n\n"
    for (i, q) in r.questions.enumerated() {
        s += "## \(i + 1). \(oneLine(q.prompt))\n\n"
        for a in q.answers {
            var tag = a.score.label
            if let t { tag += String(format: ", P(%@) %.2f", t, a.score.probabilities[t] ?? 0) }
            if !a.score.endedTurn { tag += ", cut" }
            s +=
                "- **\(conditionTitle(a.condition))** (\(tag)): \(oneLine(a.text).isEmpty ? "*(empty)*" : oneLine(a.text))\n"
        }
        s += "\n"
    }
    return s
}

func oneLine(_ s: String) -> String {
    s.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
}

/// A short aligned table of the report for the terminal.
public func evalTable(_ r: EvalReport) -> String {
    let t = r.targetEmotion
    func f(_ x: Double?, _ digits: Int = 3) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "-" }
    func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
        s.count >= w
            ? s
            : (left ? s + String(repeating: " ", count: w - s.count) : String(repeating: " ", count: w - s.count) + s)
    }
    var s =
        "\(r.run): \(r.settings.questionCount) questions (\(r.settings.questions)); target emotion \(t ?? "none") (\(r.targetSource))\n"
    let head = ["aligned", "P(\(t ?? "target"))", "lexicon", "lex-top", "words", "tokens", "ended"]
    s += pad("", 17, left: true) + head.map { pad($0, 11) }.joined() + "\n"
    for c in r.conditions {
        let cells = [
            f(c.alignmentRate), f(c.meanTargetProbability), f(c.meanTargetLexicon), f(c.lexiconTopRate),
            f(c.meanWords, 1), f(c.meanTokens, 1), f(c.endedTurnRate, 2)
        ]
        s += pad(conditionTitle(c.name), 17, left: true) + cells.map { pad($0, 11) }.joined() + "\n"
    }
    let labels = r.conditions.first.map { $0.labelShares.keys.sorted() } ?? []
    s += "labels:          " + labels.map { pad($0, 9) }.joined() + "\n"
    for c in r.conditions {
        s +=
            pad(conditionTitle(c.name), 17, left: true) + labels.map { pad(f(c.labelShares[$0], 2), 9) }.joined() + "\n"
    }
    for (name, p) in [("validation", r.validation), ("test", r.test)] {
        guard let v = p else { continue }
        s += String(
            format: "%@ perplexity: %.2f with the IRM, %.2f without (loss %.4f vs %.4f; %d examples, %d tokens)\n",
            name, v.perplexityWithIRM, v.perplexityWithout, v.lossWithIRM, v.lossWithout, v.examples, v.tokens)
    }
    return s
}
