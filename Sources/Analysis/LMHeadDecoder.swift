// Reading vectors of the residual space as tokens through the LM head (Davies, arXiv 2501.02688):
// a vector w becomes the distribution softmax(W_U · (g ⊙ w)), W_U the LM head [vocab, dim] and g the
// final RMSNorm gain. The LM head only ever sees the final-normed residual rmsnorm(x)·g, so a residual
// direction w reaches the logits as W_U·(g⊙w) times the positive scale 1/rms(x); that scale cannot move
// the argmax (it only sharpens or flattens the softmax), while leaving g out would rank tokens by the
// wrong metric. `.none` decodes W_U·w without the gain, for comparison.
//
// Shared by `irm neurons` (every MLP neuron's row) and the IRM analysis (a run's dominant residual index:
// `decodeResidualIndex`).
//
// Speed: vectors go through in blocks of `blockRows`: one GEMM [B, dim]·W_Uᵀ into a [B, vocab] scratch
// (the project's blocked GEMM, both cores), then the per-row softmax statistics and top/bottom-K
// selection (TopK.swift) in parallel over rows. Memory is the scratch only: the full [count, vocab]
// logits never exist.
import Foundation
import Numerics
import Llama

public enum DecodeNorm: String, Sendable, CaseIterable {
    case final, none
}

/// Top-K and bottom-K (most suppressed) tokens of `count` decoded vectors, flat: vector i's j-th entry at i·k + j.
public struct DecodedTokens: Sendable {
    public let count: Int, k: Int, bottomK: Int
    public var topIds: [Int32], topProbs: [Float]
    public var bottomIds: [Int32], bottomProbs: [Float]

    public init(count: Int, k: Int, bottomK: Int) {
        self.count = count; self.k = k; self.bottomK = bottomK
        topIds = [Int32](repeating: -1, count: count * k); topProbs = [Float](repeating: 0, count: count * k)
        bottomIds = [Int32](repeating: -1, count: count * bottomK);
        bottomProbs = [Float](repeating: 0, count: count * bottomK)
    }

    public func top(_ i: Int) -> [(id: Int32, prob: Float)] {
        (0..<k).map { (topIds[i * k + $0], topProbs[i * k + $0]) }
    }
    public func bottom(_ i: Int) -> [(id: Int32, prob: Float)] {
        (0..<bottomK).map { (bottomIds[i * bottomK + $0], bottomProbs[i * bottomK + $0]) }
    }
}

public final class LMHeadDecoder: @unchecked Sendable {
    public let head: Weight  // W_U [vocab, dim]
    public let gain: [Float]?  // g [dim], nil for --norm none
    public var vocab: Int { head.rows }
    public var dim: Int { head.cols }
    /// Vectors per GEMM block. 256 amortises the packing of W_U (done once per block) to a few per cent
    /// of the block's FLOPs; the scratch is 256·vocab floats (50 MB for a 49k vocabulary).
    public var blockRows = 256

    public init(head: Weight, gain: [Float]?) {
        precondition(gain == nil || gain!.count == head.cols)
        self.head = head; self.gain = gain
    }

    public convenience init(model: LlamaModel, norm: DecodeNorm = .final) {
        self.init(head: model.weights.output, gain: norm == .final ? model.weights.outputNorm.array : nil)
    }

    /// FLOPs of decoding `count` vectors (the GEMM only).
    public func flops(count: Int) -> Double { 2 * Double(count) * Double(vocab) * Double(dim) }

    /// Decodes `count` vectors that `fill(start, n, dst)` writes as rows [n, dim] (called in order, n ≤ blockRows).
    /// `progress(done)` is called after each block.
    public func decode(
        count: Int, topK: Int, bottomK: Int,
        fill: (_ start: Int, _ n: Int, _ dst: UnsafeMutablePointer<Float>) -> Void,
        progress: ((Int) -> Void)? = nil
    ) -> DecodedTokens {
        precondition(topK >= 1 && topK <= vocab && bottomK >= 0 && bottomK <= vocab)
        var out = DecodedTokens(count: count, k: topK, bottomK: bottomK)
        if count == 0 { return out }
        let B = max(1, min(blockRows, count)), V = vocab, D = dim
        let x = FloatBuffer(count: B * D)
        let logits = FloatBuffer(count: B * V)
        let g = gain
        // Stand-ins when there is no bottom list (an empty array has no base address); never written.
        let noIds = UnsafeMutablePointer<Int32>.allocate(capacity: 1),
            noProbs = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { noIds.deallocate(); noProbs.deallocate() }
        out.topIds.withUnsafeMutableBufferPointer { ti in
            out.topProbs.withUnsafeMutableBufferPointer { tp in
                out.bottomIds.withUnsafeMutableBufferPointer { bi in
                    out.bottomProbs.withUnsafeMutableBufferPointer { bp in
                        let ti = SendablePointer(ti.baseAddress!), tp = SendablePointer(tp.baseAddress!)
                        let bi = SendablePointer(bi.baseAddress ?? noIds),
                            bp = SendablePointer(bp.baseAddress ?? noProbs)
                        let ls = SendableConstPointer(UnsafePointer(logits.ptr))
                        var start = 0
                        while start < count {
                            let n = min(B, count - start)
                            fill(start, n, x.ptr)
                            if let g {
                                g.withUnsafeBufferPointer { gp in
                                    for r in 0..<n { let row = x.ptr + r * D; for c in 0..<D { row[c] *= gp[c] } }
                                }
                            }
                            matmul(x.ptr, n, head, logits.ptr)
                            let s0 = start
                            parallelFor(n) { r in
                                let i = s0 + r
                                selectSoftmax(
                                    ls.p + r * V, V, k: topK, kb: bottomK,
                                    topIds: ti.p + i * topK, topProbs: tp.p + i * topK,
                                    botIds: bi.p + i * bottomK, botProbs: bp.p + i * bottomK)
                            }
                            start += n
                            progress?(start)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Decodes `count` contiguous vectors [count, dim].
    public func decode(vectors: UnsafePointer<Float>, count: Int, topK: Int, bottomK: Int = 0) -> DecodedTokens {
        let D = dim
        return decode(count: count, topK: topK, bottomK: bottomK) { s, n, dst in
            dst.update(from: vectors + s * D, count: n * D)
        }
    }

    /// Decodes one vector.
    public func decode(_ v: [Float], topK: Int, bottomK: Int = 0) -> (
        top: [(id: Int32, prob: Float)], bottom: [(id: Int32, prob: Float)]
    ) {
        precondition(v.count == dim)
        let r = v.withUnsafeBufferPointer { decode(vectors: $0.baseAddress!, count: 1, topK: topK, bottomK: bottomK) }
        return (r.top(0), r.bottom(0))
    }

    /// How far `token` stands out when `v` is read through the head: (l_token − mean l) / sd l over the whole
    /// vocabulary (population sd), l = W_U·(g⊙w) (no gain for `.none`); 0 when every logit is equal. `irm neurons
    /// clamp` reads a neuron's down column this way to say which sign of an activation pushes the token up.
    public func zScore(_ v: [Float], token: Int32) -> Float {
        precondition(v.count == dim && token >= 0 && Int(token) < vocab)
        let x = gain.map { g in zip(v, g).map { $0 * $1 } } ?? v
        var logits = [Float](repeating: 0, count: vocab)
        x.withUnsafeBufferPointer { xp in
            logits.withUnsafeMutableBufferPointer { matmul(xp.baseAddress!, 1, head, $0.baseAddress!) }
        }
        let n = Float(logits.count)
        let mean = logits.reduce(0, +) / n
        let sd = (logits.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        return sd > 0 ? (logits[Int(token)] - mean) / sd : 0
    }

    /// The residual stream's basis direction e_index read through the head: what a large value at one hidden
    /// index (the IRM's dominant index, e.g. 1512 in Llama-2-7b-chat) pushes the logits towards. The softmax
    /// is scale-dependent, so `scale` (the value sitting at that index) sets how peaked the probabilities are;
    /// the ranking does not depend on it.
    public func decodeResidualIndex(_ index: Int, scale: Float = 1, topK: Int, bottomK: Int = 0)
        -> (top: [(id: Int32, prob: Float)], bottom: [(id: Int32, prob: Float)])
    {
        precondition(index >= 0 && index < dim)
        var v = [Float](repeating: 0, count: dim)
        v[index] = scale
        return decode(v, topK: topK, bottomK: bottomK)
    }
}

/// Softmax of one logits row restricted to its top-K and bottom-K entries, written to the four outputs.
/// The selection always keeps at least one bottom value: the row's minimum decides whether the fast exp applies.
func selectSoftmax(
    _ l: UnsafePointer<Float>, _ n: Int, k: Int, kb: Int,
    topIds: UnsafeMutablePointer<Int32>, topProbs: UnsafeMutablePointer<Float>,
    botIds: UnsafeMutablePointer<Int32>, botProbs: UnsafeMutablePointer<Float>
) {
    let kb1 = max(kb, 1)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: k + kb1) { vals in
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: kb1) { bids in
            let sel = RowSelection(
                k: k, kb: kb1, topV: vals.baseAddress!, topI: topIds,
                botV: vals.baseAddress! + k, botI: bids.baseAddress!)
            sel.scan(l, n)
            let m = sel.topV[0], lo = sel.botV[0]
            let sum = lo >= m - 87 ? sumExpShifted(l, n, m) : sumExpShiftedWide(l, n, m)
            let lse = m + logf(sum)
            for j in 0..<k { topProbs[j] = expf(sel.topV[j] - lse) }
            for j in 0..<kb { botIds[j] = sel.botI[j]; botProbs[j] = expf(sel.botV[j] - lse) }
        }
    }
}
