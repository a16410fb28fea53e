// One transformer layer, forward and backward. The forward serves inference (one sequence, KV cache,
// prefill or decode) and training (B sequences from position 0, saving what the backward needs, or
// recomputing it there): the caller says where the results go (LayerViews). Rows are N = B·T tokens.
//
//   xb = rmsnorm(x) · g_attn                   [N, dim]                     save: xIn, rstd1
//   q = xb·Wqᵀ, k = xb·Wkᵀ, v = xb·Wvᵀ          [N, qDim], [N, kvDim] ×2     (k, v at positions pos0 …)
//   rope(q), rope(k)
//   att = softmax(q·kᵀ/√hd, causal) · v         [N, qDim]                    save: probs
//   x += att·Woᵀ                                ── hook: afterAttention(layer)  save: xMid
//   xb = rmsnorm(x) · g_ffn                                                  save: rstd2
//   gate = xb·W_gateᵀ, up = xb·W_upᵀ            [N, hidden]
//   h = silu(gate) ⊙ up                         ── hook: mlpActivation(layer)
//   x += h·W_downᵀ
import Numerics

/// Where one layer's forward reads and writes: plain pointers, so making one per layer and token costs
/// nothing (decode runs at N = 1 and is bandwidth-bound).
struct LayerViews {
    var x: UnsafeMutablePointer<Float>  // [N, dim]    the residual: read, then updated in place
    var xb: UnsafeMutablePointer<Float>  // [N, dim]    scratch: each block's normalised input
    var q: UnsafeMutablePointer<Float>  // [N, qDim]   rotated queries
    /// Keys and values [B, pos0+T, kvDim]: positions 0 ..< pos0 are already there, this call writes
    /// pos0 ..< pos0+T. Decoding: the layer's KV cache (B = 1). Training: the arena's k, v (pos0 = 0).
    var k, v: UnsafeMutablePointer<Float>
    var att: UnsafeMutablePointer<Float>  // [N, qDim]   scratch: attention output
    var gate, up: UnsafeMutablePointer<Float>  // [N, hidden] MLP pre-activations
    /// [N, hidden] silu(gate) ⊙ up: gate itself when gate is not kept (decoding), its own buffer otherwise.
    var h: UnsafeMutablePointer<Float>
    // Save slots for the backward; nil where nothing is kept (decoding, or a recomputation's xIn).
    var xIn: UnsafeMutablePointer<Float>? = nil  // [N, dim] copy of the entering residual
    var rstd1: UnsafeMutablePointer<Float>? = nil  // [N]
    var probs: UnsafeMutablePointer<Float>? = nil  // [B, nHeads, T, pos0+T] softmax weights
    var xMid: UnsafeMutablePointer<Float>? = nil  // [N, dim] residual after attention and injection
    var rstd2: UnsafeMutablePointer<Float>? = nil  // [N]
}

extension LlamaModel {
    /// Layer `l` on B sequences of T tokens at positions pos0 ..< pos0+T (`rope` covers those positions).
    /// Either one sequence (B = 1, any pos0) or several from position 0: then the new k, v rows of all
    /// sequences are contiguous and every projection is one GEMM over N rows. `replay` tells the hooks
    /// that the backward pass is recomputing this layer.
    func layerForward(
        _ l: Int, _ o: LayerViews, B: Int, T: Int, pos0: Int, rope: RopeTable,
        intervention: Intervention?, replay: Bool = false
    ) {
        precondition(B == 1 || pos0 == 0, "several sequences run from position 0 only")
        let c = config, lw = weights.layers[l], N = B * T, kvLen = pos0 + T
        o.xIn?.update(from: o.x, count: N * c.dim)
        // Attention block.
        rmsnormForward(o.xb, o.rstd1, o.x, lw.attnNorm.ptr, rows: N, C: c.dim, eps: c.normEps)
        // One parallel region for the three projections (and below for gate, up and SwiGLU): a decode step
        // is 5 regions per layer (q/k/v, attention, o, gate/up, down), each a fork/join of the worker pool.
        matmul(o.xb, N, [(lw.wq, o.q), (lw.wk, o.k + pos0 * c.kvDim), (lw.wv, o.v + pos0 * c.kvDim)])
        for b in 0..<B {
            let q = o.q + b * T * c.qDim, k = o.k + b * kvLen * c.kvDim, v = o.v + b * kvLen * c.kvDim
            ropeForward(q, T: T, nHeads: c.nHeads, headDim: c.headDim, rope)
            ropeForward(k + pos0 * c.kvDim, T: T, nHeads: c.nKVHeads, headDim: c.headDim, rope)
            attentionForward(
                o.att + b * T * c.qDim, q, k, v, T: T, pos0: pos0, nHeads: c.nHeads, nKVHeads: c.nKVHeads,
                headDim: c.headDim, probs: o.probs.map { $0 + b * c.nHeads * T * kvLen })
        }
        matmul(o.att, N, lw.wo, o.x, accumulate: true)
        intervention?.afterAttention(layer: l, residual: o.x, T: N, pos0: pos0, replay: replay)
        o.xMid?.update(from: o.x, count: N * c.dim)
        // MLP block.
        rmsnormForward(o.xb, o.rstd2, o.x, lw.ffnNorm.ptr, rows: N, C: c.dim, eps: c.normEps)
        let H = c.hiddenDim
        matmulPair(o.xb, N, lw.wGate, o.gate, lw.wUp, o.up) { rows, cols in
            for m in rows { let i = m * H + cols.lowerBound; swigluForward(o.h + i, o.gate + i, o.up + i, cols.count) }
        }
        intervention?.mlpActivation(layer: l, activation: o.h, T: N, pos0: pos0, replay: replay)
        matmul(o.h, N, lw.wDown, o.x, accumulate: true)
        intervention?.afterLayer(layer: l, residual: o.x, T: N, pos0: pos0, replay: replay)
    }

    /// Backward of layerForward for training (pos0 = 0), from the views layer `l` saved in the arena:
    /// d loss / d x_out in a.dX becomes d loss / d xMid, handed to `receiver` at the afterAttention site,
    /// then (when `throughAttention`) d loss / d xIn, also in a.dX. Weights get no gradient (frozen).
    func layerBackward(
        _ l: Int, _ a: TrainingArena, rope: RopeTable, receiver: GradientReceiver?, throughAttention: Bool
    ) {
        let c = config, lw = weights.layers[l], S = a.layers[l], N = a.N, T = a.T
        // MLP block: dH = dX·W_down, through SwiGLU, back through W_gate/W_up, then the RMSNorm (the
        // residual's own gradient already sits in dX, so the norm's adds to it).
        matmulBackward(a.dX, N, lw.wDown, a.dH)
        swigluBackward(a.dGate, a.dUp, a.dH, S.gate, S.up, N * c.hiddenDim)
        matmulBackward(a.dGate, N, lw.wGate, a.dXb)
        matmulBackward(a.dUp, N, lw.wUp, a.dXb, accumulate: true)
        rmsnormBackward(a.dX, a.dXb, S.xMid, lw.ffnNorm.ptr, S.rstd2, rows: N, C: c.dim, accumulate: true)
        receiver?.afterAttentionGradient(layer: l, grad: a.dX, N: N)
        guard throughAttention else { return }

        // Attention block, one sequence at a time (each attends only to itself).
        matmulBackward(a.dX, N, lw.wo, a.dAtt)
        for b in 0..<a.B {
            let qo = b * T * c.qDim, ko = b * T * c.kvDim
            attentionBackward(
                dq: a.dq + qo, dk: a.dk + ko, dv: a.dv + ko, dout: a.dAtt + qo,
                q: S.q + qo, k: S.k + ko, v: S.v + ko, probs: S.probs + b * c.nHeads * T * T,
                ds: a.ds, T: T, nHeads: c.nHeads, nKVHeads: c.nKVHeads, headDim: c.headDim)
            ropeBackward(a.dq + qo, T: T, nHeads: c.nHeads, headDim: c.headDim, rope)
            ropeBackward(a.dk + ko, T: T, nHeads: c.nKVHeads, headDim: c.headDim, rope)
        }
        matmulBackward(a.dq, N, lw.wq, a.dXb)
        matmulBackward(a.dk, N, lw.wk, a.dXb, accumulate: true)
        matmulBackward(a.dv, N, lw.wv, a.dXb, accumulate: true)
        rmsnormBackward(a.dX, a.dXb, S.xIn, lw.attnNorm.ptr, S.rstd1, rows: N, C: c.dim, accumulate: true)
    }
}
