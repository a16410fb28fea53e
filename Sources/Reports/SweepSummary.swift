// summary.json of a sweep: one row per planned run, read from its run folder (the same readers as the run report),
// and what the runs say together: the index that dominates the most runs, and how alike the runs' per-index
// profiles are.
//
// Where each number comes from, best first (the row names its source):
//   striation statistics   analysis.json (the 32-question probe set)   > striation.csv's last row (the trainer's 4
//                          probe prompts, at the last validation)      > heatmaps/summary.json (one prompt)
//   alignment rate         analysis.json's "irm" ablation row (greedy, probe set) > eval.json's irm-greedy
//   per-index profile      |column mean| of analysis_mean.csv (probe set) > of heatmap.csv (one prompt): the IRM's
//                          output averaged over tokens and injection layers, per hidden index, sign dropped, the
//                          quantity whose largest share names the dominant index.
// Every run of a sweep sees the same probe prompts, so rows of the same source compare on the same footing.
import Foundation
import ModelIO
import Figures
import Training
import Analysis

public struct SweepRunSummary: Codable, Sendable {
    public var name: String
    /// "finished at step N (reason)", "resume at step N", "new", … (SweepRunStatus).
    public var status: String
    public var finished: Bool
    public var dataset: String?
    public var layers: String?
    public var l1: Double?
    public var objective: String?
    public var seed: UInt64?
    public var steps: Int?
    public var maxSteps: Int?
    public var finalValidationLoss: Double?
    public var bestValidationLoss: Double?
    public var alignmentRate: Double?
    /// The same probe or questions without the IRM.
    public var baseAlignmentRate: Double?
    public var alignmentSource: String?
    public var indexShare: Double?
    public var layerShare: Double?
    public var dominantIndex: Int?
    public var dominantShare: Double?
    public var statsSource: String?
    public var profileSource: String?
    /// The run's report.html, relative to the sweep folder, when there is one.
    public var report: String?
    /// Files of the run that are there but unreadable.
    public var problems: [String]
}

public struct DominantIndexCount: Codable, Sendable, Equatable {
    public var index: Int
    public var runs: [String]
}

public struct SweepSummary: Codable, Sendable {
    public var programVersion = irmVersion
    public var sweep: String
    public var planSource: String
    public var runs: [SweepRunSummary]
    /// Dominant indices by the number of runs they dominate, most first (ties: lower index first).
    public var dominantIndices: [DominantIndexCount]
    /// Pearson correlations of the per-index profiles, between the runs listed (those with a profile).
    public var profileRuns: [String]
    public var profileCorrelation: [[Double]]
    /// Mean of the off-diagonal correlations (nil with fewer than two profiles).
    public var meanProfileCorrelation: Double?
    /// Figures, relative to the sweep folder.
    public var gridPNG: String
    public var correlationPNG: String
}

/// One run's row, with its per-index profile and its mean matrix (for the grid) when the run has them.
struct SweepRunData {
    var summary: SweepRunSummary
    var profile: [Double]?
    var matrix: LabelledMatrix?
}

/// Reads run `r` of `folder` (never throws: an unreadable run is a row saying so).
func sweepRunData(_ folder: SweepFolder, _ r: SweepRun) -> SweepRunData {
    let status = (try? folder.status(r))
    var finished = false
    if case .finished = status { finished = true }
    var s = SweepRunSummary(name: r.name, status: status?.description ?? "unreadable", finished: finished, problems: [])
    if !finished, let pid = folder.lockHolder(r), kill(pid, 0) == 0 {
        s.status = "running (process \(pid)), " + s.status
    }
    // What the plan says, until the run's config.json says it exactly.
    s.maxSteps = r.maxSteps
    s.dataset = r.options["dataset"]; s.layers = r.options["layers"]; s.objective = r.options["objective"]
    let run = folder.runFolder(r)
    guard FileManager.default.fileExists(atPath: run.configPath) else { return SweepRunData(summary: s) }
    let inputs: ReportInputs
    do { inputs = try ReportInputs(run: run) } catch {
        s.problems = ["\(error)"]
        return SweepRunData(summary: s)
    }
    s.problems = inputs.problems
    let c = inputs.config
    s.dataset = c.dataset
    s.layers = layerSpecName(c.irm.layers)
    s.l1 = c.irm.l1 > 0 ? Double(c.irm.l1) : nil
    s.objective = c.trainingObjective.rawValue
    s.seed = c.seed
    s.maxSteps = r.maxSteps ?? c.maxSteps
    if let m = inputs.metrics.value {
        s.steps = m.last?.step
        s.finalValidationLoss = m.last(where: { $0.valLoss != nil })?.valLoss
        s.bestValidationLoss = m.compactMap(\.valLoss).min()
    }
    if FileManager.default.fileExists(atPath: run.reportPath) { s.report = r.name + "/report.html" }

    var profileMatrix: LabelledMatrix? = nil
    if let a = inputs.analysis.report.value {
        s.indexShare = a.striation.signed.index; s.layerShare = a.striation.signed.layer
        s.dominantIndex = a.striation.dominantIndex; s.dominantShare = a.striation.dominantShare
        s.statsSource = "analysis.json (\(a.striation.tokens) probe tokens)"
        if let on = a.ablations.row("irm")?.greedy.alignmentRate {
            s.alignmentRate = on
            s.baseAlignmentRate = a.ablations.row("frozen")?.greedy.alignmentRate
            s.alignmentSource = "analysis.json (\(a.probe.questions.count) probe questions, greedy)"
        }
        let csv = run.path + "/" + a.striation.meanMatrixCSV
        if let text = try? readText(csv), let m = try? parseMatrixCSV(text, path: csv) {
            profileMatrix = m; s.profileSource = a.striation.meanMatrixCSV
        }
    } else if let p = inputs.analysis.training.value?.last {
        s.indexShare = p.indexShare; s.layerShare = p.layerShare
        s.dominantIndex = p.dominantIndex; s.dominantShare = p.dominantShare
        s.statsSource = "striation.csv step \(p.step) (\(p.tokens) tokens)"
    } else if let h = inputs.heatmapSummary.value {
        s.dominantIndex = h.stats.dominantIndex; s.dominantShare = h.stats.dominantShare
        s.statsSource = "heatmaps/summary.json (one prompt)"
    }
    if s.alignmentRate == nil, let e = inputs.eval.value, let on = e.condition("irm-greedy")?.alignmentRate {
        s.alignmentRate = on
        s.baseAlignmentRate = e.condition("base-greedy")?.alignmentRate
        s.alignmentSource = "eval.json (\(e.settings.questionCount) questions, greedy)"
    }
    if profileMatrix == nil, let m = inputs.heatmapMatrix.value { profileMatrix = m; s.profileSource = "heatmap.csv" }
    return SweepRunData(
        summary: s, profile: profileMatrix.flatMap(indexProfile), matrix: profileMatrix ?? inputs.heatmapMatrix.value)
}

/// |column mean| per hidden index of a [layers × hidden] mean matrix (none for a matrix without rows).
func indexProfile(_ m: LabelledMatrix) -> [Double]? {
    m.rows > 0 ? columnMeans(m.values, layers: m.rows, hidden: m.cols).map(abs) : nil
}

/// Pearson correlation of two equally long series (0 when either is constant).
func pearson(_ a: [Double], _ b: [Double]) -> Double {
    let n = Double(a.count), ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for (x, y) in zip(a, b) { sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb) }
    return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : 0
}

/// The dominant indices by how many runs each dominates, most first.
func dominantIndexCounts(_ rows: [SweepRunSummary]) -> [DominantIndexCount] {
    var by: [Int: [String]] = [:]
    for r in rows { if let d = r.dominantIndex { by[d, default: []].append(r.name) } }
    return by.map { DominantIndexCount(index: $0.key, runs: $0.value) }
        .sorted { ($0.runs.count, -$0.index) > ($1.runs.count, -$1.index) }
}

/// The correlation matrix of the profiles of equal length (runs of one model); the others are left out.
func profileCorrelations(_ data: [SweepRunData]) -> (names: [String], matrix: [[Double]]) {
    let with = data.filter { $0.profile != nil }
    guard let h = with.first?.profile?.count else { return ([], []) }
    let same = with.filter { $0.profile!.count == h }
    let p = same.map { $0.profile! }
    return (same.map(\.summary.name), p.map { a in p.map { b in pearson(a, b) } })
}

func meanOffDiagonal(_ m: [[Double]]) -> Double? {
    guard m.count >= 2 else { return nil }
    var s = 0.0
    for i in m.indices { for j in m.indices where i != j { s += m[i][j] } }
    return s / Double(m.count * (m.count - 1))
}
