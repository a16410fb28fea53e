// The activations a training step keeps for its backward pass, for one batch of B sequences × T tokens
// (N = B·T rows), carved out of one allocation that is reused from step to step.
//
// Per layer (all [N, ·] row-major):            with --recompute only xIn is kept per layer; the rest
//   xIn   [N, dim]     residual entering          lives in a single layer's worth of storage and is
//   rstd1 [N]          1/rms of xIn               recomputed from xIn during the backward pass.
//   q     [N, qDim]    rotated queries
//   k, v  [N, kvDim]   rotated keys, values
//   probs [B, nHeads, T, T] softmax weights
//   xMid  [N, dim]     residual after attention (and after any injection)
//   rstd2 [N]
//   gate, up [N, hidden]  MLP pre-activations
// Final: xFinal [N, dim], rstdF [N], xnF [N, dim] (normalised final residual, the LM head's input).
// Scratch shared by forward and backward: x, xb, att, h/dH, dGate, dUp, dq, dk, dv, ds, dX, dXb.
import Numerics

public final class TrainingArena: @unchecked Sendable {
    public let config: LlamaConfig
    /// The largest batch this arena holds; `setShape` selects the current one (no reallocation).
    public let maxB: Int, maxT: Int
    public let recompute: Bool
    public private(set) var B: Int, T: Int
    public var N: Int { B * T }

    struct LayerViews {
        var xIn, rstd1, q, k, v, probs, xMid, rstd2, gate, up: UnsafeMutablePointer<Float>
    }
    let storage: FloatBuffer
    var layers: [LayerViews] = []
    var xFinal, rstdF, xnF: UnsafeMutablePointer<Float>
    var x, xb, att, h, dGate, dUp, dq, dk, dv, ds, dX, dXb: UnsafeMutablePointer<Float>

    /// Floats per layer for each kept activation, and for the shared scratch.
    static func layout(_ c: LlamaConfig, B: Int, T: Int) -> (full: Int, xInOnly: Int, final: Int, scratch: Int) {
        let N = B * T
        let full = N * c.dim * 2 + N * 2 + N * c.qDim + 2 * N * c.kvDim + B * c.nHeads * T * T + 2 * N * c.hiddenDim
        let final = 2 * N * c.dim + N
        let wide = max(c.dim, c.qDim)
        let scratch = N * c.dim + N * wide + N * c.qDim + 3 * N * c.hiddenDim + N * c.qDim + 2 * N * c.kvDim
            + c.nHeads * T * T + N * c.dim + N * wide
        return (full, N * c.dim, final, scratch)
    }

    /// Bytes this arena needs (for the memory plan).
    public static func byteCount(_ c: LlamaConfig, B: Int, T: Int, recompute: Bool) -> Int {
        let l = layout(c, B: B, T: T)
        let perLayer = recompute ? l.xInOnly : l.full
        return 4 * (c.nLayers * perLayer + (recompute ? l.full : 0) + l.final + l.scratch)
    }

    public init(config c: LlamaConfig, B: Int, T: Int, recompute: Bool = false) {
        config = c; maxB = B; maxT = T; self.B = B; self.T = T; self.recompute = recompute
        storage = FloatBuffer(count: TrainingArena.byteCount(c, B: B, T: T, recompute: recompute) / 4)
        let z = storage.ptr
        xFinal = z; rstdF = z; xnF = z; x = z; xb = z; att = z; h = z; dGate = z; dUp = z
        dq = z; dk = z; dv = z; ds = z; dX = z; dXb = z
        carve()
    }

    /// Selects a batch shape B' ≤ maxB, T' ≤ maxT; the views are re-carved from the same storage
    /// (everything fits since every region grows with B·T or T²).
    public func setShape(B: Int, T: Int) {
        precondition(B >= 1 && B <= maxB && T >= 1 && T <= maxT)
        if B == self.B && T == self.T { return }
        self.B = B; self.T = T
        carve()
    }

    private func carve() {
        let c = config
        var p = storage.ptr
        func take(_ n: Int) -> UnsafeMutablePointer<Float> { defer { p += n }; return p }
        let N = B * T
        func fullLayer(xIn: UnsafeMutablePointer<Float>) -> LayerViews {
            LayerViews(xIn: xIn, rstd1: take(N), q: take(N * c.qDim), k: take(N * c.kvDim), v: take(N * c.kvDim),
                       probs: take(B * c.nHeads * T * T), xMid: take(N * c.dim), rstd2: take(N),
                       gate: take(N * c.hiddenDim), up: take(N * c.hiddenDim))
        }
        layers = []
        if recompute {
            let xIns = (0..<c.nLayers).map { _ in take(N * c.dim) }
            let shared = fullLayer(xIn: xIns[0])
            layers = xIns.map { var v = shared; v.xIn = $0; return v }
        } else {
            for _ in 0..<c.nLayers { layers.append(fullLayer(xIn: take(N * c.dim))) }
        }
        let wide = max(c.dim, c.qDim)
        xFinal = take(N * c.dim); rstdF = take(N); xnF = take(N * c.dim)
        x = take(N * c.dim); xb = take(N * wide); att = take(N * c.qDim)
        h = take(N * c.hiddenDim); dGate = take(N * c.hiddenDim); dUp = take(N * c.hiddenDim)
        dq = take(N * c.qDim); dk = take(N * c.kvDim); dv = take(N * c.kvDim)
        ds = take(c.nHeads * T * T); dX = take(N * c.dim); dXb = take(N * wide)
        precondition(p - storage.ptr <= storage.count)
    }
}
