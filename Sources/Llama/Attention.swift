// Causal multi-head attention with grouped-query heads (Ainslie et al. 2023): query head h reads
// KV head h / (nHeads / nKVHeads). Scores are scaled by 1/sqrt(headDim), masked causally, softmaxed.
import Foundation
import Numerics

/// T queries of one sequence at positions pos0 ..< pos0+T attend to keys/values at positions 0 ... their own.
///   q    [T, nHeads·hd]          (already rotated)
///   k, v [pos0+T, nKVHeads·hd]   (the KV cache of this sequence, rotated keys)
///   out  [T, nHeads·hd]
///   probs, when given: the softmax weights [nHeads, T, pos0+T] (zero above the diagonal), for the backward.
/// A prefill (T ≥ 8) or a training forward (probs given) scores 8 keys per vector against K transposed once
/// per KV head (see "the inner products" below); a decode step (a few queries) scores each key with one dot
/// product, since transposing a long KV cache would cost more than the scores. The two differ in the order
/// of the 64-term sums only.
public func attentionForward(
    _ out: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>,
    _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
    T: Int, pos0: Int, nHeads: Int, nKVHeads: Int, headDim hd: Int,
    probs: UnsafeMutablePointer<Float>? = nil
) {
    let kvLen = pos0 + T, ld = (kvLen + 7) & ~7
    let group = nHeads / nKVHeads
    let qDim = nHeads * hd, kvDim = nKVHeads * hd
    let scale = 1 / Float(hd).squareRoot()
    let transposed = T >= 8 || probs != nil
    let os = SendablePointer(out), qs = SendableConstPointer(q), ks = SendableConstPointer(k),
        vs = SendableConstPointer(v)
    let ps = probs.map { SendablePointer($0) }
    parallelRanges(nHeads * T) { range in
        withScratch(floats: (transposed ? hd * ld : 0) + ld) { buf in
            let s = buf, kt = buf + ld  // s: one row of scores, then of weights; kt: [hd, ld]
            var ktHead = -1
            for row in range {
                let h = row / T, t = row % T
                let kvh = h / group
                let n = pos0 + t + 1  // keys 0 ..< n are visible
                let qv = qs.p + t * qDim + h * hd
                if transposed {
                    if kvh != ktHead {
                        transposeRows(kt, ld: ld, ks.p + kvh * hd, stride: kvDim, n: kvLen, hd: hd)
                        ktHead = kvh
                    }
                    scoresTransposed(s, qv, kt, ld: ld, hd: hd, blocks: (n + 7) / 8, scale: scale)
                } else {
                    for j in 0..<n { s[j] = dot(qv, ks.p + j * kvDim + kvh * hd, hd) * scale }
                }
                var mx = -Float.infinity
                for j in 0..<n { mx = max(mx, s[j]) }
                let inv = 1 / expShiftedInPlace(s, n, mx)
                for j in 0..<n { s[j] *= inv }
                combineRows(
                    os.p + t * qDim + h * hd, s, cs: 1, vs.p + kvh * hd, rs: kvDim, n: n, hd: hd, scale: 1,
                    accumulate: false)
                if let ps {
                    let p = ps.p + (h * T + t) * kvLen
                    p.update(from: s, count: n)
                    if n < kvLen { (p + n).update(repeating: 0, count: kvLen - n) }
                }
            }
        }
    }
}

/// Backward of attentionForward for one sequence with pos0 = 0 (training: keys are the sequence itself).
///   dout [T, nHeads·hd] → dq [T, nHeads·hd], dk, dv [T, nKVHeads·hd] (overwritten).
/// probs [nHeads, T, T] are the saved softmax weights; ds is scratch of the same size.
///   dp[t,j] = dout[t]·v[j];  ds[t,j] = p[t,j]·(dp[t,j] − Σ_j' p[t,j']·dp[t,j'])
///   dq[t] = scale·Σ_j ds[t,j]·k[j];  dk[j] = scale·Σ_t ds[t,j]·q[t];  dv[j] = Σ_t p[t,j]·dout[t]
/// (dk and dv also sum over the query heads sharing a KV head.)
public func attentionBackward(
    dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    probs: UnsafePointer<Float>, ds: UnsafeMutablePointer<Float>,
    T: Int, nHeads: Int, nKVHeads: Int, headDim hd: Int
) {
    let group = nHeads / nKVHeads, ld = (T + 7) & ~7
    let qDim = nHeads * hd, kvDim = nKVHeads * hd
    let scale = 1 / Float(hd).squareRoot()
    let dqs = SendablePointer(dq), dks = SendablePointer(dk), dvs = SendablePointer(dv)
    let dos = SendableConstPointer(dout), qs = SendableConstPointer(q), ks = SendableConstPointer(k)
    let vs = SendableConstPointer(v), ps = SendableConstPointer(probs), dss = SendablePointer(ds)

    // Pass A, one (head, query) row at a time: ds and dq (dp against V transposed, as the forward's scores).
    parallelRanges(nHeads * T) { range in
        withScratch(floats: hd * ld + ld) { buf in
            let dp = buf, vt = buf + ld
            var vtHead = -1
            for row in range {
                let h = row / T, t = row % T, kvh = h / group
                let p = ps.p + (h * T + t) * T, d = dss.p + (h * T + t) * T
                if kvh != vtHead {
                    transposeRows(vt, ld: ld, vs.p + kvh * hd, stride: kvDim, n: T, hd: hd)
                    vtHead = kvh
                }
                scoresTransposed(dp, dos.p + t * qDim + h * hd, vt, ld: ld, hd: hd, blocks: (t + 8) / 8, scale: 1)
                var sum: Float = 0
                for j in 0...t { sum += p[j] * dp[j] }
                for j in 0...t { d[j] = p[j] * (dp[j] - sum) }
                combineRows(
                    dqs.p + t * qDim + h * hd, d, cs: 1, ks.p + kvh * hd, rs: kvDim, n: t + 1, hd: hd, scale: scale,
                    accumulate: false)
            }
        }
    }
    // Pass B, one (KV head, key) row at a time: dk and dv, summed over the group's query heads.
    parallelRanges(nKVHeads * T) { range in
        for row in range {
            let kvh = row / T, j = row % T
            let dkj = dks.p + j * kvDim + kvh * hd, dvj = dvs.p + j * kvDim + kvh * hd
            for h in kvh * group..<(kvh + 1) * group {
                let first = h == kvh * group, col = (h * T + j) * T + j  // ds[h, t, j] for t = j ..< T
                combineRows(
                    dkj, dss.p + col, cs: T, qs.p + j * qDim + h * hd, rs: qDim, n: T - j, hd: hd, scale: scale,
                    accumulate: !first)
                combineRows(
                    dvj, ps.p + col, cs: T, dos.p + j * qDim + h * hd, rs: qDim, n: T - j, hd: hd, scale: 1,
                    accumulate: !first)
            }
        }
    }
}

// MARK: the inner products
//
// Attention's two products per row: scores s[j] = x·k_j over the keys, and a weighted sum o = Σ_i c_i·r_i over
// rows. One dot product per key (64 multiplies and a horizontal sum) spent most of attention's time in the
// sums, and an axpy per row loaded and stored o for every row. Instead the keys (or, in the backward, the
// values) of one KV head are transposed once into [hd, keys], so that 8 keys' scores accumulate in one vector
// over d; and the weighted sum keeps its output in 8 vector registers across the rows.

/// kt[d·ld + j] = k[j·stride + d] for j < n, and 0 for n ≤ j < ld (ld a multiple of 8, ≥ n).
@inline(__always)
func transposeRows(
    _ kt: UnsafeMutablePointer<Float>, ld: Int, _ k: UnsafePointer<Float>, stride: Int, n: Int, hd: Int
) {
    for j in 0..<n {
        let kj = k + j * stride
        for d in 0..<hd { kt[d * ld + j] = kj[d] }
    }
    if n < ld { for d in 0..<hd { (kt + d * ld + n).update(repeating: 0, count: ld - n) } }
}

/// s[j] = scale·Σ_d x[d]·kt[d·ld + j] for j < 8·blocks (kt as transposeRows writes it; 8·blocks ≤ ld).
@inline(__always)
func scoresTransposed(
    _ s: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ kt: UnsafePointer<Float>, ld: Int, hd: Int,
    blocks: Int, scale: Float
) {
    let rk = UnsafeRawPointer(kt), rs = UnsafeMutableRawPointer(s), sv = SIMD8<Float>(repeating: scale)
    var b = 0
    while b + 4 <= blocks {  // 32 keys: four independent FMA chains
        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
        for d in 0..<hd {
            let xd = SIMD8<Float>(repeating: x[d]), o = 4 * (d * ld + 8 * b)
            a0.addProduct(xd, rk.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self))
            a1.addProduct(xd, rk.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self))
            a2.addProduct(xd, rk.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self))
            a3.addProduct(xd, rk.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self))
        }
        rs.storeBytes(of: a0 * sv, toByteOffset: 32 * b, as: SIMD8<Float>.self)
        rs.storeBytes(of: a1 * sv, toByteOffset: 32 * b + 32, as: SIMD8<Float>.self)
        rs.storeBytes(of: a2 * sv, toByteOffset: 32 * b + 64, as: SIMD8<Float>.self)
        rs.storeBytes(of: a3 * sv, toByteOffset: 32 * b + 96, as: SIMD8<Float>.self)
        b += 4
    }
    while b < blocks {
        var a = SIMD8<Float>()
        for d in 0..<hd {
            a.addProduct(
                SIMD8<Float>(repeating: x[d]),
                rk.loadUnaligned(fromByteOffset: 4 * (d * ld + 8 * b), as: SIMD8<Float>.self))
        }
        rs.storeBytes(of: a * sv, toByteOffset: 32 * b, as: SIMD8<Float>.self)
        b += 1
    }
}

/// o[d] = scale·Σ_{i<n} c[i·cs]·r[i·rs + d] for d < hd, plus o[d] when `accumulate`.
@inline(__always)
func combineRows(
    _ o: UnsafeMutablePointer<Float>, _ c: UnsafePointer<Float>, cs: Int, _ r: UnsafePointer<Float>, rs: Int,
    n: Int, hd: Int, scale: Float, accumulate: Bool
) {
    let ro = UnsafeMutableRawPointer(o), sv = SIMD8<Float>(repeating: scale)
    @inline(__always) func finish(_ a: SIMD8<Float>, _ d: Int) {
        var v = a * sv
        if accumulate { v += ro.loadUnaligned(fromByteOffset: 4 * d, as: SIMD8<Float>.self) }
        ro.storeBytes(of: v, toByteOffset: 4 * d, as: SIMD8<Float>.self)
    }
    var d0 = 0
    while d0 + 32 <= hd {  // 32 outputs in four vectors, held across the rows
        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
        for i in 0..<n {
            let ci = SIMD8<Float>(repeating: c[i * cs]), row = UnsafeRawPointer(r + i * rs + d0)
            a0.addProduct(ci, row.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self))
            a1.addProduct(ci, row.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
            a2.addProduct(ci, row.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
            a3.addProduct(ci, row.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
        }
        finish(a0, d0); finish(a1, d0 + 8); finish(a2, d0 + 16); finish(a3, d0 + 24)
        d0 += 32
    }
    while d0 + 8 <= hd {
        var a = SIMD8<Float>()
        for i in 0..<n {
            a.addProduct(
                SIMD8<Float>(repeating: c[i * cs]),
                UnsafeRawPointer(r + i * rs + d0).loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self))
        }
        finish(a, d0)
        d0 += 8
    }
    while d0 < hd {
        var a: Float = 0
        for i in 0..<n { a.addProduct(c[i * cs], r[i * rs + d0]) }
        o[d0] = scale * a + (accumulate ? o[d0] : 0)
        d0 += 1
    }
}

/// p[j] = e^(p[j] − m) for j < n (every p[j] ≤ m), and their sum: one softmax row before its normalisation.
@inline(__always)
func expShiftedInPlace(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ m: Float) -> Float {
    let raw = UnsafeMutableRawPointer(p), mv = SIMD8<Float>(repeating: m)
    var acc = SIMD8<Float>()
    var j = 0
    while j + 8 <= n {
        let e = exp8(raw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self) - mv)
        raw.storeBytes(of: e, toByteOffset: 4 * j, as: SIMD8<Float>.self)
        acc += e
        j += 8
    }
    var sum = acc.sum()
    while j < n { let e = exp8(SIMD8(repeating: p[j] - m))[0]; p[j] = e; sum += e; j += 1 }
    return sum
}
