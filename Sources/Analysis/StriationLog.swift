// Stripes over training: at every validation the trainer measures the striation statistics of the IRM as
// it is at that step on a small fixed probe and appends one row to R/striation.csv; `irm analyze` draws the
// curve. The probe is cheap next to the validation: the first few probe questions, prefilled once through
// the model with the IRM recording (no generation). The IRM's output depends only on the tap (the residual
// after layer 0's attention, read before any injection), so the injection is switched off: the numbers are
// the same and nothing downstream matters.
import Foundation
import ModelIO
import Llama
import IRM
import Figures
import Training

public let striationCSVHeader = "step,index_share,layer_share,abs_index_share,dominant_index,dominant_share,tokens"

/// The fixed prompts of the training-time probe, tokenised once.
public struct TrainingStriationProbe {
    public let lm: LoadedModel
    public let prompts: [[Int32]]

    /// The first `count` probe questions (ProbeSet.swift), chat-formatted with `system`.
    public init(lm: LoadedModel, system: String?, datasetsDir: String = "Datasets", count: Int = 4) throws {
        let sel = try selectProbeQuestions(datasetsDir: datasetsDir)
        self.lm = lm
        prompts = sel.questions.prefix(count).map { lm.promptTokens($0, chat: true, system: system) }
            .filter { !$0.isEmpty && $0.count <= lm.model.config.maxSeqLen }
    }

    /// The striation statistics of `net` on the prompts.
    public func measure(_ net: IRMNetwork) throws -> StriationReport {
        let c = net.config
        let rec = StriationRecorder(hidden: c.hidden, slots: c.layers.count)
        let inj = IRMInjector(net: net)
        inj.strength = 0
        rec.attach(to: inj)
        let state = lm.model.makeState(capacity: prompts.map(\.count).max() ?? 1)
        for p in prompts {
            state.reset()
            try lm.model.forward(p, state: state, intervention: inj)
        }
        return rec.report()
    }

    /// Measures `net` and appends the row for `step` to the run's striation.csv.
    public func record(_ net: IRMNetwork, step: Int, run: RunFolder) throws {
        try run.appendCSVRow(
            run.striationPath, header: striationCSVHeader, striationCSVRow(try measure(net).point(step: step)))
    }
}

func striationCSVRow(_ p: StriationPoint) -> String {
    String(
        format: "%d,%.6f,%.6f,%.6f,%d,%.6f,%d", p.step, p.indexShare, p.layerShare, p.absIndexShare, p.dominantIndex,
        p.dominantShare, p.tokens)
}

/// The rows of a striation.csv (empty when there is none); a malformed row is an error naming its line.
public func readStriationCSV(_ path: String) throws -> [StriationPoint] {
    guard FileManager.default.fileExists(atPath: path) else { return [] }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw FileError(path, "not readable as UTF-8 text")
    }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
    }
    while lines.last == "" { lines.removeLast() }
    guard let header = lines.first, header == striationCSVHeader else {
        throw FileError(path, line: 1, "expected the header '\(striationCSVHeader)'")
    }
    var points: [StriationPoint] = []
    for (k, line) in lines.enumerated().dropFirst() {
        let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        func bad(_ m: String) -> FileError { FileError(path, line: k + 1, m) }
        guard f.count == 7 else { throw bad("expected 7 fields, found \(f.count)") }
        guard let step = Int(f[0]), let dom = Int(f[4]), let tokens = Int(f[6]), step >= 0, dom >= 0, tokens >= 0 else {
            throw bad("step, dominant_index and tokens must be non-negative integers")
        }
        let d = [f[1], f[2], f[3], f[5]].compactMap(Double.init)
        guard d.count == 4, d.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }) else {
            throw bad("shares must be numbers in 0...1")
        }
        points.append(
            StriationPoint(
                step: step, indexShare: d[0], layerShare: d[1], absIndexShare: d[2], dominantIndex: dom,
                dominantShare: d[3], tokens: tokens))
    }
    return points
}

/// The curves of `points` against step: index share of variance, layer share and the dominant index's share.
public func striationSeries(_ points: [StriationPoint]) -> [ChartSeries] {
    [
        ("index share of variance", points.map { (Double($0.step), $0.indexShare) }),
        ("layer share of variance", points.map { (Double($0.step), $0.layerShare) }),
        ("dominant index's share of sum|column means|", points.map { (Double($0.step), $0.dominantShare) })
    ]
}

/// The chart of `striationSeries` (PNG here; the run report draws the same series as SVG).
public func striationChartSpec(title: String) -> LineChartSpec {
    var spec = LineChartSpec(title: title, xLabel: "step", yLabel: "share")
    spec.plotHeight = 400
    return spec
}

public func writeStriationChart(_ points: [StriationPoint], title: String, path: String) throws {
    try renderLineChart(series: striationSeries(points), spec: striationChartSpec(title: title)).writePNG(to: path)
}
