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
    /// The logits of the listed tokens (NaN when not known: a map read from a file keeps probabilities only).
    public var topLogits: [Float], bottomLogits: [Float]

    public init(count: Int, k: Int, bottomK: Int) {
        self.count = count; self.k = k; self.bottomK = bottomK
        topIds = [Int32](repeating: -1, count: count * k); topProbs = [Float](repeating: 0, count: count * k)
        bottomIds = [Int32](repeating: -1, count: count * bottomK);
        bottomProbs = [Float](repeating: 0, count: count * bottomK)
        topLogits = [Float](repeating: .nan, count: count * k)
        bottomLogits = [Float](repeating: .nan, count: count * bottomK)
    }

    public func top(_ i: Int) -> [(id: Int32, prob: Float)] {
        (0..<k).map { (topIds[i * k + $0], topProbs[i * k + $0]) }
    }
    public func bottom(_ i: Int) -> [(id: Int32, prob: Float)] {
        (0..<bottomK).map { (bottomIds[i * bottomK + $0], bottomProbs[i * bottomK + $0]) }
    }
}

/// How a decoder finds each vector's logits.
///   exact     every logit in fp32 by the blocked GEMM (`matmulGEMM`);
///   screened  every logit in 8 bits with a proven error bound (Numerics/Int8Screen.swift), then the tokens whose
///             bound reaches the K-th best (or worst) value rescored exactly, one at a time in the GEMM's own
///             order. The kept tokens and their logits equal the exact method's bit for bit; the probabilities
///             share the exact logits but their normaliser lse is summed over screened values for the other
///             tokens, so they differ from the exact method's by a factor e^±(largest bound) at most (in practice
///             ~10⁻⁶ relative).
public enum DecodeMethod: Sendable, Equatable {
    case exact
    case screened(Int8ScreenKernel)

    /// Screened where the fast 8-bit kernel runs (AVX-512 VNNI), exact elsewhere.
    public static var best: DecodeMethod { Int8ScreenKernel.best.map { .screened($0) } ?? .exact }
    public var summary: String {
        switch self {
        case .exact: "exact fp32 (\(kernelPath.rawValue) GEMM)"
        case .screened(let k): "8-bit screen (\(k.rawValue)) + exact fp32 rescoring (\(kernelPath.rawValue))"
        }
    }
}

public final class LMHeadDecoder: @unchecked Sendable {
    public let head: Weight  // W_U [vocab, dim]
    public let gain: [Float]?  // g [dim], nil for --norm none
    public var vocab: Int { head.rows }
    public var dim: Int { head.cols }
    /// Vectors per block (nil: 256 exact, 1024 screened). 256 amortises the packing of W_U (done once per block)
    /// to a few per cent of the block's FLOPs; the screened method's second stage reads each candidate token's
    /// 8-bit rows once per block, so more vectors share them. The scratch is blockRows·vocab floats (50 MB at 256
    /// for a 49k vocabulary, 525 MB at 1024 for Llama 3's 128k).
    public var blockRows: Int?
    /// Exact unless set: single vectors and the analysis want exact probabilities; the neuron map (hundreds of
    /// thousands of vectors) screens where it can (`NeuronMap.build`).
    public var method: DecodeMethod = .exact
    /// The 8-bit head of the screened method, made on first use (V·K bytes).
    private var int8Head: Int8Head?
    /// What the screened method has done so far.
    public var screenStats: ScreenStats { counter.stats }
    private let counter = RescoreCounter()

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
        let B = max(1, min(blockRows ?? (method == .exact ? 256 : 1024), count)), V = vocab, D = dim
        let x = FloatBuffer(count: B * D)
        // Every block overwrites its rows whole (the GEMM or the screen), so the scratch is not zero-filled first:
        // at 1024 × 128k floats that memset alone costs a fifth of a second per map.
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: B * V)
        defer { logits.deallocate() }
        let g = gain
        // Stand-ins when there is no bottom list (an empty array has no base address); never written.
        let noIds = UnsafeMutablePointer<Int32>.allocate(capacity: 1),
            noProbs = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { noIds.deallocate(); noProbs.deallocate() }
        let topLogits = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count * topK)),
            bottomLogits = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count * bottomK))
        defer { topLogits.deallocate(); bottomLogits.deallocate() }
        out.topIds.withUnsafeMutableBufferPointer { ti in
            out.topProbs.withUnsafeMutableBufferPointer { tp in
                out.bottomIds.withUnsafeMutableBufferPointer { bi in
                    out.bottomProbs.withUnsafeMutableBufferPointer { bp in
                        let ti = SendablePointer(ti.baseAddress!), tp = SendablePointer(tp.baseAddress!)
                        let bi = SendablePointer(bi.baseAddress ?? noIds),
                            bp = SendablePointer(bp.baseAddress ?? noProbs)
                        let tl = SendablePointer(topLogits), bl = SendablePointer(bottomLogits)
                        let ls = SendableConstPointer(UnsafePointer(logits))
                        var start = 0
                        while start < count {
                            let n = min(B, count - start)
                            fill(start, n, x.ptr)
                            if let g {
                                g.withUnsafeBufferPointer { gp in
                                    for r in 0..<n { let row = x.ptr + r * D; for c in 0..<D { row[c] *= gp[c] } }
                                }
                            }
                            let s0 = start
                            let rescore = logitsOfBlock(x.ptr, n, logits, topK: topK, bottomK: bottomK)
                            parallelFor(n) { r in
                                let i = s0 + r
                                rescore?(r)
                                selectSoftmax(
                                    ls.p + r * V, V, k: topK, kb: bottomK,
                                    topIds: ti.p + i * topK, topProbs: tp.p + i * topK,
                                    botIds: bi.p + i * bottomK, botProbs: bp.p + i * bottomK,
                                    topLogits: tl.p + i * topK, botLogits: bl.p + i * bottomK)
                            }
                            start += n
                            progress?(start)
                        }
                    }
                }
            }
        }
        out.topLogits = Array(UnsafeBufferPointer(start: topLogits, count: count * topK))
        out.bottomLogits = Array(UnsafeBufferPointer(start: bottomLogits, count: count * bottomK))
        return out
    }

    /// Fills logits [n, V] for the block x [n, dim] (gain applied) by the decoder's method. Exact: every value.
    /// Screened: every value screened, and a function for the selection's worker that makes row r's kept tokens
    /// exact before it is selected (`refineRow`).
    private func logitsOfBlock(
        _ x: UnsafeMutablePointer<Float>, _ n: Int, _ logits: UnsafeMutablePointer<Float>, topK: Int, bottomK: Int
    ) -> (@Sendable (Int) -> Void)? {
        guard case .screened(let kernel) = method else {
            matmulGEMM(x, n, head, logits)
            return nil
        }
        let h8: Int8Head
        if let h = int8Head { h8 = h } else { h8 = Int8Head(head: head); int8Head = h8 }
        let rows = int8Screen(x, n, h8, logits, ldo: vocab, kernel: kernel)
        let block = ScreenedBlock(
            logits, n, vocab, rows, h8, kernel: kernel, topK: topK, bottomK: max(bottomK, 1))
        let xs = SendableConstPointer(UnsafePointer(x))
        return { [head, dim, counter] r in
            counter.add(block.finishRow(r, xs.p + r * dim, head: head))
        }
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

/// What the screened method did: vectors decoded, and tokens that passed stage 1 and stage 2 (then rescored exactly).
public struct ScreenStats: Sendable {
    public var vectors = 0, stage2 = 0, exact = 0
    /// Per vector, as fractions of the vocabulary.
    public func fractions(vocab: Int) -> (stage2: Double, exact: Double) {
        let n = Double(max(1, vectors)) * Double(vocab)
        return (Double(stage2) / n, Double(exact) / n)
    }
}

/// Counts the screened method's candidates across worker threads.
private final class RescoreCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = ScreenStats()
    var stats: ScreenStats { lock.lock(); defer { lock.unlock() }; return total }
    func add(_ c: (stage2: Int, exact: Int)) {
        lock.lock(); total.vectors += 1; total.stage2 += c.stage2; total.exact += c.exact; lock.unlock()
    }
}

/// Makes the top-K and bottom-K of a block of screened rows l [n, V] exact, in three steps.
///   1. Every value has an interval [lo, hi] that holds the exact logit: stage 1's l_v ± b_v (Numerics/
///      Int8Screen.swift). With T the K-th largest lo and T′ the K-th smallest hi of a row, every token of its
///      exact top-K has hi ≥ T and every one of its bottom-K lo ≤ T′ (ties included); no other token can enter
///      them. Those are the row's candidates (per row, in parallel: `init`).
///   2. Every candidate gets stage 2's interval, intersected with stage 1's, token by token across the block, so a
///      token's 8-bit rows are read once per block however many rows need them (`init`, in parallel).
///   3. Per row (`finishRow`, called by the selection's worker): T and T′ again over the candidates; the ones
///      still reaching them are recomputed exactly in the GEMM's own order (`gemmRowElements`), in place, and the
///      others take a value inside their interval, strictly below T (above T′). A selection over the row then
///      keeps exactly the exact method's tokens, logits and tie order.
final class ScreenedBlock: @unchecked Sendable {
    let l: UnsafeMutablePointer<Float>, V: Int, topK: Int, bottomK: Int
    /// Candidates of all rows, row after row (row r's at start[r] ..< start[r+1]): token, interval, value.
    var start: [Int] = [0]
    let ids: UnsafeMutablePointer<Int32>, lo: UnsafeMutablePointer<Float>, hi: UnsafeMutablePointer<Float>,
        mid: UnsafeMutablePointer<Float>

    init(
        _ l: UnsafeMutablePointer<Float>, _ n: Int, _ V: Int, _ rows: ScreenRows, _ h8: Int8Head,
        kernel: Int8ScreenKernel, topK: Int, bottomK: Int
    ) {
        self.l = l; self.V = V; self.topK = topK; self.bottomK = bottomK
        // 1. Stage 1 candidates, per row.
        let perRow = UnsafeMutablePointer<(ids: [Int32], lo: [Float], hi: [Float])>.allocate(capacity: n)
        perRow.initialize(repeating: ([], [], []), count: n)
        defer { perRow.deinitialize(count: n); perRow.deallocate() }
        let pr = SendablePointer(perRow), ls = SendablePointer(l)
        parallelFor(n) { i in
            pr.p[i] = stage1Candidates(
                ls.p + i * V, V, h8, rowErr: rows.normErr[i], rowNorm: rows.norm[i], topK: topK, bottomK: bottomK)
        }
        for i in 0..<n { start.append(start[i] + perRow[i].ids.count) }
        let P = start[n]
        ids = .allocate(capacity: max(1, P)); lo = .allocate(capacity: max(1, P)); hi = .allocate(capacity: max(1, P))
        mid = .allocate(capacity: max(1, P))
        var rowOf = [Int32](repeating: 0, count: P)
        for i in 0..<n {
            let c = perRow[i], s = start[i]
            for j in 0..<c.ids.count {
                ids[s + j] = c.ids[j]; lo[s + j] = c.lo[j]; hi[s + j] = c.hi[j]; rowOf[s + j] = Int32(i)
            }
        }
        // 2. Stage 2, token by token: the pairs sorted by token (a counting sort), cut into chunks.
        var first = [Int](repeating: 0, count: V + 1)
        for p in 0..<P { first[Int(ids[p]) + 1] += 1 }
        for v in 0..<V { first[v + 1] += first[v] }
        var order = [Int32](repeating: 0, count: P)
        for p in 0..<P {
            let v = Int(ids[p])
            order[first[v]] = Int32(p); first[v] += 1
        }
        let ip = SendablePointer(ids), lp = SendablePointer(lo), hp = SendablePointer(hi), mp = SendablePointer(mid)
        order.withUnsafeBufferPointer { op in
            rowOf.withUnsafeBufferPointer { rp in
                let op = SendableConstPointer(op.baseAddress ?? UnsafePointer(ids)),
                    rp = SendableConstPointer(rp.baseAddress ?? UnsafePointer(ids))
                parallelRanges(P, align: 64) { range in
                    for q in range {
                        let p = Int(op.p[q]), v = Int(ip.p[p])
                        let (a2, b2) = int8Refine(rows, Int(rp.p[p]), h8, v, kernel: kernel)
                        let lo2 = max(lp.p[p], a2 - b2), hi2 = min(hp.p[p], a2 + b2)
                        lp.p[p] = lo2; hp.p[p] = hi2; mp.p[p] = min(max(a2, lo2), hi2)
                    }
                }
            }
        }
    }

    deinit { ids.deallocate(); lo.deallocate(); hi.deallocate(); mid.deallocate() }

    /// 3. for row r (x its vector): returns the numbers of its stage-2 candidates and of its exact rescorings.
    func finishRow(_ r: Int, _ x: UnsafePointer<Float>, head: Weight) -> (stage2: Int, exact: Int) {
        let s = start[r], n = start[r + 1] - s, row = l + r * V
        let (tTop, tBot) = kthBounds(lo + s, hi + s, n, topK: topK, bottomK: bottomK)
        var exact = [Int32]()
        for j in s..<s + n {
            if hi[j] >= tTop || lo[j] <= tBot { exact.append(ids[j]) } else { row[Int(ids[j])] = mid[j] }
        }
        var vals = [Float](repeating: 0, count: exact.count)
        exact.withUnsafeBufferPointer { c in
            guard let e = c.baseAddress else { return }
            gemmRowElements(x, head, ids: e, count: c.count, &vals)
            for j in 0..<c.count { row[Int(c[j])] = vals[j] }
        }
        return (n, exact.count)
    }
}

/// Stage 1's candidates of one screened row (step 1 of `ScreenedBlock`): tokens and intervals. Two passes over the
/// row, 8 values at a time: the K-th largest lo and K-th smallest hi kept by insertion (only values that beat the
/// current ones are inserted), then the tokens that reach them. The bounds are recomputed in the second pass by the
/// same operations, so they are the same values.
private func stage1Candidates(
    _ l: UnsafePointer<Float>, _ V: Int, _ h8: Int8Head, rowErr: Float, rowNorm: Float, topK: Int, bottomK: Int
) -> (ids: [Int32], lo: [Float], hi: [Float]) {
    let hatp = h8.normHat, errp = h8.normErr
    let hat = UnsafeRawPointer(hatp), err = UnsafeRawPointer(errp)
    let row = UnsafeRawPointer(l), V8 = V & ~7
    @inline(__always) func bounds8(_ v: Int) -> (lo: SIMD8<Float>, hi: SIMD8<Float>) {
        let a = row.loadUnaligned(fromByteOffset: 4 * v, as: SIMD8<Float>.self)
        let b = int8ScreenBound(
            a: a, rowErr: rowErr, rowNorm: rowNorm,
            headHat: hat.loadUnaligned(fromByteOffset: 4 * v, as: SIMD8<Float>.self),
            headErr: err.loadUnaligned(fromByteOffset: 4 * v, as: SIMD8<Float>.self))
        return (a - b, a + b)
    }
    @inline(__always) func bounds1(_ v: Int) -> (lo: Float, hi: Float) {
        let b = int8ScreenBound(
            a: l[v], rowErr: rowErr, rowNorm: rowNorm, headHat: hatp[v], headErr: errp[v])
        return (l[v] - b, l[v] + b)
    }
    let (tTop, tBot): (Float, Float) = withUnsafeTemporaryAllocation(of: Float.self, capacity: topK + bottomK) {
        vals in
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: topK + bottomK) { ids in
            let sel = RowSelection(
                k: topK, kb: bottomK, topV: vals.baseAddress!, topI: ids.baseAddress!,
                botV: vals.baseAddress! + topK, botI: ids.baseAddress! + topK)
            sel.topV.update(repeating: -.infinity, count: topK)
            sel.botV.update(repeating: .infinity, count: bottomK)
            var t = -Float.infinity, b = Float.infinity
            @inline(__always) func one(_ lo: Float, _ hi: Float) {
                if lo > t { sel.insertTop(lo, 0); t = sel.topV[topK - 1] }
                if hi < b { sel.insertBottom(hi, 0); b = sel.botV[bottomK - 1] }
            }
            var v = 0
            while v < V8 {
                let (lo, hi) = bounds8(v)
                // lo > t or hi < b in some lane, from the sign bits of the differences (SIMD masks
                // compile to a loop through memory here; TopK.swift's `thresholdHits` does the same).
                if (signBit(SIMD8(repeating: t) - lo) | signBit(hi - SIMD8(repeating: b))).wrappedSum() != 0 {
                    for j in 0..<8 { one(lo[j], hi[j]) }
                }
                v += 8
            }
            while v < V { let (lo, hi) = bounds1(v); one(lo, hi); v += 1 }
            return (t, b)
        }
    }
    var out: (ids: [Int32], lo: [Float], hi: [Float]) = ([], [], [])
    var v = 0
    let tt = SIMD8(repeating: tTop), tb = SIMD8(repeating: tBot)
    while v < V8 {
        let (lo, hi) = bounds8(v)
        // Not (hi < tTop and lo > tBot) in some lane.
        if (signBit(hi - tt) & signBit(tb - lo)).wrappedSum() != 8 {
            for j in 0..<8 where hi[j] >= tTop || lo[j] <= tBot {
                out.ids.append(Int32(v + j)); out.lo.append(lo[j]); out.hi.append(hi[j])
            }
        }
        v += 8
    }
    while v < V {
        let (lo, hi) = bounds1(v)
        if hi >= tTop || lo <= tBot { out.ids.append(Int32(v)); out.lo.append(lo); out.hi.append(hi) }
        v += 1
    }
    return out
}

/// 1 in each lane whose value has its sign bit set (negative, −0 or a NaN with the bit), else 0.
@inline(__always)
private func signBit(_ v: SIMD8<Float>) -> SIMD8<UInt32> { unsafeBitCast(v, to: SIMD8<UInt32>.self) &>> 31 }

/// (K-th largest of lo, K′-th smallest of hi) over n values (−∞ / +∞ when n is smaller).
private func kthBounds(_ lo: UnsafePointer<Float>, _ hi: UnsafePointer<Float>, _ n: Int, topK: Int, bottomK: Int) -> (
    Float, Float
) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: topK + bottomK + 2) { vals in
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: topK + bottomK + 2) { ids in
            let v = vals.baseAddress!, ip = ids.baseAddress!
            RowSelection(k: topK, kb: 1, topV: v, topI: ip, botV: v + topK, botI: ip + topK).scan(lo, n)
            let t = v[topK - 1]
            let b = v + topK + 1, bi = ip + topK + 1
            RowSelection(k: 1, kb: bottomK, topV: b, topI: bi, botV: b + 1, botI: bi + 1).scan(hi, n)
            return (t, (b + 1)[bottomK - 1])
        }
    }
}

/// Softmax of one logits row restricted to its top-K and bottom-K entries, written to the four outputs.
/// The selection always keeps at least one bottom value: the row's minimum decides whether the fast exp applies.
func selectSoftmax(
    _ l: UnsafePointer<Float>, _ n: Int, k: Int, kb: Int,
    topIds: UnsafeMutablePointer<Int32>, topProbs: UnsafeMutablePointer<Float>,
    botIds: UnsafeMutablePointer<Int32>, botProbs: UnsafeMutablePointer<Float>,
    topLogits: UnsafeMutablePointer<Float>? = nil, botLogits: UnsafeMutablePointer<Float>? = nil
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
            for j in 0..<k { topProbs[j] = expf(sel.topV[j] - lse); topLogits?[j] = sel.topV[j] }
            for j in 0..<kb {
                botIds[j] = sel.botI[j]; botProbs[j] = expf(sel.botV[j] - lse); botLogits?[j] = sel.botV[j]
            }
        }
    }
}
