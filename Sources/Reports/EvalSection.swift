// `irm eval`'s results (eval.json): the metrics of each condition, the label distributions, perplexity with
// and without the IRM, and every question's answers side by side.
import Foundation
import Figures
import Evaluation

func evalSection(_ r: ReportInputs) -> ReportSection {
    let body = rendered(r.eval, missing: notComputed("not computed yet", command: "irm eval --run \(r.run.path)")) {
        e in
        let t = e.targetEmotion
        let st = e.settings
        var h = paragraph(
            .text(
                "\(st.questionCount) questions (\(st.questions))\(st.skippedQuestions > 0 ? ", \(st.skippedQuestions) skipped as too long" : ""); "
                    + "target emotion \(t ?? "none") (\(e.targetSource)). Greedy, and sampled at temperature \(st.temperature), top-p \(st.topP) "
                    + "with seed \(st.seed) + question index in both conditions; at most \(st.maxTokens) tokens; IRM weights \(st.weights)"
                    + "\(st.weightsStep.map { " (step \($0))" } ?? "")\(st.strength != 1 ? " at strength \(st.strength)" : "")."
            ))
        let head: [HTML] = [
            "condition", "answers", "aligned", "P(\(t ?? "target"))", "lexicon share", "lexicon top", "words", "tokens",
            "ended turn"
        ]
        let rows: [[HTML]] = e.conditions.map { c in
            [
                .text(conditionTitle(c.name)), "\(c.count)", "\(num(c.alignmentRate))",
                "\(num(c.meanTargetProbability))",
                "\(num(c.meanTargetLexicon))", "\(num(c.lexiconTopRate))", "\(num(c.meanWords, 1))",
                "\(num(c.meanTokens, 1))",
                "\(num(c.endedTurnRate, 2))"
            ]
        }
        h += htmlTable(header: head, rows: rows, numeric: Set(1..<9))
        h += HTML.el(
            "p", ["class": "note"],
            .text(
                "aligned: share of answers the naive Bayes classifier labels \(t ?? "with the target"); "
                    + "P: its mean probability of the target; lexicon share: target words / words; lexicon top: share of answers whose strongest lexicon emotion is the target."
            ))
        let labels = e.conditions.first.map { $0.labelShares.keys.sorted() } ?? []
        if !labels.isEmpty {
            h += HTML.el("h3", [:], "Classifier labels (share of answers)")
            h += htmlTable(
                header: ["condition"] + labels.map { HTML.text($0) },
                rows: e.conditions.map { c in
                    [.text(conditionTitle(c.name))] + labels.map { "\(num(c.labelShares[$0], 2))" }
                },
                numeric: Set(1...labels.count))
        }
        let ppl = [("validation", e.validation), ("test", e.test)].compactMap { n, p in p.map { (n, $0) } }
        if !ppl.isEmpty {
            h += HTML.el("h3", [:], "Perplexity on the response tokens")
            h += htmlTable(
                header: ["split", "examples", "tokens", "with the IRM", "without", "loss with", "loss without"],
                rows: ppl.map { n, p in
                    [
                        .text(n), "\(p.examples)", "\(p.tokens)", "\(num(p.perplexityWithIRM, 2))",
                        "\(num(p.perplexityWithout, 2))",
                        "\(num(p.lossWithIRM, 4))", "\(num(p.lossWithout, 4))"
                    ]
                }, numeric: Set(1...6))
        }
        return h
    }
    return ReportSection(id: "eval", title: "Evaluation", body: body)
}

/// Questions shown open; the rest are behind one "more" switch.
let answersShownOpen = 12

func answersSection(_ r: ReportInputs) -> ReportSection {
    let body = rendered(r.eval, missing: notComputed("not computed yet", command: "irm eval --run \(r.run.path)")) {
        e in
        let t = e.targetEmotion
        let blocks = e.questions.enumerated().map { k, q in
            HTML.el("p", ["class": "question"], .text("\(k + 1). \(q.prompt)"))
                + htmlTable(
                    header: ["answered by", "classifier", "answer"], rows: q.answers.map { answerCells($0, target: t) },
                    class: "data answers", rowClasses: q.answers.map { $0.condition.hasPrefix("irm") ? "irm" : nil })
        }
        var h = paragraph(
            .text(
                "Every question of the evaluation: the dataset's own answer (when it has one), then with and without the IRM, "
                    + "greedy and sampled. The classifier column gives its label\(t.map { " and P(\($0))" } ?? "")."))
        h += HTML.join(Array(blocks.prefix(answersShownOpen)))
        if blocks.count > answersShownOpen {
            h += HTML.el(
                "details", [:], HTML.el("summary", [:], .text("\(blocks.count - answersShownOpen) more questions")),
                HTML.join(Array(blocks.dropFirst(answersShownOpen))))
        }
        return h
    }
    return ReportSection(id: "answers", title: "Answers with and without the IRM", body: body)
}

func answerCells(_ a: EvalAnswer, target: String?) -> [HTML] {
    var label = a.score.label
    if let t = target { label += String(format: ", P %.2f", a.score.probabilities[t] ?? 0) }
    if !a.score.endedTurn { label += ", cut" }
    let text = a.text.trimmingCharacters(in: .whitespacesAndNewlines)
    return [
        .text(conditionTitle(a.condition)), .text(label), text.isEmpty ? HTML.el("em", [:], "(empty)") : .text(text)
    ]
}
