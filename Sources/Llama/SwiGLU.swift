// SwiGLU MLP activation (Shazeer 2020), Llama's FFN: h = silu(x·W_gateᵀ) ⊙ (x·W_upᵀ), silu(g) = g·σ(g).
import Foundation
import Numerics

/// h[n] = silu(gate[n]) · up[n]   (h may alias gate)
public func swigluForward(_ h: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    let hs = SendablePointer(h), gs = SendableConstPointer(gate), us = SendableConstPointer(up)
    let body = { (range: Range<Int>) in
        for i in range {
            let g = gs.p[i]
            hs.p[i] = g / (1 + expf(-g)) * us.p[i]
        }
    }
    if n < 65536 { body(0..<n) } else { parallelRanges(n, align: 64, body) }
}

/// From dh, with the saved pre-activations gate and up:
///   dgate = dh · up · σ(g)(1 + g(1 − σ(g))),   dup = dh · silu(g).
/// dgate and dup may not alias gate/up.
public func swigluBackward(_ dgate: UnsafeMutablePointer<Float>, _ dup: UnsafeMutablePointer<Float>, _ dh: UnsafePointer<Float>,
                           _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    let dgs = SendablePointer(dgate), dus = SendablePointer(dup), dhs = SendableConstPointer(dh)
    let gs = SendableConstPointer(gate), us = SendableConstPointer(up)
    parallelRanges(n, align: 64) { range in
        for i in range {
            let g = gs.p[i], s = 1 / (1 + expf(-g))
            dgs.p[i] = dhs.p[i] * us.p[i] * s * (1 + g * (1 - s))
            dus.p[i] = dhs.p[i] * g * s
        }
    }
}
