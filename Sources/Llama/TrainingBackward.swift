// The backward pass through the frozen model: gradients with respect to activations only (the model's
// weights get none). Each step undoes one step of TrainingForward.swift, in reverse:
//
//   loss ← LM head ← final RMSNorm ← [ layer L−1 … ] where each layer is
//   x_out = xMid + W_down·swiglu(W_gate·n2, W_up·n2),  n2 = rmsnorm(xMid)
//   xMid  = xIn + W_o·attn(rope(W_q·n1), rope(W_k·n1), W_v·n1),  n1 = rmsnorm(xIn)   (+ injection)
//
// The gradient at each layer's afterAttention site (d loss / d xMid) goes to the GradientReceiver.
import Numerics

extension LlamaModel {
    /// Mean cross-entropy over rows with a target ≥ 0, without a backward pass (validation).
    public func trainingLoss(targets: [Int32], arena a: TrainingArena) -> LossResult {
        crossEntropy(xn: a.xnF, targets: targets, head: weights.output, dim: config.dim, dxn: nil)
    }

    /// Loss and backward pass after `trainingForward`. Goes down to layer `stopLayer`'s afterAttention
    /// site (the lowest injection layer: nothing below it is trained), or, with `inputGradient`, all the
    /// way to the embeddings, returning d loss / d embeddings [N, dim] in a.dX.
    @discardableResult
    public func trainingBackward(targets: [Int32], arena a: TrainingArena, receiver: GradientReceiver?,
                                 stopLayer: Int = 0, inputGradient: Bool = false,
                                 intervention: Intervention? = nil) -> LossResult {
        let c = config, w = weights, N = a.N, T = a.T
        // LM head and cross-entropy: d loss / d xnF in a.dXb (zero on rows without a target).
        a.dXb.update(repeating: 0, count: N * c.dim)
        let loss = crossEntropy(xn: a.xnF, targets: targets, head: w.output, dim: c.dim, dxn: a.dXb)
        rmsnormBackward(a.dX, a.dXb, a.xFinal, w.outputNorm.ptr, a.rstdF, T: N, C: c.dim, accumulate: false)

        let rope = RopeTable(positions: 0, count: T, headDim: c.headDim, theta: c.ropeTheta)
        for l in stride(from: c.nLayers - 1, through: inputGradient ? 0 : stopLayer, by: -1) {
            let L = w.layers[l], S = a.layers[l]
            if a.recompute {
                a.x.update(from: S.xIn, count: N * c.dim)
                layerForward(l, a, rope, intervention)
            }
            // MLP block: dH = dX·W_down, through SwiGLU, back through W_gate/W_up, then the RMSNorm.
            matmulBackward(a.dX, N, L.wDown, a.h)
            swigluBackward(a.dGate, a.dUp, a.h, S.gate, S.up, N * c.hiddenDim)
            matmulBackward(a.dGate, N, L.wGate, a.dXb)
            matmulBackward(a.dUp, N, L.wUp, a.dXb, accumulate: true)
            rmsnormBackward(a.dX, a.dXb, S.xMid, L.ffnNorm.ptr, S.rstd2, T: N, C: c.dim, accumulate: true)
            receiver?.afterAttentionGradient(layer: l, grad: a.dX, N: N)
            if l == stopLayer && !inputGradient { break }

            // Attention block.
            matmulBackward(a.dX, N, L.wo, a.att)
            for b in 0..<a.B {
                let qo = b * T * c.qDim, ko = b * T * c.kvDim
                attentionBackward(dq: a.dq + qo, dk: a.dk + ko, dv: a.dv + ko, dout: a.att + qo,
                                  q: S.q + qo, k: S.k + ko, v: S.v + ko, probs: S.probs + b * c.nHeads * T * T,
                                  ds: a.ds, T: T, nHeads: c.nHeads, nKVHeads: c.nKVHeads, headDim: c.headDim)
                ropeBackward(a.dq + qo, T: T, nHeads: c.nHeads, headDim: c.headDim, rope)
                ropeBackward(a.dk + ko, T: T, nHeads: c.nKVHeads, headDim: c.headDim, rope)
            }
            matmulBackward(a.dq, N, L.wq, a.dXb)
            matmulBackward(a.dk, N, L.wk, a.dXb, accumulate: true)
            matmulBackward(a.dv, N, L.wv, a.dXb, accumulate: true)
            rmsnormBackward(a.dX, a.dXb, S.xIn, L.attnNorm.ptr, S.rstd1, T: N, C: c.dim, accumulate: true)
        }
        return loss
    }
}
