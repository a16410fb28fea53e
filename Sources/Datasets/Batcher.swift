// Batches: B tokenised examples right-padded to the longest, with their targets under the run's objective
// (TokenizedExample.swift).
//
// Ours: position t predicts token t+1. The loss is taken where token t+1 belongs to the response (including
// the end-of-turn token), never on the prompt or on padding.
// The reference's: its dataset gives x = ids[:-1], y = ids[1:], and its model's loss compares logits[:, :-1]
// with y[:, 1:] (src/lightning/dataset.py, src/llama_models/injected_llama_for_causal.py), so position t of x
// predicts ids[t+2], at every position, padding included. Every input position is real there: the IRM runs
// on all of them, and the L1 term sums over all of them.
import Numerics

public struct Batch: Sendable {
    public var B: Int, T: Int
    public var tokens: [Int32]  // [B·T]
    public var targets: [Int32]  // [B·T], −1 = no loss
    public var rowMask: [Bool]  // [B·T], true for real (non-padding) tokens
    public var realTokens: Int
    public var lossTokens: Int
}

public func makeBatch(_ examples: [TokenizedExample], padId: Int32, objective: Objective = .response) -> Batch {
    switch objective {
    case .response: responseBatch(examples, padId: padId)
    case .reference: referenceBatch(examples, padId: padId)
    }
}

func responseBatch(_ examples: [TokenizedExample], padId: Int32) -> Batch {
    let B = examples.count, T = examples.map { $0.ids.count }.max() ?? 1
    var b = Batch(
        B: B, T: T, tokens: .init(repeating: padId, count: B * T), targets: .init(repeating: -1, count: B * T),
        rowMask: .init(repeating: false, count: B * T), realTokens: 0, lossTokens: 0)
    for (s, e) in examples.enumerated() {
        let n = e.ids.count
        for t in 0..<n {
            b.tokens[s * T + t] = e.ids[t]
            b.rowMask[s * T + t] = true
            if t + 1 < n && t + 1 >= e.responseStart {
                b.targets[s * T + t] = e.ids[t + 1]
                b.lossTokens += 1
            }
        }
        b.realTokens += n
    }
    return b
}

/// Rows of n ids (padded to the longest, which referenceTokenize makes equal): inputs ids[0..<n-1], the
/// target of position t is ids[t+2] (none at the last position).
func referenceBatch(_ examples: [TokenizedExample], padId: Int32) -> Batch {
    let B = examples.count, n = max(3, examples.map { $0.ids.count }.max() ?? 3), T = n - 1
    var b = Batch(
        B: B, T: T, tokens: .init(repeating: padId, count: B * T), targets: .init(repeating: -1, count: B * T),
        rowMask: .init(repeating: true, count: B * T), realTokens: B * T, lossTokens: B * (T - 1))
    for (s, e) in examples.enumerated() {
        let row = e.ids + [Int32](repeating: padId, count: n - e.ids.count)
        for t in 0..<T { b.tokens[s * T + t] = row[t] }
        for t in 0..<(T - 1) { b.targets[s * T + t] = row[t + 2] }
    }
    return b
}

/// The order of the training examples in `epoch`: a permutation fixed by (seed, epoch), so a resumed
/// run takes exactly the batches the uninterrupted run would have.
public func epochOrder(count: Int, seed: UInt64, epoch: Int) -> [Int] {
    var rng = Rng(seed: seed &+ 0x9E3779B97F4A7C15 &* UInt64(epoch + 1))
    var p = Array(0..<count)
    if count > 1 { for i in stride(from: count - 1, to: 0, by: -1) { p.swapAt(i, rng.int(i + 1)) } }
    return p
}
