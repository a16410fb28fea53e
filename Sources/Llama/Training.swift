// Training through the frozen model: B sequences of T tokens (right-padded), every position at once, no
// KV cache. The forward keeps in the arena what the backward needs (or, with --recompute, only each
// layer's input); the backward computes gradients with respect to activations only (the model's weights
// get none), undoing each step in reverse:
//
//   loss ← LM head ← final RMSNorm ← [ layer L−1 … ] where each layer is (Layer.swift)
//   x_out = xMid + W_down·swiglu(W_gate·n2, W_up·n2),  n2 = rmsnorm(xMid)
//   xMid  = xIn + W_o·attn(rope(W_q·n1), rope(W_k·n1), W_v·n1),  n1 = rmsnorm(xIn)   (+ injection)
//
// The gradient at each layer's afterAttention site (d loss / d xMid) goes to the GradientReceiver.
import Numerics

/// Receives the gradient of the loss at hook sites during the backward pass (an IRM's injections).
public protocol GradientReceiver: AnyObject {
    /// d loss / d residual at layer `layer`'s afterAttention site, [N, dim].
    func afterAttentionGradient(layer: Int, grad: UnsafePointer<Float>, N: Int)
}

extension LlamaModel {
    /// Runs tokens [B·T] (row b·T + t is token t of sequence b) through the model, saving activations.
    /// `embeddings` [N, dim], when given, replaces the token-embedding lookup (for gradient checks).
    public func trainingForward(
        _ tokens: [Int32], arena a: TrainingArena, intervention: Intervention? = nil,
        embeddings: UnsafePointer<Float>? = nil
    ) throws {
        let c = config, w = weights, N = a.N
        guard tokens.count == N else { throw LlamaError.tokenCount(tokens.count, expected: N) }
        if let e = embeddings {
            a.x.update(from: e, count: N * c.dim)
        } else {
            for t in tokens where t < 0 || Int(t) >= c.vocabSize {
                throw LlamaError.tokenOutOfRange(t, vocab: c.vocabSize)
            }
            for (i, id) in tokens.enumerated() { w.tokenEmbedding.copyRow(Int(id), into: a.x + i * c.dim) }
        }
        let rope = RopeTable(positions: 0, count: a.T, config: c)
        for l in 0..<c.nLayers {
            layerForward(l, a.views(l), B: a.B, T: a.T, pos0: 0, rope: rope, intervention: intervention)
        }
        a.xFinal.update(from: a.x, count: N * c.dim)
        rmsnormForward(a.xnF, a.rstdF, a.x, w.outputNorm.ptr, rows: N, C: c.dim, eps: c.normEps)
    }

    /// Mean cross-entropy over rows with a target ≥ 0, without a backward pass (validation).
    public func trainingLoss(targets: [Int32], arena a: TrainingArena) -> LossResult {
        crossEntropy(
            xn: a.xnF, targets: targets, head: weights.output, dim: config.dim, dxn: nil, buffers: a.headBuffers)
    }

    /// Loss and backward pass after `trainingForward`. Goes down to layer `stopLayer`'s afterAttention
    /// site (the lowest injection layer: nothing below it is trained), or, with `inputGradient`, all the
    /// way to the embeddings, returning d loss / d embeddings [N, dim] in a.dX. `intervention` is the one
    /// the forward ran with: a recomputed layer (--recompute) calls its hooks again, as a replay.
    @discardableResult
    public func trainingBackward(
        targets: [Int32], arena a: TrainingArena, receiver: GradientReceiver?,
        stopLayer: Int = 0, inputGradient: Bool = false,
        intervention: Intervention? = nil
    ) -> LossResult {
        let c = config, w = weights, N = a.N
        // LM head and cross-entropy: d loss / d xnF in a.dXb (zero on rows without a target).
        a.dXb.update(repeating: 0, count: N * c.dim)
        let loss = crossEntropy(
            xn: a.xnF, targets: targets, head: w.output, dim: c.dim, dxn: a.dXb, buffers: a.headBuffers)
        rmsnormBackward(a.dX, a.dXb, a.xFinal, w.outputNorm.ptr, a.rstdF, rows: N, C: c.dim, accumulate: false)

        let rope = RopeTable(positions: 0, count: a.T, config: c)
        let lowest = inputGradient ? 0 : stopLayer
        for l in stride(from: c.nLayers - 1, through: lowest, by: -1) {
            if a.recompute {
                // Only xIn was kept: run the layer again into the shared views (its xIn is already saved).
                a.x.update(from: a.layers[l].xIn, count: N * c.dim)
                layerForward(
                    l, a.views(l, saveInput: false), B: a.B, T: a.T, pos0: 0, rope: rope,
                    intervention: intervention, replay: true)
            }
            layerBackward(l, a, rope: rope, receiver: receiver, throughAttention: l > stopLayer || inputGradient)
        }
        return loss
    }
}
