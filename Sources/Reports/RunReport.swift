// report.html: everything a run folder holds, on one self-contained page (images as data URIs, charts as inline
// SVG, no script, no network). Each section is optional: present when its file is there, a one-line "not
// computed yet" with the command that makes it otherwise, a one-line problem when the file is unreadable.
// Written at the end of `irm train`, `irm heatmap`, `irm eval` and `irm analyze`; `irm report --run R` redraws it.
import Foundation
import ModelIO
import Figures
import Training
import Evaluation
import Analysis

extension RunFolder {
    public var reportPath: String { path + "/report.html" }
}

public struct RunReport {
    public var html: String
    /// One line per input file that is there but could not be read (its section says so too).
    public var problems: [String]
}

/// The report of `run` (throws only when the folder is not a run: no readable config.json).
public func buildRunReport(_ run: RunFolder, now: Date = Date()) throws -> RunReport {
    let r = try ReportInputs(run: run)
    let sections =
        [configSection(r), trainingSection(r), heatmapSection(r)] + analysisSections(r)
        + [evalSection(r), answersSection(r)]
    let c = r.config
    let stamp = ISO8601DateFormatter().string(from: now)
    let subtitle =
        HTML.text(
            "IRM on \(c.dataset), layers \(layerSpecName(c.irm.layers)), model \((c.model as NSString).lastPathComponent). "
        )
        + code(r.run.path) + HTML.text(" — report written \(stamp) by irm \(irmVersion).")
    let html = reportPage(title: "Run \(c.runName)", subtitle: subtitle, glance: glance(r), sections: sections)
    return RunReport(html: html, problems: r.problems)
}

/// Builds and writes report.html atomically; returns the problems (also shown in the page).
@discardableResult
public func writeRunReport(_ run: RunFolder) throws -> [String] {
    let rep = try buildRunReport(run)
    try writeFileAtomically(run.reportPath, Array(rep.html.utf8))
    return rep.problems
}

/// For the end of train / heatmap / eval / analyze, where a report is a by-product: one line to print, never a throw.
public func refreshRunReport(_ run: RunFolder) -> String {
    do {
        let problems = try writeRunReport(run)
        return "report: \(run.reportPath)"
            + (problems.isEmpty ? "" : " (\(problems.count) file(s) unreadable: \(problems[0]))")
    } catch {
        return "report not written: \(error)"
    }
}

// MARK: at a glance

/// The numbers a reader looks for first, each from whichever file has it.
func glance(_ r: ReportInputs) -> HTML {
    var cards: [HTML] = []
    func card(_ k: String, _ v: String, _ d: String = "") { cards.append(glanceCard(k, v, d)) }
    if let s = r.state.value {
        card("steps", "\(s.step)", s.stopReason ?? (s.finished ? "finished" : "not finished"))
        if let b = s.bestVal {
            card(
                "best validation loss", num(b, 4),
                "perplexity \(num(exp(b), 2))" + (r.best.value?.step.map { ", step \($0)" } ?? ""))
        }
    } else if let last = r.metrics.value?.last {
        card("steps", "\(last.step)", "from metrics.csv")
    }
    if let e = r.eval.value {
        if let t = e.targetEmotion, let on = e.condition("irm-greedy")?.alignmentRate,
            let off = e.condition("base-greedy")?.alignmentRate
        {
            card(
                "\(t) rate, greedy", "\(num(on, 2)) vs \(num(off, 2))",
                "with vs without the IRM, \(e.settings.questionCount) questions")
        }
        if let p = e.test ?? e.validation {
            card(
                "\(e.test != nil ? "test" : "validation") perplexity",
                "\(num(p.perplexityWithIRM, 2)) vs \(num(p.perplexityWithout, 2))",
                "with vs without the IRM")
        }
    }
    if let a = r.analysis.report.value {
        let s = a.striation
        card(
            "variance by hidden index", percent(s.signed.index),
            "by layer \(percent(s.signed.layer)), left over \(percent(s.signed.residual)) (probe set)")
        card("dominant index", "\(s.dominantIndex)", "\(percent(s.dominantShare)) of Σ|column means| (probe set)")
        if let irm = a.ablations.row("irm")?.greedy.alignmentRate,
            let z = a.ablations.row("zero-top-1")?.greedy.alignmentRate
        {
            card(
                "alignment, top index zeroed", "\(num(z, 2)) vs \(num(irm, 2))",
                "index \(s.dominantIndex) zeroed vs the whole IRM (probe set)")
        }
    } else if let h = r.heatmapSummary.value {
        card(
            "dominant index", "\(h.stats.dominantIndex)",
            "\(percent(h.stats.dominantShare)) of Σ|column means| (one prompt)")
        card("stripe score", num(h.stats.stripeScore), "1 = pure vertical stripes (one prompt)")
    }
    return cards.isEmpty ? .empty : HTML.el("div", ["class": "glance"], cards)
}
