// RMSNorm (Zhang & Sennrich 2019), as in Llama: y = x / sqrt(mean(x²) + eps) · g.
import Numerics

/// out[T,C] = x[T,C] · rstd[t] · w[C];  saves rstd[T] (1/rms per row) when given, for the backward.
public func rmsnormForward(_ out: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>?,
                           _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, T: Int, C: Int, eps: Float) {
    for t in 0..<T {
        let xt = x + t * C, ot = out + t * C
        let s = 1 / (dot(xt, xt, C) / Float(C) + eps).squareRoot()
        rstd?[t] = s
        for i in 0..<C { ot[i] = xt[i] * s * w[i] }
    }
}
