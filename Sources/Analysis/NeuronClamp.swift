// Clamping one MLP neuron (Davies, arXiv 2501.02688): its activation h[t, index] = silu(gate)·up is
// replaced by a fixed value V at every position, at the mlpActivation hook (the same kind of hook-site
// intervention as the IRM), so the residual stream receives V·W_down[:, index] everywhere.
import Foundation
import Numerics
import Llama
import ModelIO

public final class NeuronClamp: Intervention {
    public let layer: Int, index: Int, hiddenDim: Int
    public var value: Float

    public init(layer: Int, index: Int, value: Float, hiddenDim: Int) {
        precondition(index >= 0 && index < hiddenDim)
        self.layer = layer; self.index = index; self.value = value; self.hiddenDim = hiddenDim
    }

    public func mlpActivation(layer l: Int, activation h: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool)
    {
        guard l == layer else { return }
        for t in 0..<T { h[t * hiddenDim + index] = value }
    }
}

/// One greedy step: the token chosen and the probability the watched token had at that step.
public struct ProbeStep: Sendable {
    public let token: Int32
    public let watchedProb: Float
}

/// Softmax probability of `id` under `logits` (log-sum-exp in Double).
public func softmaxProb(_ logits: [Float], _ id: Int32) -> Float {
    let m = logits.max() ?? 0
    var s = 0.0
    for v in logits { s += exp(Double(v - m)) }
    return Float(exp(Double(logits[Int(id)] - m)) / s)
}

/// Greedy generation of up to `maxTokens` after `prompt`, recording at every step the probability of
/// `watch` (the concept token). Stops after a token for which `isStop` is true (that step is included).
public func greedyProbe(
    model: LlamaModel, prompt: [Int32], maxTokens: Int, watch: Int32,
    intervention: Intervention? = nil, isStop: (Int32) -> Bool = { _ in false }
) throws -> [ProbeStep] {
    let state = model.makeState(capacity: prompt.count + maxTokens)
    var logits = try model.forward(prompt, state: state, intervention: intervention)
    var steps: [ProbeStep] = []
    while steps.count < maxTokens {
        let id = Int32(argmaxIndex(logits))
        steps.append(ProbeStep(token: id, watchedProb: softmaxProb(logits, watch)))
        if isStop(id) || steps.count == maxTokens { break }
        logits = try model.forward([id], state: state, intervention: intervention)
    }
    return steps
}

/// Probability of `watch` right after the prompt (the first generated position) with the neuron clamped at each
/// value, and its mean over `steps` greedy steps of the clamped continuation.
public func clampSweep(
    model: LlamaModel, prompt: [Int32], layer: Int, index: Int, values: [Float], watch: Int32,
    steps: Int
) throws -> [(value: Float, first: Float, mean: Float)] {
    try values.map { v in
        let clamp = NeuronClamp(layer: layer, index: index, value: v, hiddenDim: model.config.hiddenDim)
        let r = try greedyProbe(model: model, prompt: prompt, maxTokens: steps, watch: watch, intervention: clamp)
        return (v, r[0].watchedProb, r.reduce(0) { $0 + $1.watchedProb } / Float(r.count))
    }
}

// MARK: - Mention rate over sampled answers

/// `samples` sampled answers to `prompt`, answer i drawn with seed `params.seed + i` (so a clamped and an unclamped
/// call with the same parameters are paired sample by sample), each up to `maxTokens` or the end of generation,
/// decoded without special tokens.
public func sampledAnswers(
    model: LlamaModel, tokenizer tok: Tokenizer, prompt: [Int32], samples: Int, maxTokens: Int,
    params: SamplingParams, intervention: Intervention? = nil
) throws -> [String] {
    try (0..<samples).map { i in
        var p = params
        p.seed = params.seed &+ UInt64(i)
        var sampler = Sampler(p)
        let ids = try model.generate(
            prompt: prompt, maxTokens: maxTokens, sampler: &sampler, intervention: intervention,
            isStop: { tok.isEndOfGeneration($0) })
        return tok.decode(ids.filter { !tok.isEndOfGeneration($0) }, skipSpecial: true)
    }
}

/// Whether `text` mentions `word`: a case-insensitive match at the start of a word, so "dog" counts "Dogs" and
/// "dog's" but not "hotdog"; `word`'s own surrounding spaces are ignored.
public func mentions(_ text: String, word: String) -> Bool {
    let w = word.trimmingCharacters(in: .whitespaces).lowercased()
    guard !w.isEmpty else { return false }
    let t = text.lowercased()
    var from = t.startIndex
    while let r = t.range(of: w, range: from..<t.endIndex) {
        if r.lowerBound == t.startIndex || !t[t.index(before: r.lowerBound)].isLetter { return true }
        from = t.index(after: r.lowerBound)
    }
    return false
}

/// Exact two-sided McNemar test for paired yes/no outcomes: with `b` pairs where only the first condition says yes
/// and `c` where only the second does, the probability under "no difference" (each discordant pair a fair coin) of a
/// split at least as uneven: 2·P[Binomial(b+c, ½) ≤ min(b, c)], capped at 1.
public func mcNemarExactP(b: Int, c: Int) -> Double {
    let n = b + c
    guard n > 0 else { return 1 }
    var term = pow(0.5, Double(n)), tail = 0.0  // C(n, 0)/2ⁿ, then C(n, k)/2ⁿ by the ratio (n−k+1)/k
    for k in 0...min(b, c) {
        if k > 0 { term *= Double(n - k + 1) / Double(k) }
        tail += term
    }
    return min(1, 2 * tail)
}
