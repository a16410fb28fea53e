// Explaining an IRM's dominant index through the frozen model: what the residual stream looks like at the
// IRM's injection point (after each layer's attention add) on the probe prompts, per layer and hidden
// dimension: its RMS over every token and without each prompt's first token (a few "massive activation"
// dimensions are huge on the first token only), its usual value and how consistent its sign is; and the
// RMSNorm gains that scale each dimension on the way into attention, the MLP and the LM head. An index
// the IRM pushes hard may be one the model already uses as a large, steady channel, or one the norms
// amplify. These depend on the model and the probe only, so they are cached per model in Runs/.cache.
import Foundation
import ModelIO
import Llama
import Datasets
import Training

/// Per (layer, dimension) statistics of the frozen model's residual after each layer's attention add, all
/// [nLayers, dim] row-major.
public struct ResidualStats: Codable, Sendable {
    /// What the numbers were measured on (model, probe, system prompt): a cached file is used only when it matches.
    public var key: String
    public var nLayers: Int, dim: Int
    public var tokens: Int, firstTokens: Int
    public var rms: [Float]
    public var rmsNoFirst: [Float]
    /// |Σ sign(x)| / n over the tokens other than each prompt's first.
    public var signConsistency: [Float]
    public var meanNoFirst: [Float]

    var isComplete: Bool {
        let n = nLayers * dim
        return nLayers > 0 && dim > 0 && [rms, rmsNoFirst, signConsistency, meanNoFirst].allSatisfy { $0.count == n }
            && [rms, rmsNoFirst, signConsistency, meanNoFirst].allSatisfy { $0.allSatisfy(\.isFinite) }
    }
}

/// Sums the residual at every layer's afterAttention site; position 0 of a sequence counts as its first token.
final class ResidualRecorder: Intervention {
    let nLayers: Int, dim: Int
    var sumSq: [Double], sumSqNoFirst: [Double], sumSign: [Double], sumNoFirst: [Double]
    var tokens = 0, firstTokens = 0

    init(nLayers: Int, dim: Int) {
        self.nLayers = nLayers; self.dim = dim
        sumSq = [Double](repeating: 0, count: nLayers * dim)
        sumSqNoFirst = sumSq; sumSign = sumSq; sumNoFirst = sumSq
    }

    func afterAttention(layer l: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {
        let d = dim, base = l * d
        for t in 0..<T {
            let row = x + t * d, first = pos0 + t == 0
            if l == 0 { tokens += 1; if first { firstTokens += 1 } }
            for i in 0..<d {
                let v = Double(row[i])
                sumSq[base + i] += v * v
                if !first {
                    sumSqNoFirst[base + i] += v * v; sumNoFirst[base + i] += v;
                    sumSign[base + i] += v > 0 ? 1 : (v < 0 ? -1 : 0)
                }
            }
        }
    }

    func stats(key: String) -> ResidualStats {
        let n = Double(max(tokens, 1)), m = Double(max(tokens - firstTokens, 1))
        return ResidualStats(
            key: key, nLayers: nLayers, dim: dim, tokens: tokens, firstTokens: firstTokens,
            rms: sumSq.map { Float(($0 / n).squareRoot()) },
            rmsNoFirst: sumSqNoFirst.map { Float(($0 / m).squareRoot()) },
            signConsistency: sumSign.map { Float(abs($0) / m) }, meanNoFirst: sumNoFirst.map { Float($0 / m) })
    }
}

/// Prefills each prompt (a fresh sequence each) through the frozen model and measures the residual.
public func measureResidualStats(model: LlamaModel, prompts: [[Int32]], key: String = "") throws -> ResidualStats {
    let c = model.config
    let rec = ResidualRecorder(nLayers: c.nLayers, dim: c.dim)
    let state = model.makeState(capacity: max(1, prompts.map(\.count).max() ?? 1))
    for p in prompts where !p.isEmpty {
        state.reset()
        try model.forward(p, state: state, intervention: rec)
    }
    return rec.stats(key: key)
}

/// The residual statistics of `lm` on the probe questions (chat-formatted with `system`), read from
/// `cacheDir` when a file for the same model, probe and system prompt is there, else measured and cached.
public func cachedResidualStats(
    lm: LoadedModel, modelSHA256: String, probe: ProbeSelection, system: String?,
    cacheDir: String
) throws -> (stats: ResidualStats, path: String, fromCache: Bool) {
    let sys = system.map { String(format: "%016llx", fnv1a64($0)) } ?? "default"
    let key =
        "residual-v1|model=\(modelSHA256)|probe=\(probe.seed):\(probe.rows.map(String.init).joined(separator: ","))|system=\(sys)"
    let path = (cacheDir as NSString).appendingPathComponent(String(format: "residual-%016llx.json", fnv1a64(key)))
    let c = lm.model.config
    if let data = FileManager.default.contents(atPath: path),
        let s = try? JSONDecoder().decode(ResidualStats.self, from: data),
        s.key == key, s.nLayers == c.nLayers, s.dim == c.dim, s.isComplete
    {
        return (s, path, true)
    }
    let prompts = probe.questions.map { lm.promptTokens($0, chat: true, system: system) }.filter {
        $0.count <= c.maxSeqLen
    }
    let s = try measureResidualStats(model: lm.model, prompts: prompts, key: key)
    do { try FileManager.default.createDirectory(atPath: cacheDir, withIntermediateDirectories: true) } catch {
        throw RunError("\(cacheDir): cannot create the folder (\(error.localizedDescription))")
    }
    try writeJSONFile(s, to: path, .compact)
    return (s, path, false)
}

// MARK: - Ranks

/// Index `i` of m [rows, dim]: its mean over rows, the rank of that mean among all dimensions' means, and its
/// rank within each row (when `perRow`). Rank 1 = the largest value.
public func indexRank(_ m: [Float], rows: Int, dim: Int, index i: Int, perRow: Bool = true) -> IndexRank {
    precondition(m.count == rows * dim && i >= 0 && i < dim)
    var avg = [Double](repeating: 0, count: dim)
    for r in 0..<rows { for k in 0..<dim { avg[k] += Double(m[r * dim + k]) / Double(rows) } }
    let rank = 1 + avg.filter { $0 > avg[i] }.count
    let perLayer = perRow ? (0..<rows).map { r in 1 + (0..<dim).filter { m[r * dim + $0] > m[r * dim + i] }.count } : []
    return IndexRank(value: avg[i], rank: rank, perLayerRank: perLayer)
}

/// The `count` dimensions with the largest mean over rows of m [rows, dim], largest first.
public func topDimensions(_ m: [Float], rows: Int, dim: Int, count: Int) -> [Int] {
    var avg = [Double](repeating: 0, count: dim)
    for r in 0..<rows { for k in 0..<dim { avg[k] += Double(m[r * dim + k]) } }
    return Array((0..<dim).sorted { avg[$0] != avg[$1] ? avg[$0] > avg[$1] : $0 < $1 }.prefix(count))
}

/// The RMSNorm gains as [nLayers, dim] matrices (attn_norm, ffn_norm) and the final norm [dim].
public func normGains(_ model: LlamaModel) -> (attn: [Float], ffn: [Float], final: [Float]) {
    (
        model.weights.layers.flatMap { $0.attnNorm.array }, model.weights.layers.flatMap { $0.ffnNorm.array },
        model.weights.outputNorm.array
    )
}
