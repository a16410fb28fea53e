// Clamping one MLP neuron (Davies, arXiv 2501.02688): its activation h[t, index] = silu(gate)·up is
// replaced by a fixed value V at every position, at the mlpActivation hook (the same kind of hook-site
// intervention as the IRM), so the residual stream receives V·W_down[:, index] everywhere.
import Foundation
import Numerics
import Llama

public final class NeuronClamp: Intervention {
    public let layer: Int, index: Int, hiddenDim: Int
    public var value: Float

    public init(layer: Int, index: Int, value: Float, hiddenDim: Int) {
        precondition(index >= 0 && index < hiddenDim)
        self.layer = layer; self.index = index; self.value = value; self.hiddenDim = hiddenDim
    }

    public func mlpActivation(layer l: Int, activation h: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {
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
public func greedyProbe(model: LlamaModel, prompt: [Int32], maxTokens: Int, watch: Int32,
                        intervention: Intervention? = nil, isStop: (Int32) -> Bool = { _ in false }) throws -> [ProbeStep] {
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
public func clampSweep(model: LlamaModel, prompt: [Int32], layer: Int, index: Int, values: [Float], watch: Int32,
                       steps: Int) throws -> [(value: Float, first: Float, mean: Float)] {
    try values.map { v in
        let clamp = NeuronClamp(layer: layer, index: index, value: v, hiddenDim: model.config.hiddenDim)
        let r = try greedyProbe(model: model, prompt: prompt, maxTokens: steps, watch: watch, intervention: clamp)
        return (v, r[0].watchedProb, r.reduce(0) { $0 + $1.watchedProb } / Float(r.count))
    }
}
