// The inference forward pass of a Llama-family model over one sequence, with a KV cache.
// Prefill feeds many tokens at once (every Linear is one GEMM over T rows); decode feeds one
// (the GEMMs become GEMVs). Per layer:
//
//   xb = rmsnorm(x) · g_attn                  [T, dim]
//   q = xb·Wqᵀ, k = xb·Wkᵀ, v = xb·Wvᵀ         [T, qDim], [T, kvDim] ×2  (k, v written into the cache)
//   rope(q), rope(k)
//   att = softmax(q·kᵀ/√hd, causal) · v        [T, qDim]
//   x += att·Woᵀ                               ── hook: afterAttention(layer)
//   xb = rmsnorm(x) · g_ffn
//   h = silu(xb·W_gateᵀ) ⊙ (xb·W_upᵀ)          [T, hidden]  ── hook: mlpActivation(layer)
//   x += h·W_downᵀ                             ── hook: afterLayer(layer)
//
// then logits = rmsnorm(x) · g_out · W_outᵀ for the last position (or every position).
import Numerics
import ModelIO

public enum LlamaError: Error, CustomStringConvertible {
    case tokenOutOfRange(Int32, vocab: Int)
    case contextFull(needed: Int, capacity: Int)
    case emptyInput

    public var description: String {
        switch self {
        case .tokenOutOfRange(let t, let v): "token id \(t) is outside the vocabulary (0..<\(v))"
        case .contextFull(let n, let c): "sequence of \(n) positions does not fit the context of \(c)"
        case .emptyInput: "no tokens to run"
        }
    }
}

extension LlamaModel {
    /// A KV cache for `capacity` positions (default: the model's context length).
    public func makeState(capacity: Int? = nil) -> InferenceState {
        InferenceState(config: config, capacity: capacity ?? config.maxSeqLen)
    }

    /// Runs `tokens` at positions state.length ..< state.length+T, appending their keys/values to the
    /// cache. Returns the logits of the last position [vocab], or of every position [T, vocab].
    @discardableResult
    public func forward(_ tokens: [Int32], state s: InferenceState, intervention: Intervention? = nil,
                        allLogits: Bool = false) throws -> [Float] {
        let c = config, w = weights
        let T = tokens.count, pos0 = s.length
        guard T > 0 else { throw LlamaError.emptyInput }
        guard pos0 + T <= s.capacity else { throw LlamaError.contextFull(needed: pos0 + T, capacity: s.capacity) }
        for t in tokens where t < 0 || Int(t) >= c.vocabSize { throw LlamaError.tokenOutOfRange(t, vocab: c.vocabSize) }
        s.ensureScratch(T)
        let x = s.x.ptr, xb = s.xb.ptr, q = s.q.ptr, att = s.att.ptr, gate = s.gate.ptr, up = s.up.ptr
        let dim = c.dim, kvDim = c.kvDim

        for (t, id) in tokens.enumerated() { w.tokenEmbedding.copyRow(Int(id), into: x + t * dim) }
        let rope = RopeTable(positions: pos0, count: T, headDim: c.headDim, theta: c.ropeTheta)

        for (l, L) in w.layers.enumerated() {
            // Attention block.
            rmsnormForward(xb, nil, x, L.attnNorm.ptr, T: T, C: dim, eps: c.normEps)
            let kc = s.keys[l].ptr, vc = s.values[l].ptr
            matmul(xb, T, L.wq, q)
            matmul(xb, T, L.wk, kc + pos0 * kvDim)
            matmul(xb, T, L.wv, vc + pos0 * kvDim)
            ropeForward(q, T: T, nHeads: c.nHeads, headDim: c.headDim, rope)
            ropeForward(kc + pos0 * kvDim, T: T, nHeads: c.nKVHeads, headDim: c.headDim, rope)
            attentionForward(att, q, kc, vc, T: T, pos0: pos0, nHeads: c.nHeads, nKVHeads: c.nKVHeads, headDim: c.headDim)
            matmul(att, T, L.wo, x, accumulate: true)
            intervention?.afterAttention(layer: l, residual: x, T: T, pos0: pos0)

            // MLP block.
            rmsnormForward(xb, nil, x, L.ffnNorm.ptr, T: T, C: dim, eps: c.normEps)
            matmul(xb, T, L.wGate, gate)
            matmul(xb, T, L.wUp, up)
            swigluForward(gate, gate, up, T * c.hiddenDim)
            intervention?.mlpActivation(layer: l, activation: gate, T: T, pos0: pos0)
            matmul(gate, T, L.wDown, x, accumulate: true)
            intervention?.afterLayer(layer: l, residual: x, T: T, pos0: pos0)
        }
        s.advance(T)

        // Final norm and LM head, for the rows asked for.
        let rows = allLogits ? T : 1
        let first = T - rows
        rmsnormForward(xb, nil, x + first * dim, w.outputNorm.ptr, T: rows, C: dim, eps: c.normEps)
        var logits = [Float](repeating: 0, count: rows * c.vocabSize)
        logits.withUnsafeMutableBufferPointer { matmul(xb, rows, w.output, $0.baseAddress!) }
        return logits
    }
}
