// What `irm analyze` prints: short aligned tables of analysis.json (AnalysisReport.swift), and of the model's
// residual statistics for `irm analyze --model M`.
import Foundation

func pct(_ x: Double?) -> String { x.map { String(format: "%.1f%%", 100 * $0) } ?? "-" }
func num(_ x: Double?, _ digits: Int = 3) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "-" }
func padded(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
func tokenList(_ t: [DecodedToken], _ n: Int) -> String { t.prefix(n).map { "'\($0.text)'" }.joined(separator: " ") }

public func analysisTable(_ r: AnalysisReport) -> String {
    let s = r.striation
    var out =
        "probe: \(r.probe.questions.count) questions, \(r.probe.tokens) tokens (prompts + greedy continuations under the IRM); "
    out += "\(r.probe.inTrainingSplit) in this run's training split\n\n"
    out +=
        "striation statistics (two-way decomposition of the [\(r.injectionLayers.count) layers × \(r.hidden)] matrix)\n"
    out += "  matrix          index     layer     residual\n"
    for (name, v) in [("mean", s.signed), ("mean |value|", s.magnitude)] {
        out +=
            "  " + padded(name, 14) + "  " + padded(pct(v.index), 8) + "  " + padded(pct(v.layer), 8) + "  "
            + pct(v.residual) + "\n"
    }
    out +=
        "  dominant index \(s.dominantIndex): \(pct(s.dominantShare)) of Σ|column means|; strongest index of \(pct(s.dominantTokenShare)) of the tokens\n"
    out +=
        "  top indices (column mean, share, energy share, layers in the top \(s.topPercentCount), constant share):\n"
    for t in s.topIndices.prefix(8) {
        out += String(
            format: "    %5d  %+.4f  %5.1f%%  %5.1f%%  %d/%d  %@\n", t.index, t.columnMean, 100 * t.share,
            100 * t.energyShare,
            t.layersInTopPercent, r.injectionLayers.count, t.constantShare.map { pct($0) } ?? "–")
    }
    if let last = r.training.last, let first = r.training.first {
        out +=
            "  over training (\(r.training.count) validations): index share \(pct(first.indexShare)) at step \(first.step) → "
        out +=
            "\(pct(last.indexShare)) at step \(last.step); dominant index \(first.dominantIndex) → \(last.dominantIndex) "
        out += "(share \(pct(first.dominantShare)) → \(pct(last.dominantShare)))\n"
    }
    out += "\nablations (validation loss on \(r.ablations.validationExamples) examples; greedy answers to the probe"
    out += r.targetEmotion.map { ", alignment = share labelled \($0))\n" } ?? ", no target emotion)\n"
    out += "  condition         val loss  perplexity  alignment  P(target)  tokens\n"
    for a in r.ablations.rows {
        out +=
            "  " + padded(a.name, 16) + "  " + padded(num(a.validationLoss, 4), 8) + "  "
            + padded(num(a.validationPerplexity, 2), 10)
        out += "  " + padded(pct(a.greedy.alignmentRate), 9) + "  " + padded(num(a.greedy.meanTargetProbability), 9)
        out += "  " + num(a.greedy.meanTokens, 1) + "\n"
    }
    let cv = r.controlVector
    out +=
        "  control vector kept \(pct(cv.alignmentKept)) of the IRM's alignment gain and \(pct(cv.lossKept)) of its loss gain; "
    out += "the mean vector at the IRM's sites \(pct(cv.meanVectorAlignmentKept)) and \(pct(cv.meanVectorLossKept))\n"
    out +=
        "\nthe top indices in the frozen model (rank of \(r.hidden); residual at the injection point over \(r.explanation.residual.tokens) probe prompt tokens)\n"
    out += "  index  rms  rms w/o first  sign  attn_norm  ffn_norm  final norm  promotes\n"
    for p in r.explanation.indices.prefix(8) {
        out +=
            String(
                format: "  %5d  %3d  %13d  %4d  %9d  %8d  %10d  ", p.index, p.rms.rank, p.rmsNoFirst.rank,
                p.signConsistency.rank,
                p.attnNorm.rank, p.ffnNorm.rank, p.finalNorm.rank) + tokenList(p.decoded.promoted, 5) + "\n"
    }
    out +=
        "  model's strongest dimensions by RMS: \(r.explanation.residual.topRMS.prefix(6).map(String.init).joined(separator: ", ")); "
    out +=
        "without the first token: \(r.explanation.residual.topRMSNoFirst.prefix(6).map(String.init).joined(separator: ", "))\n"
    if let sum = r.explanation.meanInjection.last {
        out +=
            "  the IRM's summed mean injection promotes \(tokenList(sum.promoted, 6)), suppresses \(tokenList(sum.suppressed, 6))\n"
    }
    return out
}

public func modelResidualTable(_ m: ModelResidualReport, count: Int = 12) -> String {
    let s = m.stats, d = s.dim, n = s.nLayers
    var out =
        "residual stream after each layer's attention add, \(s.tokens) probe prompt tokens (\(s.firstTokens) first tokens)"
    out += m.fromCache ? " — cached in \(m.cacheFile)\n" : " — measured, cached in \(m.cacheFile)\n"
    for (title, matrix, other) in [
        ("by RMS over all tokens", s.rms, s.rmsNoFirst), ("by RMS without the first token", s.rmsNoFirst, s.rms)
    ] {
        out += "strongest dimensions \(title) (mean over layers):\n"
        out += "  dim    rms      other    sign   attn_norm  ffn_norm  final norm (value, rank)\n"
        for i in topDimensions(matrix, rows: n, dim: d, count: count) {
            let mean = { (x: [Float]) in (0..<n).reduce(0.0) { $0 + Double(x[$1 * d + i]) } / Double(n) }
            let fr = indexRank(m.finalNorm, rows: 1, dim: d, index: i, perRow: false)
            out += String(
                format: "  %4d  %7.3f  %7.3f  %5.2f  %9.3f  %8.3f  %6.3f (%d)\n", i, mean(matrix), mean(other),
                mean(s.signConsistency), mean(m.attnNorm), mean(m.ffnNorm), fr.value, fr.rank)
        }
    }
    return out
}
