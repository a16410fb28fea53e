// SwiGLU MLP activation (Shazeer 2020), Llama's FFN: h = silu(x·W_gateᵀ) ⊙ (x·W_upᵀ), silu(g) = g·σ(g).
// σ(g) = 1 / (1 + e^−g) with Numerics' 8-lane exp (relative error about 2e-7, as expf's rounding).
import Foundation
import Numerics

/// σ(g) for 8 lanes.
@inline(__always)
func sigmoid8(_ g: SIMD8<Float>) -> SIMD8<Float> { 1 / (1 + exp8(-g)) }

/// h[n] = silu(gate[n]) · up[n]   (h may alias gate)
public func swigluForward(
    _ h: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int
) {
    let hs = SendablePointer(h), gs = SendableConstPointer(gate), us = SendableConstPointer(up)
    let body = { (range: Range<Int>) in
        let hr = UnsafeMutableRawPointer(hs.p), gr = UnsafeRawPointer(gs.p), ur = UnsafeRawPointer(us.p)
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let g = gr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let u = ur.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            hr.storeBytes(of: g * sigmoid8(g) * u, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < range.upperBound {
            let g = gs.p[i]
            hs.p[i] = g * sigmoid8(SIMD8(repeating: g))[0] * us.p[i]
            i += 1
        }
    }
    if n < 65536 { body(0..<n) } else { parallelRanges(n, align: 64, body) }
}

/// From dh, with the saved pre-activations gate and up:
///   dgate = dh · up · σ(g)(1 + g(1 − σ(g))),   dup = dh · silu(g).
/// dgate and dup may not alias gate/up.
public func swigluBackward(
    _ dgate: UnsafeMutablePointer<Float>, _ dup: UnsafeMutablePointer<Float>, _ dh: UnsafePointer<Float>,
    _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int
) {
    let dgs = SendablePointer(dgate), dus = SendablePointer(dup), dhs = SendableConstPointer(dh)
    let gs = SendableConstPointer(gate), us = SendableConstPointer(up)
    @inline(__always) func grads(_ g: SIMD8<Float>, _ u: SIMD8<Float>, _ d: SIMD8<Float>) -> (
        SIMD8<Float>, SIMD8<Float>
    ) {
        let s = sigmoid8(g)
        return (d * u * s * (1 + g * (1 - s)), d * g * s)
    }
    parallelRanges(n, align: 64) { range in
        let gr = UnsafeRawPointer(gs.p), ur = UnsafeRawPointer(us.p), dr = UnsafeRawPointer(dhs.p)
        let dgr = UnsafeMutableRawPointer(dgs.p), dur = UnsafeMutableRawPointer(dus.p)
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let (a, b) = grads(
                gr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
                ur.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
                dr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            dgr.storeBytes(of: a, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            dur.storeBytes(of: b, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < range.upperBound {
            let (a, b) = grads(SIMD8(repeating: gs.p[i]), SIMD8(repeating: us.p[i]), SIMD8(repeating: dhs.p[i]))
            dgs.p[i] = a[0]; dus.p[i] = b[0]
            i += 1
        }
    }
}
