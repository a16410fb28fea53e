// SwiGLU MLP activation (Shazeer 2020), Llama's FFN: h = silu(x·W_gateᵀ) ⊙ (x·W_upᵀ), silu(g) = g·σ(g).
import Foundation

/// h[n] = silu(gate[n]) · up[n]
public func swigluForward(_ h: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n {
        let g = gate[i]
        h[i] = g / (1 + expf(-g)) * up[i]
    }
}
