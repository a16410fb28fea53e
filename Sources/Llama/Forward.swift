// The inference forward pass of a Llama-family model over one sequence, with a KV cache.
// Prefill feeds many tokens at once (every Linear is one GEMM over T rows); decode feeds one
// (the GEMMs become GEMVs). Each layer is layerForward (Layer.swift) writing its keys and values
// into the cache at positions pos0 ..< pos0+T and keeping nothing else:
//
//   x = embed(tokens)                          [T, dim]
//   x = layer_l(x)  for l = 0 ..< nLayers      (hooks: afterAttention(l), mlpActivation(l), afterLayer(l))
//   logits = rmsnorm(x) · g_out · W_outᵀ       for the last position (or every position)
import Numerics
import ModelIO

public enum LlamaError: Error, CustomStringConvertible {
    case tokenOutOfRange(Int32, vocab: Int)
    case contextFull(needed: Int, capacity: Int)
    case emptyInput
    case tokenCount(Int, expected: Int)

    public var description: String {
        switch self {
        case .tokenOutOfRange(let t, let v): "token id \(t) is outside the vocabulary (0..<\(v))"
        case .contextFull(let n, let c): "sequence of \(n) positions does not fit the context of \(c)"
        case .emptyInput: "no tokens to run"
        case .tokenCount(let n, let e): "\(n) tokens given for a batch of \(e) positions"
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
    public func forward(
        _ tokens: [Int32], state s: InferenceState, intervention: Intervention? = nil,
        allLogits: Bool = false
    ) throws -> [Float] {
        let c = config, w = weights
        let T = tokens.count, pos0 = s.length
        guard T > 0 else { throw LlamaError.emptyInput }
        guard pos0 + T <= s.capacity else { throw LlamaError.contextFull(needed: pos0 + T, capacity: s.capacity) }
        for t in tokens where t < 0 || Int(t) >= c.vocabSize { throw LlamaError.tokenOutOfRange(t, vocab: c.vocabSize) }
        s.ensureScratch(T)
        let x = s.x.ptr, xb = s.xb.ptr, q = s.q.ptr, att = s.att.ptr, gate = s.gate.ptr, up = s.up.ptr
        let dim = c.dim

        for (t, id) in tokens.enumerated() { w.tokenEmbedding.copyRow(Int(id), into: x + t * dim) }
        let rope = RopeTable(positions: pos0, count: T, config: c)
        for l in 0..<c.nLayers {
            // k, v go straight into the cache; SwiGLU overwrites gate (nothing is kept for a backward).
            let views = LayerViews(
                x: x, xb: xb, q: q, k: s.keys[l].ptr, v: s.values[l].ptr, att: att,
                gate: gate, up: up, h: gate)
            layerForward(l, views, B: 1, T: T, pos0: pos0, rope: rope, intervention: intervention)
        }
        s.advance(T)

        // Final norm and LM head, for the rows asked for.
        let rows = allLogits ? T : 1
        let first = T - rows
        rmsnormForward(xb, nil, x + first * dim, w.outputNorm.ptr, rows: rows, C: dim, eps: c.normEps)
        var logits = [Float](repeating: 0, count: rows * c.vocabSize)
        logits.withUnsafeMutableBufferPointer { matmul(xb, rows, w.output, $0.baseAddress!) }
        return logits
    }
}
