import XCTest
import Numerics
@testable import Llama

/// Attention forward and backward against a plain double-precision reference, on shapes that take each of
/// attentionForward's two score paths (keys transposed for a prefill or a training forward; one dot product per
/// key for a decode step) and every tail of the vector loops (head dims not a multiple of 32 or of 8, key
/// counts not a multiple of 8, grouped-query heads, a KV cache ahead of the queries), and the blocks of 4 query
/// or key rows the training attention takes where the head size is a multiple of 16 (beside single rows).
final class AttentionTests: XCTestCase {
    /// out[t, h] = Σ_j softmax_j(q[t,h]·k[j,g]/√hd) v[j,g] over j ≤ pos0 + t, in Double; and the weights.
    func reference(
        _ q: [Float], _ k: [Float], _ v: [Float], T: Int, pos0: Int, H: Int, KV: Int, hd: Int
    ) -> (out: [Double], probs: [Double]) {
        let kvLen = pos0 + T, group = H / KV
        var out = [Double](repeating: 0, count: T * H * hd), probs = [Double](repeating: 0, count: H * T * kvLen)
        for h in 0..<H {
            let g = h / group
            for t in 0..<T {
                let n = pos0 + t + 1
                var s = (0..<n).map { j in
                    (0..<hd).reduce(0.0) { $0 + Double(q[(t * H + h) * hd + $1]) * Double(k[(j * KV + g) * hd + $1]) }
                        / Double(hd).squareRoot()
                }
                let m = s.max()!
                s = s.map { Foundation.exp($0 - m) }
                let z = s.reduce(0, +)
                for j in 0..<n {
                    let p = s[j] / z
                    probs[(h * T + t) * kvLen + j] = p
                    for d in 0..<hd { out[(t * H + h) * hd + d] += p * Double(v[(j * KV + g) * hd + d]) }
                }
            }
        }
        return (out, probs)
    }

    func testForwardMatchesReference() {
        var rng = Rng(seed: 21)
        // (T, pos0, heads, KV heads, head dim): transposed path with tails; a prefill after a cache;
        // the per-key dot path (T < 8, no weights kept); the same with weights kept (training: transposed).
        for (T, pos0, H, KV, hd) in [
            (13, 0, 4, 2, 12), (9, 5, 3, 1, 64), (37, 0, 6, 2, 72), (3, 20, 2, 2, 40), (1, 30, 4, 1, 64),
            (5, 0, 4, 2, 8), (37, 0, 4, 2, 32)
        ] {
            let kvLen = pos0 + T
            let q = (0..<T * H * hd).map { _ in rng.normal() }
            let k = (0..<kvLen * KV * hd).map { _ in rng.normal() }
            let v = (0..<kvLen * KV * hd).map { _ in rng.normal() }
            let ref = reference(q, k, v, T: T, pos0: pos0, H: H, KV: KV, hd: hd)
            for keep in [false, true] {
                var out = [Float](repeating: .nan, count: T * H * hd)
                var probs = [Float](repeating: .nan, count: H * T * kvLen)
                if keep {
                    attentionForward(
                        &out, q, k, v, T: T, pos0: pos0, nHeads: H, nKVHeads: KV, headDim: hd, probs: &probs)
                    for i in probs.indices {
                        XCTAssertEqual(
                            Double(probs[i]), ref.probs[i], accuracy: 1e-6, "probs \(T),\(pos0),\(hd) [\(i)]")
                    }
                } else {
                    attentionForward(&out, q, k, v, T: T, pos0: pos0, nHeads: H, nKVHeads: KV, headDim: hd)
                }
                for i in out.indices {
                    XCTAssertEqual(
                        Double(out[i]), ref.out[i], accuracy: 2e-5, "out \(T),\(pos0),\(hd) keep=\(keep) [\(i)]")
                }
            }
        }
    }

    /// dq, dk, dv of L = Σ out·r against the same formulas in Double from the reference's weights.
    func testBackwardMatchesReference() {
        var rng = Rng(seed: 22)
        for (T, H, KV, hd) in [(13, 4, 2, 12), (9, 3, 1, 64), (37, 6, 2, 72), (2, 2, 2, 8), (37, 4, 2, 32)] {
            let q = (0..<T * H * hd).map { _ in rng.normal() }
            let k = (0..<T * KV * hd).map { _ in rng.normal() }
            let v = (0..<T * KV * hd).map { _ in rng.normal() }
            let r = (0..<T * H * hd).map { _ in rng.normal() }
            let p = reference(q, k, v, T: T, pos0: 0, H: H, KV: KV, hd: hd).probs
            let group = H / KV, scale = 1 / Double(hd).squareRoot()
            var rq = [Double](repeating: 0, count: q.count), rk = [Double](repeating: 0, count: k.count), rv = rk
            for h in 0..<H {
                let g = h / group
                for t in 0..<T {
                    let dp = (0...t).map { j in
                        (0..<hd).reduce(0.0) {
                            $0 + Double(r[(t * H + h) * hd + $1]) * Double(v[(j * KV + g) * hd + $1])
                        }
                    }
                    let pt = (0...t).map { p[(h * T + t) * T + $0] }
                    let mean = zip(pt, dp).reduce(0.0) { $0 + $1.0 * $1.1 }
                    for j in 0...t {
                        let ds = pt[j] * (dp[j] - mean)
                        for d in 0..<hd {
                            rq[(t * H + h) * hd + d] += scale * ds * Double(k[(j * KV + g) * hd + d])
                            rk[(j * KV + g) * hd + d] += scale * ds * Double(q[(t * H + h) * hd + d])
                            rv[(j * KV + g) * hd + d] += pt[j] * Double(r[(t * H + h) * hd + d])
                        }
                    }
                }
            }
            var out = [Float](repeating: 0, count: T * H * hd), probs = [Float](repeating: 0, count: H * T * T)
            attentionForward(&out, q, k, v, T: T, pos0: 0, nHeads: H, nKVHeads: KV, headDim: hd, probs: &probs)
            var dq = [Float](repeating: .nan, count: q.count), dk = [Float](repeating: .nan, count: k.count), dv = dk
            var ds = [Float](repeating: .nan, count: H * T * T)
            attentionBackward(
                dq: &dq, dk: &dk, dv: &dv, dout: r, q: q, k: k, v: v, probs: probs, ds: &ds,
                T: T, nHeads: H, nKVHeads: KV, headDim: hd)
            for (name, got, want) in [("dq", dq, rq), ("dk", dk, rk), ("dv", dv, rv)] {
                for i in got.indices {
                    XCTAssertEqual(Double(got[i]), want[i], accuracy: 1e-4, "\(name) T=\(T) hd=\(hd) [\(i)]")
                }
            }
        }
    }
}
