// The sections made by `irm analyze` (R/analysis.json, types in Analysis/AnalysisReport.swift) and by the
// trainer at each validation (R/striation.csv): striation statistics on the fixed probe set, stripes over
// training, the causal tests (ablations, the control vector) and the dominant indices explained through the
// model. Each says "not computed yet" and how to compute it until its file exists.
import Foundation
import Figures
import Training
import Evaluation
import Analysis

/// analysis.json and the stripes over training, when there.
public struct AnalysisInputs {
    public var report: Loaded<AnalysisReport>
    /// striation.csv's rows, or analysis.json's copy of them when the CSV is gone.
    public var training: Loaded<[StriationPoint]>

    init(run: RunFolder) {
        report = load(run.analysisJSONPath) { try readJSON(AnalysisReport.self, $0) }
        training = load(run.striationPath, readStriationCSV)
        if case .missing = training, let a = report.value, !a.training.isEmpty { training = .ok(a.training) }
    }

    var problems: [String] { [report.problem, training.problem].compactMap { $0 } }
}

func analysisSections(_ r: ReportInputs) -> [ReportSection] {
    let missing = notComputed("not computed yet", command: "irm analyze --run \(r.run.path)")
    return [
        ReportSection(
            id: "striation", title: "Striation statistics (probe set)",
            body: rendered(r.analysis.report, missing: missing, striationStatistics)),
        ReportSection(
            id: "stripes-over-training", title: "Stripes over training",
            body: rendered(
                r.analysis.training,
                missing: notComputed(
                    "not recorded for this run: striation.csv is written at each validation by",
                    command: "irm train"), stripesOverTraining)),
        ReportSection(
            id: "ablations", title: "Causal tests (ablations)",
            body: rendered(r.analysis.report, missing: missing, ablations)),
        ReportSection(
            id: "explanation", title: "The dominant indices through the model",
            body: rendered(r.analysis.report, missing: missing, explanation))
    ]
}

/// Tokens as chips, 'text' (quotes make leading spaces visible), long ones cut; chips wrap between, never inside.
func tokenChips(_ t: [DecodedToken], _ n: Int = 8) -> HTML {
    HTML.join(
        t.prefix(n).map { d in
            let s = d.text.count > 20 ? String(d.text.prefix(19)) + "…" : d.text
            return HTML.el("code", ["class": "tok"], .text("'\(s)'"))
        }, separator: " ")
}

// MARK: striation statistics

func striationStatistics(_ a: AnalysisReport) -> HTML {
    let s = a.striation, p = a.probe, L = a.injectionLayers.count
    var h = paragraph(
        .text(
            "On the fixed probe set: \(p.questions.count) questions (\(p.selection)), \(p.tokens) tokens "
                + "(prompts and greedy continuations under the IRM, at most \(p.maxTokens) tokens each); \(p.inTrainingSplit) of them in this run's training split. "
                + "Two-way decomposition of the [\(L) layers × \(a.hidden)] matrix: M = μ + layer effect + index effect + rest."
        ))
    h += htmlTable(
        header: ["matrix", "by hidden index", "by layer", "left over", "Σ(M − μ)²", "grand mean μ"],
        rows: [("mean (signed)", s.signed), ("mean |value|", s.magnitude)].map { name, v in
            [
                .text(name), "\(percent(v.index))", "\(percent(v.layer))", "\(percent(v.residual))",
                "\(formatSignificant(Float(v.total)))", "\(formatSignificant(Float(v.grandMean), plusSign: true))"
            ]
        }, numeric: Set(1...5))
    h += paragraph(
        strong("Dominant index \(s.dominantIndex)"),
        .text(
            ": \(percent(s.dominantShare)) of Σ|column means|; the strongest index of \(percent(s.dominantTokenShare)) of the probe tokens. "
                + "“Top 1 %” = the \(s.topPercentCount) strongest indices of a layer."))
    h += htmlTable(
        header: [
            "rank", "index", "column mean", "mean |value|", "share of Σ|column means|", "energy share",
            "layers in the top 1 %", "constant share"
        ],
        rows: s.topIndices.enumerated().map { k, t in
            [
                "\(k + 1)", "\(t.index)", "\(formatSignificant(Float(t.columnMean), plusSign: true))",
                "\(formatSignificant(Float(t.columnMeanAbs)))", "\(percent(t.share, 2))",
                "\(percent(t.energyShare, 2))",
                "\(t.layersInTopPercent) / \(L)", "\(t.constantShare.map { percent($0, 1) } ?? "–")"
            ]
        }, numeric: Set(0...7))
    h += HTML.el(
        "details", [:],
        HTML.el(
            "summary", [:], .text("the \(p.questions.count) probe questions and their continuations under the IRM")),
        htmlTable(
            header: ["row", "question", "continuation under the IRM", "tokens", "in training split"],
            rows: p.questions.map { q in
                [
                    "\(q.row)", .text(q.question), .text(q.continuation), "\(q.promptTokens) + \(q.continuationTokens)",
                    q.inTrainingSplit ? "yes" : "no"
                ]
            }, numeric: [0, 3]))
    return h
}

// MARK: stripes over training

func stripesOverTraining(_ points: [StriationPoint]) -> HTML {
    guard let first = points.first, let last = points.last else { return paragraph("striation.csv has no rows yet.") }
    let chart = renderLineChartSVG(
        series: striationSeries(points), spec: striationChartSpec(title: "Stripes over training (training probe)"))
    // The dominant index's history, as runs of validations with the same index.
    var runs: [(from: Int, to: Int, index: Int)] = []
    for p in points {
        if let l = runs.last, l.index == p.dominantIndex {
            runs[runs.count - 1].to = p.step
        } else {
            runs.append((p.step, p.step, p.dominantIndex))
        }
    }
    let history = runs.map {
        $0.from == $0.to ? "step \($0.from): \($0.index)" : "steps \($0.from)–\($0.to): \($0.index)"
    }
    return paragraph(
        .text(
            "At each of \(points.count) validations the trainer measured the striation statistics on a few fixed probe prompts "
                + "(\(last.tokens) tokens, prefill only). Index share of variance \(percent(first.indexShare)) at step \(first.step) → "
                + "\(percent(last.indexShare)) at step \(last.step); the dominant index's share \(percent(first.dominantShare)) → \(percent(last.dominantShare))."
        ))
        + figure(chart, caption: .text("Dominant index: " + history.joined(separator: "; ") + "."))
}

// MARK: causal tests

func ablations(_ a: AnalysisReport) -> HTML {
    let ab = a.ablations, t = a.targetEmotion
    var h = paragraph(
        .text(
            "Each condition answered the \(a.probe.questions.count) probe questions greedily "
                + "(aligned = share the classifier labels \(t ?? "with a target: none for this run")) and was scored on the run's validation split "
                + "(\(ab.validationExamples) examples, \(ab.validationTokens) response tokens). Random indices drawn with seed \(ab.randomSeed), none of the top 16."
        ))
    let rows: [[HTML]] = ab.rows.map { row in
        let idx =
            row.indices.map { $0.prefix(8).map(String.init).joined(separator: ", ") + ($0.count > 8 ? ", …" : "") }
            ?? ""
        return [
            code(row.name), .text(row.description + (idx.isEmpty ? "" : " [\(idx)]")), "\(num(row.validationLoss, 4))",
            "\(num(row.validationPerplexity, 2))", "\(num(row.greedy.alignmentRate, 2))",
            "\(num(row.greedy.meanTargetProbability))",
            "\(num(row.greedy.meanTokens, 1))"
        ]
    }
    h += htmlTable(
        header: ["condition", "what", "val loss", "perplexity", "aligned", "P(\(t ?? "target"))", "tokens"], rows: rows,
        numeric: Set(2...6), rowClasses: ab.rows.map { ["irm", "frozen"].contains($0.name) ? "irm" : nil })
    let cv = a.controlVector
    h += HTML.el("h3", [:], "The llama.cpp control vector")
    h += paragraph(
        .text(
            cv.mapping + " \(cv.layerCount) tensors of length \(cv.length). "
                + "Of the IRM's gain over the frozen model it keeps \(percent(cv.alignmentKept)) of the alignment and \(percent(cv.lossKept)) of the loss; "
                + "the same constant vector at the IRM's own sites keeps \(percent(cv.meanVectorAlignmentKept)) and \(percent(cv.meanVectorLossKept))."
        ))
    let shown = min(3, a.probe.questions.count)
    if shown > 0 {
        var answers = HTML.empty
        for q in 0..<shown {
            answers += HTML.el("p", ["class": "question"], .text("\(q + 1). \(a.probe.questions[q].question)"))
            answers += htmlTable(
                header: ["condition", "answer"],
                rows: ab.rows.map { [code($0.name), .text(q < $0.answers.count ? $0.answers[q] : "")] },
                class: "data answers")
        }
        h += HTML.el(
            "details", [:],
            HTML.el("summary", [:], .text("answers to the first \(shown) probe questions under every condition")),
            answers)
    }
    return h
}

// MARK: the indices through the model

func explanation(_ a: AnalysisReport) -> HTML {
    let e = a.explanation, rs = e.residual, n = a.hidden
    var h = paragraph(
        .text(
            "The frozen model's residual stream at the injection point (after each layer's attention add) over \(rs.tokens) probe prompt tokens "
                + "(\(rs.firstTokens) of them first positions), and its RMSNorm gains: where each of the IRM's top indices ranks among the \(n) hidden "
                + "dimensions (1 = largest; values averaged over layers; sign consistency and the final gain with their value, rank in brackets). "
                + "The model's strongest dimensions by RMS: \(rs.topRMS.prefix(8).map(String.init).joined(separator: ", ")); "
                + "without the first token: \(rs.topRMSNoFirst.prefix(8).map(String.init).joined(separator: ", "))."))
    h += htmlTable(
        header: [
            "index", "RMS", "RMS w/o first", "sign consistency", "mean w/o first", "attn_norm gain", "ffn_norm gain",
            "final norm gain"
        ],
        rows: e.indices.map { p in
            [
                "\(p.index)", "\(p.rms.rank)", "\(p.rmsNoFirst.rank)",
                "\(num(p.signConsistency.value, 2)) (\(p.signConsistency.rank))",
                "\(formatSignificant(Float(p.meanNoFirst), plusSign: true))", "\(p.attnNorm.rank)", "\(p.ffnNorm.rank)",
                "\(formatSignificant(Float(p.finalNorm.value))) (\(p.finalNorm.rank))"
            ]
        }, numeric: Set(0...7))
    h += HTML.el("h3", [:], "Each index's push through the final norm and the LM head")
    h += htmlTable(
        header: ["index", "promotes", "suppresses"],
        rows: e.indices.map { p in ["\(p.index)", tokenChips(p.decoded.promoted), tokenChips(p.decoded.suppressed)] },
        numeric: [0], class: "data tokens")
    if !e.meanInjection.isEmpty {
        h += HTML.el("h3", [:], "The IRM's mean injection through the final norm and the LM head")
        let rows: [[HTML]] = e.meanInjection.reversed().map { d in
            [.text(d.label), "\(formatSignificant(Float(d.norm)))", tokenChips(d.promoted), tokenChips(d.suppressed)]
        }
        h += htmlTable(
            header: ["vector", "norm", "promotes", "suppresses"], rows: rows, numeric: [1], class: "data tokens")
    }
    return h
}
