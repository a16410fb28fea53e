// Choosing the next token from logits: greedy (temperature 0), or temperature sampling restricted by
// top-k and top-p (nucleus, Holtzman et al. 2019). Seeded, so a run is reproducible.
import Foundation
import Numerics

public struct SamplingParams: Sendable, Codable, Equatable {
    public var temperature: Float = 0  // 0 = greedy
    public var topK: Int = 0  // 0 = no limit
    public var topP: Float = 1  // 1 = no limit
    public var seed: UInt64 = 0
    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.seed = seed
    }
}

public struct Sampler: Sendable {
    public let params: SamplingParams
    public var rng: Rng
    public init(_ p: SamplingParams) { params = p; rng = Rng(seed: p.seed) }

    public mutating func sample(_ logits: [Float]) -> Int32 {
        if params.temperature <= 0 { return Int32(argmaxIndex(logits)) }
        // Candidates sorted by logit, cut to top-k.
        var idx = Array(0..<logits.count)
        let k = params.topK > 0 ? min(params.topK, idx.count) : idx.count
        if k < idx.count {
            idx = Array(idx.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }.prefix(k))
        } else {
            idx.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        }
        // Softmax at the temperature.
        let mx = logits[idx[0]]
        var p = idx.map { Double(expf((logits[$0] - mx) / params.temperature)) }
        let total = p.reduce(0, +)
        for i in p.indices { p[i] /= total }
        // Nucleus: the smallest prefix whose mass reaches top-p.
        var n = p.count
        if params.topP < 1 {
            var acc = 0.0
            for i in p.indices { acc += p[i]; if acc >= Double(params.topP) { n = i + 1; break } }
        }
        let mass = p[0..<n].reduce(0, +)
        var r = rng.uniformDouble() * mass
        for i in 0..<n { r -= p[i]; if r < 0 { return Int32(idx[i]) } }
        return Int32(idx[n - 1])
    }
}

/// Index of the largest value (the first one on ties, as llama.cpp's greedy sampler).
public func argmaxIndex(_ a: [Float]) -> Int {
    var best = 0
    for i in 1..<a.count where a[i] > a[best] { best = i }
    return best
}
