// Causal multi-head attention with grouped-query heads (Ainslie et al. 2023): query head h reads
// KV head h / (nHeads / nKVHeads). Scores are scaled by 1/sqrt(headDim), masked causally, softmaxed.
import Foundation
import Numerics

/// T queries of one sequence at positions pos0 ..< pos0+T attend to keys/values at positions 0 ... their own.
///   q    [T, nHeads·hd]          (already rotated)
///   k, v [pos0+T, nKVHeads·hd]   (the KV cache of this sequence, rotated keys)
///   out  [T, nHeads·hd]
///   probs, when given: the softmax weights [nHeads, T, pos0+T] (zero above the diagonal), for the backward.
public func attentionForward(_ out: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>,
                             _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                             T: Int, pos0: Int, nHeads: Int, nKVHeads: Int, headDim hd: Int,
                             probs: UnsafeMutablePointer<Float>? = nil) {
    let kvLen = pos0 + T
    let group = nHeads / nKVHeads
    let qDim = nHeads * hd, kvDim = nKVHeads * hd
    let scale = 1 / Float(hd).squareRoot()
    let os = SendablePointer(out), qs = SendableConstPointer(q), ks = SendableConstPointer(k), vs = SendableConstPointer(v)
    let ps = probs.map { SendablePointer($0) }
    parallelRanges(nHeads * T) { range in
        let scratch = ps == nil ? UnsafeMutablePointer<Float>.allocate(capacity: kvLen) : nil
        defer { scratch?.deallocate() }
        for row in range {
            let h = row / T, t = row % T
            let kvh = h / group
            let n = pos0 + t + 1                                   // keys 0 ..< n are visible
            let p = ps.map { $0.p + (h * T + t) * kvLen } ?? scratch!
            let qv = qs.p + t * qDim + h * hd
            var mx = -Float.infinity
            for j in 0..<n {
                let s = dot(qv, ks.p + j * kvDim + kvh * hd, hd) * scale
                p[j] = s
                mx = max(mx, s)
            }
            var sum: Float = 0
            for j in 0..<n { let e = expf(p[j] - mx); p[j] = e; sum += e }
            let inv = 1 / sum
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
