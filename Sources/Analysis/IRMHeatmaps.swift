// The paper's figure (Smith et al. §4): what the IRM injects, drawn as heatmaps with one row per injection
// layer and one column per hidden index, one per token of a prompt and its generated continuation, and
// one averaged over them; plus the striation statistics behind the finding that the values line up in
// vertical stripes (the same hidden index across all layers) with one index dominating.
import Foundation
import Figures
import Numerics
import Llama
import IRM
import ModelIO
import Training

public struct StriationStats: Codable, Sendable {
    /// Share of the averaged map's energy (Σ v²) explained by its column means: 1 = perfect vertical stripes.
    public var stripeScore: Double
    /// The hidden index with the largest |column mean|, its column mean, and its share of Σ|column means|.
    public var dominantIndex: Int
    public var dominantMean: Double
    public var dominantShare: Double
    /// The strongest indices by |column mean|, strongest first.
    public var topIndices: [Int]
    public var topMeans: [Double]
}

/// Statistics of an averaged map m [layers, hidden] (row-major).
public func striationStats(_ m: [Float], layers L: Int, hidden h: Int) -> StriationStats {
    let colMean = columnMeans(m, layers: L, hidden: h)
    let energy = m.reduce(0.0) { $0 + Double($1) * Double($1) }
    let explained = colMean.reduce(0) { $0 + Double(L) * $1 * $1 }
    let order = (0..<h).sorted { abs(colMean[$0]) > abs(colMean[$1]) }
    let absSum = colMean.reduce(0) { $0 + abs($1) }
    let top = Array(order.prefix(10))
    return StriationStats(
        stripeScore: energy > 0 ? explained / energy : 0, dominantIndex: order[0],
        dominantMean: colMean[order[0]], dominantShare: absSum > 0 ? abs(colMean[order[0]]) / absSum : 0,
        topIndices: top, topMeans: top.map { colMean[$0] })
}

/// The IRM's output row [h·L] rearranged to [L, h]: row j (injection slot j), column i = out[i·L + j].
public func injectionMatrix(_ row: UnsafePointer<Float>, hidden h: Int, slots L: Int) -> [Float] {
    var m = [Float](repeating: 0, count: L * h)
    for j in 0..<L { for i in 0..<h { m[j * h + i] = row[i * L + j] } }
    return m
}

public struct HeatmapRun: Sendable {
    public var tokens: [String]  // the token of each recorded position
    public var generated: String  // the continuation's text
    public var mean: [Float]  // [L, h] averaged over tokens
    public var stats: StriationStats
    public var files: [String]
}

/// Runs `prompt` (chat-formatted when `chat`) through the model with the IRM injecting, generating up to
/// `maxTokens` greedily, records the IRM output at every position, and writes into `outDir`:
/// token_NNN.png per position (when `perToken`), mean.png, and `csvPath` with the averaged matrix.
public func drawIRMHeatmaps(
    lm: LoadedModel, net: IRMNetwork, prompt: String, chat: Bool = true, system: String? = nil,
    maxTokens: Int = 24, outDir: String, csvPath: String, title: String,
    perToken: Bool = true
) throws -> HeatmapRun {
    let c = net.config, h = c.hidden, L = c.layers.count
    let inj = IRMInjector(net: net)
    var rows: [[Float]] = []
    inj.onOutput = { p, n in for r in 0..<n { rows.append(injectionMatrix(p + r * c.outputDim, hidden: h, slots: L)) } }
    let ids = lm.promptTokens(prompt, chat: chat, system: system)
    var sampler = Sampler(SamplingParams())
    let out = try lm.model.generate(
        prompt: ids, maxTokens: maxTokens, sampler: &sampler, intervention: inj,
        isStop: { lm.tokenizer.isEndOfGeneration($0) })
    let fed = Array((ids + out).prefix(rows.count))
    let tokens = fed.map { printable(String(decoding: lm.tokenizer.tokenBytes($0), as: UTF8.self)) }
    try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
    var mean = [Float](repeating: 0, count: L * h)
    for r in rows { for k in 0..<mean.count { mean[k] += r[k] / Float(rows.count) } }
    let stats = striationStats(mean, layers: L, hidden: h)
    let labels = c.layers.map(String.init)
    var files: [String] = []
    // A shared colour limit for the per-token maps, so they can be compared with each other.
    let tokenLimit = rows.map { $0.map(abs).max() ?? 0 }.max() ?? 1
    if perToken {
        for (t, r) in rows.enumerated() {
            let path = outDir + String(format: "/token_%03d.png", t)
            var spec = HeatmapSpec(title: "\(title), token \(t) '\(tokens[t])'", rowLabels: labels, limit: tokenLimit)
            spec.highlightColumns = [stats.dominantIndex]
            try writeHeatmapPNG(values: r, rows: L, cols: h, spec: spec, path: path)
            files.append(path)
        }
    }
    var spec = HeatmapSpec(title: "\(title), mean over \(rows.count) tokens", rowLabels: labels)
    spec.highlightColumns = [stats.dominantIndex]
    try writeHeatmapPNG(values: mean, rows: L, cols: h, spec: spec, path: outDir + "/mean.png")
    files.append(outDir + "/mean.png")
    try writeMatrixCSV(values: mean, rows: L, cols: h, rowLabels: labels, path: csvPath)
    files.append(csvPath)
    let generated = lm.tokenizer.decode(out.filter { !lm.tokenizer.isEndOfGeneration($0) }, skipSpecial: true)
    return HeatmapRun(tokens: tokens, generated: generated, mean: mean, stats: stats, files: files)
}

/// heatmaps/summary.json: the prompt the maps were drawn for, its continuation, the token of each
/// token_NNN.png (NNN = position) and the striation statistics of the averaged map.
public struct HeatmapSummary: Codable, Sendable {
    public var prompt: String
    public var generated: String
    public var tokens: [String]
    public var stats: StriationStats
    public init(prompt: String, generated: String, tokens: [String], stats: StriationStats) {
        self.prompt = prompt; self.generated = generated; self.tokens = tokens; self.stats = stats
    }
}

/// The prompt of the heatmaps `irm train` draws at the end of a run, and `irm heatmap`'s default.
public let defaultHeatmapPrompt = "What is the capital of France?"

extension HeatmapRun {
    /// What `irm train` and `irm heatmap` print about the maps: the stripes, the top indices, the continuation.
    public var summary: String {
        let s = stats
        let top = zip(s.topIndices, s.topMeans).prefix(5).map { String(format: "%d (%+.4f)", $0, $1) }
        return String(
            format:
                "heatmaps: %d tokens; stripe score %.3f (1 = pure vertical stripes); dominant hidden index %d (mean %+.4f, %.1f%% of Σ|column means|)",
            tokens.count, s.stripeScore, s.dominantIndex, s.dominantMean, 100 * s.dominantShare)
            + "\ntop indices: " + top.joined(separator: ", ")
            + "\ncontinuation with the IRM: " + generated.replacingOccurrences(of: "\n", with: " ")
    }
}

/// The heatmaps `irm train` draws when a run ends, on the default prompt: the best weights loaded into the
/// trainer's own network (a second IRM would add its size to the run's peak memory), written into the run's
/// folder (heatmaps/, heatmap.csv, heatmaps/summary.json).
public func drawFinishedRunHeatmaps(_ s: TrainingSession) throws -> HeatmapRun {
    let net = s.trainer.net
    try net.loadWeights(SafetensorsFile(path: s.run.inferenceWeightsPath))
    let h = try drawIRMHeatmaps(
        lm: s.lm, net: net, prompt: defaultHeatmapPrompt, chat: true, system: s.config.system,
        outDir: s.run.heatmapDir, csvPath: s.run.path + "/heatmap.csv", title: s.config.runName)
    try writeHeatmapSummary(h, prompt: defaultHeatmapPrompt, dir: s.run.heatmapDir)
    return h
}

/// Writes `dir`/summary.json for the maps of `h`, atomically.
public func writeHeatmapSummary(_ h: HeatmapRun, prompt: String, dir: String) throws {
    try writeJSONFile(
        HeatmapSummary(prompt: prompt, generated: h.generated, tokens: h.tokens, stats: h.stats),
        to: dir + "/summary.json")
}

/// Token text for a title: ASCII only (the bitmap font's range), control characters shown escaped.
func printable(_ s: String) -> String {
    var out = ""
    for u in s.unicodeScalars {
        switch u {
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case " "..."~": out.unicodeScalars.append(u)
        default: out += "?"
        }
    }
    return out
}
