// Causal multi-head attention with grouped-query heads (Ainslie et al. 2023): query head h reads
// KV head h / (nHeads / nKVHeads). Scores are scaled by 1/sqrt(headDim), masked causally, softmaxed.
import Foundation
import Numerics

/// T queries of one sequence at positions pos0 ..< pos0+T attend to keys/values at positions 0 ... their own.
///   q    [T, nHeads·hd]          (already rotated)
///   k, v [pos0+T, nKVHeads·hd]   (the KV cache of this sequence, rotated keys)
///   out  [T, nHeads·hd]
///   probs, when given: the softmax weights [nHeads, T, pos0+T] (zero above the diagonal), for the backward.
public func attentionForward(
    _ out: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>,
    _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
    T: Int, pos0: Int, nHeads: Int, nKVHeads: Int, headDim hd: Int,
    probs: UnsafeMutablePointer<Float>? = nil
) {
    let kvLen = pos0 + T
    let group = nHeads / nKVHeads
    let qDim = nHeads * hd, kvDim = nKVHeads * hd
    let scale = 1 / Float(hd).squareRoot()
    let os = SendablePointer(out), qs = SendableConstPointer(q), ks = SendableConstPointer(k),
        vs = SendableConstPointer(v)
    let ps = probs.map { SendablePointer($0) }
    parallelRanges(nHeads * T) { range in
        let scratch = ps == nil ? UnsafeMutablePointer<Float>.allocate(capacity: kvLen) : nil
        defer { scratch?.deallocate() }
        for row in range {
            let h = row / T, t = row % T
            let kvh = h / group
            let n = pos0 + t + 1  // keys 0 ..< n are visible
            let p = ps.map { $0.p + (h * T + t) * kvLen } ?? scratch!
            let qv = qs.p + t * qDim + h * hd
            var mx = -Float.infinity
            for j in 0..<n {
                let s = dot(qv, ks.p + j * kvDim + kvh * hd, hd) * scale
                p[j] = s
                mx = max(mx, s)
            }
            let inv = 1 / expShiftedInPlace(p, n, mx)
            let o = os.p + t * qDim + h * hd
            o.update(repeating: 0, count: hd)
            for j in 0..<n {
                p[j] *= inv
                axpy(p[j], vs.p + j * kvDim + kvh * hd, o, hd)
            }
            if n < kvLen { (p + n).update(repeating: 0, count: kvLen - n) }
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
    let group = nHeads / nKVHeads
    let qDim = nHeads * hd, kvDim = nKVHeads * hd
    let scale = 1 / Float(hd).squareRoot()
    let dqs = SendablePointer(dq), dks = SendablePointer(dk), dvs = SendablePointer(dv)
    let dos = SendableConstPointer(dout), qs = SendableConstPointer(q), ks = SendableConstPointer(k)
    let vs = SendableConstPointer(v), ps = SendableConstPointer(probs), dss = SendablePointer(ds)

    // Pass A, one (head, query) row at a time: ds and dq.
    parallelRanges(nHeads * T) { range in
        for row in range {
            let h = row / T, t = row % T, kvh = h / group
            let p = ps.p + (h * T + t) * T, d = dss.p + (h * T + t) * T
            let g = dos.p + t * qDim + h * hd
            var sum: Float = 0
            for j in 0...t {
                let dp = dot(g, vs.p + j * kvDim + kvh * hd, hd)
                d[j] = dp
                sum += p[j] * dp
            }
            let dqt = dqs.p + t * qDim + h * hd
            dqt.update(repeating: 0, count: hd)
            for j in 0...t {
                d[j] = p[j] * (d[j] - sum)
                axpy(d[j] * scale, ks.p + j * kvDim + kvh * hd, dqt, hd)
            }
        }
    }
    // Pass B, one (KV head, key) row at a time: dk and dv, summed over the group's query heads.
    parallelRanges(nKVHeads * T) { range in
        for row in range {
            let kvh = row / T, j = row % T
            let dkj = dks.p + j * kvDim + kvh * hd, dvj = dvs.p + j * kvDim + kvh * hd
            dkj.update(repeating: 0, count: hd)
            dvj.update(repeating: 0, count: hd)
            for h in kvh * group..<(kvh + 1) * group {
                for t in j..<T {
                    let i = (h * T + t) * T + j
                    axpy(dss.p[i] * scale, qs.p + t * qDim + h * hd, dkj, hd)
                    axpy(ps.p[i], dos.p + t * qDim + h * hd, dvj, hd)
                }
            }
        }
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
