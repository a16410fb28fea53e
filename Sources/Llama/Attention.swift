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
        withScratch(floats: (transposed ? hd * ld : 0) + rowBlock * ld) { buf in
            let s = buf, kt = buf + rowBlock * ld  // s: rowBlock rows of scores, then of weights; kt: [hd, ld]
            var ktHead = -1
            var row = range.lowerBound
            while row < range.upperBound {
                let h = row / T, t = row % T
                let kvh = h / group
                // rowBlock queries of one head at once where the range and the head have them (the transposed
                // scores only): each key and value row loaded once for all of them.
                let R =
                    transposed && hd % 16 == 0 && t + rowBlock <= T && row + rowBlock <= range.upperBound ? rowBlock : 1
                let nLast = pos0 + t + R  // keys visible to the block's last query
                if transposed {
                    if kvh != ktHead {
                        transposeRows(kt, ld: ld, ks.p + kvh * hd, stride: kvDim, n: kvLen, hd: hd)
                        ktHead = kvh
                    }
                    let x = qs.p + t * qDim + h * hd
                    if R == rowBlock {
                        scoresTransposedRows(
                            s, ldS: ld, x, ldX: qDim, kt, ld: ld, hd: hd, blocks: (nLast + 7) / 8, scale: scale)
                    } else {
                        scoresTransposed(s, x, kt, ld: ld, hd: hd, blocks: (nLast + 7) / 8, scale: scale)
                    }
                } else {
                    let qv = qs.p + t * qDim + h * hd
                    for j in 0..<nLast { s[j] = dot(qv, ks.p + j * kvDim + kvh * hd, hd) * scale }
                }
                for r in 0..<R {
                    let sr = s + r * ld, n = pos0 + t + r + 1  // keys 0 ..< n are visible to query t + r
                    let inv = 1 / expShiftedInPlace(sr, n, maxElement(sr, n))
                    scaleInPlace(sr, n, by: inv)
                    if n < nLast { (sr + n).update(repeating: 0, count: nLast - n) }  // adds 0 in the block's sum
                    if let ps {
                        let p = ps.p + (h * T + t + r) * kvLen
                        p.update(from: sr, count: n)
                        if n < kvLen { (p + n).update(repeating: 0, count: kvLen - n) }
                    }
                }
                let o = os.p + t * qDim + h * hd, v = vs.p + kvh * hd
                if R == rowBlock {
                    combineRowsBlock(
                        o, ldO: qDim, s, ldC: ld, cs: 1, v, rs: kvDim, n: nLast, hd: hd, scale: 1, accumulate: false)
                } else {
                    combineRows(o, s, cs: 1, v, rs: kvDim, n: nLast, hd: hd, scale: 1, accumulate: false)
                }
                row += R
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

    // Pass A, rowBlock (head, query) rows at a time where they have them: ds and dq (dp against V transposed,
    // as the forward's scores). ds is written up to the block's last key, zeros past each row's diagonal (pass B
    // reads blocks of keys, and adds 0 for those).
    parallelRanges(nHeads * T) { range in
        withScratch(floats: hd * ld + rowBlock * ld) { buf in
            let dp = buf, vt = buf + rowBlock * ld
            var vtHead = -1
            var row = range.lowerBound
            while row < range.upperBound {
                let h = row / T, t = row % T, kvh = h / group
                let R = hd % 16 == 0 && t + rowBlock <= T && row + rowBlock <= range.upperBound ? rowBlock : 1
                let nLast = t + R
                if kvh != vtHead {
                    transposeRows(vt, ld: ld, vs.p + kvh * hd, stride: kvDim, n: T, hd: hd)
                    vtHead = kvh
                }
                let x = dos.p + t * qDim + h * hd, d = dss.p + (h * T + t) * T
                if R == rowBlock {
                    scoresTransposedRows(
                        dp, ldS: ld, x, ldX: qDim, vt, ld: ld, hd: hd, blocks: (nLast + 7) / 8, scale: 1)
                } else {
                    scoresTransposed(dp, x, vt, ld: ld, hd: hd, blocks: (nLast + 7) / 8, scale: 1)
                }
                for r in 0..<R {
                    let n = t + r + 1, dr = d + r * T
                    softmaxBackwardRow(dr, ps.p + (h * T + t + r) * T, dp + r * ld, n)
                    if n < T { (dr + n).update(repeating: 0, count: T - n) }
                }
                let o = dqs.p + t * qDim + h * hd, kk = ks.p + kvh * hd
                if R == rowBlock {
                    combineRowsBlock(
                        o, ldO: qDim, d, ldC: T, cs: 1, kk, rs: kvDim, n: nLast, hd: hd, scale: scale, accumulate: false
                    )
                } else {
                    combineRows(o, d, cs: 1, kk, rs: kvDim, n: nLast, hd: hd, scale: scale, accumulate: false)
                }
                row += R
            }
        }
    }
    // Pass B, rowBlock (KV head, key) rows at a time where they have them: dk and dv, summed over the group's
    // query heads. Keys j0 ..< j0+R read queries t ≥ j0; ds and p are 0 above the diagonal, so the queries a key
    // does not see add 0.
    parallelRanges(nKVHeads * T) { range in
        var row = range.lowerBound
        while row < range.upperBound {
            let kvh = row / T, j = row % T
            let R = hd % 16 == 0 && j + rowBlock <= T && row + rowBlock <= range.upperBound ? rowBlock : 1
            let dkj = dks.p + j * kvDim + kvh * hd, dvj = dvs.p + j * kvDim + kvh * hd
            for h in kvh * group..<(kvh + 1) * group {
                let first = h == kvh * group, col = (h * T + j) * T + j  // ds[h, t, j] for t = j ..< T
                let q = qs.p + j * qDim + h * hd, o = dos.p + j * qDim + h * hd
                if R == rowBlock {
                    combineRowsBlock(
                        dkj, ldO: kvDim, dss.p + col, ldC: 1, cs: T, q, rs: qDim, n: T - j, hd: hd, scale: scale,
                        accumulate: !first)
                    combineRowsBlock(
                        dvj, ldO: kvDim, ps.p + col, ldC: 1, cs: T, o, rs: qDim, n: T - j, hd: hd, scale: 1,
                        accumulate: !first)
                } else {
                    combineRows(
                        dkj, dss.p + col, cs: T, q, rs: qDim, n: T - j, hd: hd, scale: scale, accumulate: !first)
                    combineRows(dvj, ps.p + col, cs: T, o, rs: qDim, n: T - j, hd: hd, scale: 1, accumulate: !first)
                }
            }
            row += R
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

/// Rows of queries (or keys) the training attention handles at once: each key, value or query row it reads is
/// then loaded once for 4 rows instead of once per row (the single-row loops were load-bound).
let rowBlock = 4

/// scoresTransposed for rowBlock rows x_r = x + r·ldX into s + r·ldS, with each score the same FMA chain over d
/// (so the same bits as one row at a time): 16 keys × 4 rows in 8 accumulators per pass.
@inline(__always)
func scoresTransposedRows(
    _ s: UnsafeMutablePointer<Float>, ldS: Int, _ x: UnsafePointer<Float>, ldX: Int, _ kt: UnsafePointer<Float>,
    ld: Int, hd: Int, blocks: Int, scale: Float
) {
    let rk = UnsafeRawPointer(kt), rs = UnsafeMutableRawPointer(s), sv = SIMD8<Float>(repeating: scale)
    let x0 = x, x1 = x + ldX, x2 = x + 2 * ldX, x3 = x + 3 * ldX
    var b = 0
    while b < blocks {
        let two = b + 1 < blocks  // a second block of 8 keys in this pass
        var a00 = SIMD8<Float>(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00
        for d in 0..<hd {
            let o = 4 * (d * ld + 8 * b)
            let k0 = rk.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let k1 = two ? rk.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self) : k0
            var xv = SIMD8<Float>(repeating: x0[d])
            a00.addProduct(xv, k0); a01.addProduct(xv, k1)
            xv = SIMD8<Float>(repeating: x1[d])
            a10.addProduct(xv, k0); a11.addProduct(xv, k1)
            xv = SIMD8<Float>(repeating: x2[d])
            a20.addProduct(xv, k0); a21.addProduct(xv, k1)
            xv = SIMD8<Float>(repeating: x3[d])
            a30.addProduct(xv, k0); a31.addProduct(xv, k1)
        }
        let ob = 32 * b, row = 4 * ldS
        rs.storeBytes(of: a00 * sv, toByteOffset: ob, as: SIMD8<Float>.self)
        rs.storeBytes(of: a10 * sv, toByteOffset: ob + row, as: SIMD8<Float>.self)
        rs.storeBytes(of: a20 * sv, toByteOffset: ob + 2 * row, as: SIMD8<Float>.self)
        rs.storeBytes(of: a30 * sv, toByteOffset: ob + 3 * row, as: SIMD8<Float>.self)
        if two {
            rs.storeBytes(of: a01 * sv, toByteOffset: ob + 32, as: SIMD8<Float>.self)
            rs.storeBytes(of: a11 * sv, toByteOffset: ob + 32 + row, as: SIMD8<Float>.self)
            rs.storeBytes(of: a21 * sv, toByteOffset: ob + 32 + 2 * row, as: SIMD8<Float>.self)
            rs.storeBytes(of: a31 * sv, toByteOffset: ob + 32 + 3 * row, as: SIMD8<Float>.self)
        }
        b += 2
    }
}

/// combineRows for rowBlock outputs o + r·ldO with coefficients c + r·ldC (each with stride cs), over the same
/// rows r: o_r[d] = scale·Σ_{i<n} c_r[i·cs]·r[i·rs + d] (+ o_r[d]), each sum the same FMA chain over i as
/// combineRows (the same bits): 16 outputs × 4 rows in 8 accumulators per pass. hd a multiple of 16 (callers
/// take one row at a time otherwise).
@inline(__always)
func combineRowsBlock(
    _ o: UnsafeMutablePointer<Float>, ldO: Int, _ c: UnsafePointer<Float>, ldC: Int, cs: Int,
    _ r: UnsafePointer<Float>, rs: Int, n: Int, hd: Int, scale: Float, accumulate: Bool
) {
    let sv = SIMD8<Float>(repeating: scale)
    let c0 = c, c1 = c + ldC, c2 = c + 2 * ldC, c3 = c + 3 * ldC
    @inline(__always) func finish(_ a: SIMD8<Float>, _ row: Int, _ d: Int) {
        let ro = UnsafeMutableRawPointer(o + row * ldO)
        var v = a * sv
        if accumulate { v += ro.loadUnaligned(fromByteOffset: 4 * d, as: SIMD8<Float>.self) }
        ro.storeBytes(of: v, toByteOffset: 4 * d, as: SIMD8<Float>.self)
    }
    var d0 = 0
    while d0 + 16 <= hd {
        var a00 = SIMD8<Float>(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00
        for i in 0..<n {
            let rowp = UnsafeRawPointer(r + i * rs + d0)
            let v0 = rowp.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self)
            let v1 = rowp.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
            let ci = i * cs
            var cv = SIMD8<Float>(repeating: c0[ci])
            a00.addProduct(cv, v0); a01.addProduct(cv, v1)
            cv = SIMD8<Float>(repeating: c1[ci])
            a10.addProduct(cv, v0); a11.addProduct(cv, v1)
            cv = SIMD8<Float>(repeating: c2[ci])
            a20.addProduct(cv, v0); a21.addProduct(cv, v1)
            cv = SIMD8<Float>(repeating: c3[ci])
            a30.addProduct(cv, v0); a31.addProduct(cv, v1)
        }
        finish(a00, 0, d0); finish(a01, 0, d0 + 8); finish(a10, 1, d0); finish(a11, 1, d0 + 8)
        finish(a20, 2, d0); finish(a21, 2, d0 + 8); finish(a30, 3, d0); finish(a31, 3, d0 + 8)
        d0 += 16
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

/// d[j] = p[j]·(dp[j] − Σ_j' p[j']·dp[j']) for j < n: the gradient through one softmax row.
@inline(__always)
func softmaxBackwardRow(
    _ d: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ dp: UnsafePointer<Float>, _ n: Int
) {
    let sum = dot(p, dp, n), sv = SIMD8<Float>(repeating: sum)
    let rd = UnsafeMutableRawPointer(d), rp = UnsafeRawPointer(p), rdp = UnsafeRawPointer(dp)
    var j = 0
    while j + 8 <= n {
        let v =
            rp.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
            * (rdp.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self) - sv)
        rd.storeBytes(of: v, toByteOffset: 4 * j, as: SIMD8<Float>.self)
        j += 8
    }
    while j < n { d[j] = p[j] * (dp[j] - sum); j += 1 }
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
