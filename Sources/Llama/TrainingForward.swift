// The training forward pass: B sequences of T tokens (right-padded), every position at once, no KV
// cache, keeping in the arena what the backward pass needs. The same layer math as Forward.swift.
import Numerics

/// Receives the gradient of the loss at hook sites during the backward pass (an IRM's injections).
public protocol GradientReceiver: AnyObject {
    /// d loss / d residual at layer `layer`'s afterAttention site, [N, dim].
    func afterAttentionGradient(layer: Int, grad: UnsafePointer<Float>, N: Int)
}

extension LlamaModel {
    /// Runs tokens [B·T] (row b·T + t is token t of sequence b) through the model, saving activations.
    /// `embeddings` [N, dim], when given, replaces the token-embedding lookup (for gradient checks).
    public func trainingForward(_ tokens: [Int32], arena a: TrainingArena, intervention: Intervention? = nil,
                                embeddings: UnsafePointer<Float>? = nil) throws {
        let c = config, w = weights, N = a.N
        guard tokens.count == N else { throw LlamaError.emptyInput }
        if let e = embeddings {
            a.x.update(from: e, count: N * c.dim)
        } else {
            for t in tokens where t < 0 || Int(t) >= c.vocabSize { throw LlamaError.tokenOutOfRange(t, vocab: c.vocabSize) }
            for (i, id) in tokens.enumerated() { w.tokenEmbedding.copyRow(Int(id), into: a.x + i * c.dim) }
        }
        let rope = RopeTable(positions: 0, count: a.T, headDim: c.headDim, theta: c.ropeTheta)
        for l in 0..<c.nLayers {
            layerForward(l, a, rope, intervention)
        }
        a.xFinal.update(from: a.x, count: N * c.dim)
        rmsnormForward(a.xnF, a.rstdF, a.x, w.outputNorm.ptr, T: N, C: c.dim, eps: c.normEps)
    }

    /// One layer, from the residual in a.x (copied to xIn) to the next residual in a.x.
    func layerForward(_ l: Int, _ a: TrainingArena, _ rope: RopeTable, _ intervention: Intervention?) {
        let c = config, L = weights.layers[l], S = a.layers[l], N = a.N, T = a.T
        if S.xIn != a.x { S.xIn.update(from: a.x, count: N * c.dim) }
        // Attention block.
        rmsnormForward(a.xb, S.rstd1, a.x, L.attnNorm.ptr, T: N, C: c.dim, eps: c.normEps)
        matmul(a.xb, N, L.wq, S.q)
        matmul(a.xb, N, L.wk, S.k)
        matmul(a.xb, N, L.wv, S.v)
        for b in 0..<a.B {
            ropeForward(S.q + b * T * c.qDim, T: T, nHeads: c.nHeads, headDim: c.headDim, rope)
            ropeForward(S.k + b * T * c.kvDim, T: T, nHeads: c.nKVHeads, headDim: c.headDim, rope)
            attentionForward(a.att + b * T * c.qDim, S.q + b * T * c.qDim, S.k + b * T * c.kvDim, S.v + b * T * c.kvDim,
                             T: T, pos0: 0, nHeads: c.nHeads, nKVHeads: c.nKVHeads, headDim: c.headDim,
                             probs: S.probs + b * c.nHeads * T * T)
        }
        matmul(a.att, N, L.wo, a.x, accumulate: true)
        intervention?.afterAttention(layer: l, residual: a.x, T: N, pos0: 0)
        S.xMid.update(from: a.x, count: N * c.dim)
        // MLP block.
        rmsnormForward(a.xb, S.rstd2, a.x, L.ffnNorm.ptr, T: N, C: c.dim, eps: c.normEps)
        matmul(a.xb, N, L.wGate, S.gate)
        matmul(a.xb, N, L.wUp, S.up)
        swigluForward(a.h, S.gate, S.up, N * c.hiddenDim)
        intervention?.mlpActivation(layer: l, activation: a.h, T: N, pos0: 0)
        matmul(a.h, N, L.wDown, a.x, accumulate: true)
        intervention?.afterLayer(layer: l, residual: a.x, T: N, pos0: 0)
    }
}
