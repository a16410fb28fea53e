// RMSNorm (Zhang & Sennrich 2019), as in Llama: y = x / sqrt(mean(x²) + eps) · g.
import Numerics

/// out[rows,C] = x[rows,C] · rstd[r] · w[C];  saves rstd[rows] (1/rms per row) when given, for the backward.
public func rmsnormForward(
    _ out: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>?,
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, rows: Int, C: Int, eps: Float
) {
    let os = SendablePointer(out), xs = SendableConstPointer(x), ws = SendableConstPointer(w)
    let rs = rstd.map { SendablePointer($0) }
    let body = { (range: Range<Int>) in
        for t in range {
            let xt = xs.p + t * C, ot = os.p + t * C
            let s = 1 / (dot(xt, xt, C) / Float(C) + eps).squareRoot()
            rs?.p[t] = s
            for i in 0..<C { ot[i] = xt[i] * s * ws.p[i] }
        }
    }
    if rows * C < 32768 { body(0..<rows) } else { parallelRanges(rows, body) }
}

/// Backward of rmsnormForward w.r.t. x only (the gain is frozen):
///   dx = r·(g⊙dy) − x · r³/C · Σ(g⊙dy⊙x),   r = rstd[t].
/// Accumulates into dx when `accumulate` (the residual stream's gradient already sits there).
public func rmsnormBackward(
    _ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
    _ w: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, rows: Int, C: Int, accumulate: Bool
) {
    let dxs = SendablePointer(dx), dys = SendableConstPointer(dy), xs = SendableConstPointer(x)
    let ws = SendableConstPointer(w), rs = SendableConstPointer(rstd)
    parallelRanges(rows) { range in
        for t in range {
            let xt = xs.p + t * C, dyt = dys.p + t * C, dxt = dxs.p + t * C
            let r = rs.p[t]
            var s: Float = 0
            for i in 0..<C { s += ws.p[i] * dyt[i] * xt[i] }
            let k = r * r * r * s / Float(C)
            for i in 0..<C {
                let g = r * ws.p[i] * dyt[i] - k * xt[i]
                dxt[i] = accumulate ? dxt[i] + g : g
            }
        }
    }
}
