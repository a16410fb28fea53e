// Issue 19's knob scan: is there a constant, input-independent push on one hidden index that lowers the loss?
// If an objective rewards such a "knob" (a massive-activation channel whose final RMSNorm gain is small changes
// every later norm's denominator without touching the logits directly: a global temperature), every IRM trained
// under it would find the same index. The scan adds c to index i of the residual at every token, at the
// afterAttention site of every injection layer (where an IRM injects), and measures the validation loss and the
// mean next-token entropy over the objective's scored positions, for each index of four groups and each c of a
// grid of both signs. A first-order screen is not enough (index 17's gradient at c = 0 ranks 394th of 576 on
// SmolLM2 under the reference objective, yet c = +1 lowers the loss by 9 %), hence the grid.
//
// Cost: (indices × grid + 1) forward passes of one batch (the validation rows, right-padded): 64 × 14 + 1 = 897
// passes of 16 rows by default.
import Foundation
import ModelIO
import Numerics
import Llama
import IRM
import Datasets
import Training
import Figures

/// The default grid of c: log-spaced magnitudes 0.05 … 4, both signs, in increasing order.
public let defaultKnobGrid: [Float] = {
    let m: [Float] = [0.05, 0.1, 0.2, 0.5, 1, 2, 4]
    return m.reversed().map { -$0 } + m
}()

/// The candidate groups by name, each `count` indices: the largest residual RMS (the massive channels), the smallest
/// |final-norm gain| (channels the model switches off before the LM head), a run's strongest IRM indices, random
/// controls (seeded, none of the other groups' indices).
public enum KnobGroupKind: String, CaseIterable, Sendable {
    case massive, lowGain = "low-gain", irmTop = "irm-top", random

    public var description: String {
        switch self {
        case .massive: "largest residual RMS after attention (mean over layers, probe prompts)"
        case .lowGain: "smallest |final RMSNorm gain|"
        case .irmTop: "the run's strongest IRM indices (analysis.json)"
        case .random: "random controls (seed \(ablationRandomSeed)), none of the other groups"
        }
    }
}

public struct KnobGroup: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var indices: [Int]
    public init(name: String, description: String, indices: [Int]) {
        self.name = name; self.description = description; self.indices = indices
    }
}

/// The groups `kinds` asks for, in its order. `rms` [nLayers, dim] (the residual statistics), `finalGain` [dim],
/// `irmTop` the run's indices strongest first (needed only for irm-top).
public func knobGroups(
    _ kinds: [KnobGroupKind], rms: [Float], nLayers: Int, finalGain: [Float], irmTop: [Int]?, count: Int = 16
) throws -> [KnobGroup] {
    let dim = finalGain.count
    var groups: [KnobGroup] = []
    for k in kinds where k != .random {
        let idx: [Int]
        switch k {
        case .massive: idx = topDimensions(rms, rows: nLayers, dim: dim, count: count)
        case .lowGain:
            idx = Array(
                (0..<dim).sorted {
                    abs(finalGain[$0]) != abs(finalGain[$1]) ? abs(finalGain[$0]) < abs(finalGain[$1]) : $0 < $1
                }
                .prefix(count))
        case .irmTop:
            guard let irmTop, !irmTop.isEmpty else {
                throw RunError(
                    "--knobs irm-top needs a run analysed first (irm analyze --run RUN writes analysis.json)")
            }
            idx = Array(irmTop.prefix(count))
        case .random: idx = []
        }
        groups.append(KnobGroup(name: k.rawValue, description: k.description, indices: idx))
    }
    if kinds.contains(.random) {
        let idx = randomIndices(
            count: count, hidden: dim, excluding: groups.flatMap(\.indices), seed: ablationRandomSeed)
        groups.insert(
            KnobGroup(name: KnobGroupKind.random.rawValue, description: KnobGroupKind.random.description, indices: idx),
            at: kinds.firstIndex(of: .random)!)
    }
    return groups
}

public struct KnobPoint: Codable, Sendable, Equatable {
    public var c: Double
    /// Mean loss and mean next-token entropy (nats) over the scored positions.
    public var loss: Double, entropy: Double
}

public struct KnobCurve: Codable, Sendable, Equatable {
    public var index: Int
    public var group: String
    /// One point per value of the grid (c = 0 is the scan's baseline).
    public var points: [KnobPoint]
    /// The grid's best point, or c = 0 when no c lowers the loss.
    public var best: KnobPoint
    /// Baseline loss − best loss (≥ 0), and the same relative to the baseline.
    public var drop: Double, relativeDrop: Double
}

public struct KnobScan: Codable, Sendable, Equatable {
    public var model: String, dataset: String, objective: String
    public var layers: [Int]
    public var rows: Int, scoredPositions: Int
    public var grid: [Double]
    public var baseline: KnobPoint
    public var groups: [KnobGroup]
    public var curves: [KnobCurve]
    public var forwardPasses: Int, seconds: Double
}

/// Scans every index of `groups` (an index in two groups is measured once) over `grid` on `examples` as one batch,
/// under `objective` (the examples must be tokenised under it).
public func knobScan(
    model: LlamaModel, modelName: String, dataset: String, examples: [TokenizedExample], objective: Objective,
    padId: Int32, layers: [Int], groups: [KnobGroup], grid: [Float], progress: ((String) -> Void)? = nil
) throws -> KnobScan {
    guard let maxT = examples.map({ $0.ids.count }).max() else {
        throw RunError("no validation examples to scan the knobs on")
    }
    let start = Date()
    let arena = TrainingArena(config: model.config, B: examples.count, T: maxT, recompute: true)
    var passes = 0
    func measure(_ i: Int, _ c: Float) throws -> KnobPoint {
        // The knob: c on index i, the same vector at every injection layer's afterAttention site.
        var v = [Float](repeating: 0, count: model.config.dim)
        v[i] = c
        let knob = SteeringVectors(
            site: .afterAttention, vectors: Dictionary(uniqueKeysWithValues: layers.map { ($0, v) }))
        let r = try responseLoss(
            model: model, examples: examples, batchSize: examples.count, padId: padId, arena: arena,
            intervention: c == 0 ? nil : knob, objective: objective)
        passes += 1
        return KnobPoint(c: Double(c), loss: r.mean, entropy: r.meanEntropy)
    }
    let base = try measure(0, 0)
    let total = groups.reduce(0) { $0 + $1.indices.count }
    var measured: [Int: [KnobPoint]] = [:]
    var curves: [KnobCurve] = []
    for g in groups {
        for i in g.indices {
            precondition(i >= 0 && i < model.config.dim, "knob index out of range")
            if measured[i] == nil {
                progress?("knob \(curves.count + 1)/\(total): index \(i) (\(g.name))")
                measured[i] = try grid.map { try measure(i, $0) }
            }
            let pts = measured[i]!
            let best = (pts + [base]).min { $0.loss != $1.loss ? $0.loss < $1.loss : abs($0.c) < abs($1.c) }!
            curves.append(
                KnobCurve(
                    index: i, group: g.name, points: pts, best: best, drop: base.loss - best.loss,
                    relativeDrop: (base.loss - best.loss) / base.loss))
        }
    }
    let scored = examples.reduce(0) { $0 + $1.responseCount }
    return KnobScan(
        model: modelName, dataset: dataset, objective: objective.rawValue, layers: layers, rows: examples.count,
        scoredPositions: scored, grid: grid.map(Double.init), baseline: base, groups: groups, curves: curves,
        forwardPasses: passes, seconds: Date().timeIntervalSince(start))
}

// MARK: - Reading it

/// Per group: how many of its indices some c helps (lowers the loss by ≥ 1 %), its best index, c and drop.
public func knobTable(_ s: KnobScan) -> String {
    var out = String(
        format:
            "knob scan · %@ · %@ · objective %@ · %d rows, %d scored positions · baseline loss %.4f, entropy %.3f\n",
        s.model, s.dataset, s.objective, s.rows, s.scoredPositions, s.baseline.loss, s.baseline.entropy)
    out += "group       index  best c   loss     drop    entropy\n"
    for g in s.groups {
        let cs = s.curves.filter { $0.group == g.name }.sorted { $0.drop > $1.drop }
        for c in cs {
            out += String(
                format: "%-10@ %6d %7.2f  %.4f  %5.1f %%  %.3f\n", g.name as NSString, c.index, c.best.c, c.best.loss,
                100 * c.relativeDrop, c.best.entropy)
        }
    }
    for g in s.groups {
        let cs = s.curves.filter { $0.group == g.name }
        let helped = cs.filter { $0.relativeDrop >= 0.01 }.count
        let top = cs.max { $0.drop < $1.drop }
        out += String(
            format: "%@: %d of %d indices lower the loss by ≥ 1 %%; best %@\n", g.name, helped, cs.count,
            top.map { String(format: "index %d at c = %.2f (%.1f %%)", $0.index, $0.best.c, 100 * $0.relativeDrop) }
                ?? "none")
    }
    out += String(format: "%d forward passes in %.0f s\n", s.forwardPasses, s.seconds)
    return out
}

// MARK: - What `irm analyze --knobs` scans, and the files it writes

public struct KnobScanRequest: Sendable {
    public var kinds: [KnobGroupKind]
    public var grid: [Float] = defaultKnobGrid
    /// Validation rows scanned (one batch).
    public var rows = 16
    /// nil: the run's objective (with --run), else ours (response).
    public var objective: Objective?
    /// The probe (for the residual statistics behind "massive"), the datasets and the cache.
    public var options = AnalysisOptions()
    public init(kinds: [KnobGroupKind]) { self.kinds = kinds }
}

/// On a run: its model, dataset, validation split and injection layers; irm-top from its analysis.json.
public func knobScan(run: RunFolder, _ r: KnobScanRequest, progress: ((String) -> Void)? = nil) throws -> KnobScan {
    let config = try run.readConfig()
    var top: [Int]? = nil
    if r.kinds.contains(.irmTop) {
        guard FileManager.default.fileExists(atPath: run.analysisJSONPath) else {
            throw RunError("\(run.path): --knobs irm-top needs analysis.json (run irm analyze --run \(run.path) first)")
        }
        top = try readJSON(AnalysisReport.self, run.analysisJSONPath).striation.topIndices.map(\.index)
    }
    let lm = try config.loadModel()
    return try knobScan(lm: lm, config: config, layers: config.irm.layers, irmTop: top, r, progress: progress)
}

/// On a model alone: `dataset`'s validation split as `irm train --dataset D` (seed 0) makes it, every layer.
public func knobScan(
    lm: LoadedModel, modelPath: String, dataset: String, _ r: KnobScanRequest, progress: ((String) -> Void)? = nil
) throws -> KnobScan {
    let mc = lm.model.config
    var c = TrainConfig(
        model: modelPath, modelSHA256: try sha256Hex(ofFile: modelPath), dataset: dataset,
        datasetPath: try resolveDataset(dataset, datasetsDir: r.options.datasetsDir),
        split: DatasetSplit.make(count: 0, seed: 0), irm: IRMConfig(hidden: mc.dim, layers: Array(0..<mc.nLayers)),
        adam: AdamConfig(), runName: "")
    c.split = DatasetSplit.make(count: try loadRunExamples(c).count, seed: c.seed)
    return try knobScan(lm: lm, config: c, layers: c.irm.layers, irmTop: nil, r, progress: progress)
}

private func knobScan(
    lm: LoadedModel, config: TrainConfig, layers: [Int], irmTop: [Int]?, _ r: KnobScanRequest,
    progress: ((String) -> Void)?
) throws -> KnobScan {
    let objective = r.objective ?? config.trainingObjective
    let data = try prepareRunData(config, lm: lm, cacheDir: r.options.cacheDir, objective: objective)
    let rows = Array(data.val.prefix(r.rows))
    var rms: [Float] = []
    if r.kinds.contains(.massive) {
        progress?("residual statistics of the frozen model (cached)")
        let sel = try selectProbeQuestions(datasetsDir: r.options.datasetsDir, count: r.options.questions)
        rms =
            try cachedResidualStats(
                lm: lm, modelSHA256: config.modelSHA256, probe: sel, system: nil, cacheDir: r.options.cacheDir
            ).stats.rms
    }
    let mc = lm.model.config
    let groups = try knobGroups(
        r.kinds, rms: rms, nLayers: mc.nLayers, finalGain: lm.model.weights.outputNorm.array, irmTop: irmTop)
    return try knobScan(
        model: lm.model, modelName: (config.model as NSString).lastPathComponent, dataset: config.dataset,
        examples: rows, objective: objective, padId: lm.tokenizer.eosId ?? 0, layers: layers, groups: groups,
        grid: r.grid, progress: progress)
}

/// Writes `knobs-<objective>.json` (the scan) and `knobs-<objective>.html` (loss against c, one chart per group, a
/// line per index) into `dir`; returns their paths.
public func writeKnobScan(_ s: KnobScan, dir: String) throws -> [String] {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let base = (dir as NSString).appendingPathComponent("knobs-\(s.objective)")
    try writeJSONFile(s, to: base + ".json")
    var body = HTML.el("h1", [:], .text("Knob scan: \(s.model), \(s.dataset), objective \(s.objective)"))
    body += .el(
        "p", [:],
        .text(
            String(
                format:
                    "Loss with a constant c added to one hidden index at every injection layer's afterAttention site; %d validation rows, %d scored positions; without a knob: loss %.4f, entropy %.3f.",
                s.rows, s.scoredPositions, s.baseline.loss, s.baseline.entropy)))
    for g in s.groups {
        let series: [ChartSeries] = s.curves.filter { $0.group == g.name }.map { c in
            (
                name: "\(c.index)",
                points: ([KnobPoint(c: 0, loss: s.baseline.loss, entropy: s.baseline.entropy)] + c.points)
                    .sorted { $0.c < $1.c }.map { ($0.c, $0.loss) }
            )
        }
        var spec = LineChartSpec(title: "\(g.name): \(g.description)", xLabel: "c", yLabel: "validation loss")
        spec.textScale = 1
        body += .el("div", [:], renderLineChartSVG(series: series, spec: spec))
    }
    let page =
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>knob scan</title></head><body>"
        + body.markup + "</body></html>\n"
    try writeFileAtomically(base + ".html", Array(page.utf8))
    return [base + ".json", base + ".html"]
}
