// Queries on a neuron map: which neurons' top (or bottom) tokens are a given word.
import Foundation

public struct NeuronMatch: Sendable {
    public let layer: Int, index: Int
    /// Summed probability of the matching tokens in the neuron's list (the ranking key).
    public let prob: Float
    /// The matching tokens with their rank in the list (0 = top-1) and probability.
    public let tokens: [(rank: Int, id: Int32, prob: Float)]
}

/// The word a token stands for: leading space markers (" ", GPT-2's "Ġ", SentencePiece's "▁") and
/// surrounding whitespace removed, lower-cased. "Ġdog", " Dog" and "dog" all become "dog".
public func normalizedWord(_ s: String) -> String {
    var t = Substring(s)
    while let f = t.first, f == " " || f == "Ġ" || f == "▁" || f.isWhitespace { t = t.dropFirst() }
    while let l = t.last, l.isWhitespace { t = t.dropLast() }
    return t.lowercased()
}

extension NeuronMap {
    /// Neurons whose top-K list (or bottom list with `bottom`) holds the word in any casing, with or without
    /// a leading space marker; `substring` also accepts tokens that merely contain it. Best first.
    public func find(_ word: String, bottom: Bool = false, substring: Bool = false, limit: Int = 20) -> [NeuronMatch] {
        let w = normalizedWord(word)
        guard !w.isEmpty else { return [] }
        // Which token ids match: decided once per id, not per neuron.
        var matches = [Bool](repeating: false, count: vocab)
        for (id, t) in tokens.enumerated() where id < vocab {
            let n = normalizedWord(t)
            matches[id] = substring ? n.contains(w) : n == w
        }
        let kk = bottom ? bottomK : k
        let ids = bottom ? decoded.bottomIds : decoded.topIds
        let probs = bottom ? decoded.bottomProbs : decoded.topProbs
        var out: [NeuronMatch] = []
        for e in 0..<neuronCount {
            var hit: [(rank: Int, id: Int32, prob: Float)] = []
            for j in 0..<kk {
                let id = ids[e * kk + j]
                if id >= 0 && Int(id) < vocab && matches[Int(id)] { hit.append((j, id, probs[e * kk + j])) }
            }
            if hit.isEmpty { continue }
            let (l, i) = neuron(ofEntry: e)
            out.append(NeuronMatch(layer: l, index: i, prob: hit.reduce(0) { $0 + $1.prob }, tokens: hit))
        }
        // Top lists: most probable first. Bottom lists: most suppressed (smallest probability) first.
        out.sort { bottom ? ($0.prob < $1.prob) : ($0.prob > $1.prob) }
        return Array(out.prefix(limit))
    }
}
