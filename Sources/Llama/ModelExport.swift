// Writing a model back out: GGUF (llama.cpp names, Meta RoPE layout) or a Hugging Face folder
// (config.json + model.safetensors, q/k permuted for rotate_half). Used to convert between formats and
// by the tests that check every reader against every writer. Weights are written as fp32.
import Foundation
import Numerics
import ModelIO

extension LlamaModel {
    /// Every tensor under the given naming, as fp32 values; q/k rows permuted to HF's layout when asked.
    func namedTensors(_ names: TensorNames, hfPermute: Bool) -> [(name: String, shape: [Int], values: [Float])] {
        let c = config, w = weights
        func mat(_ m: Weight) -> [Float] {
            var out = [Float](repeating: 0, count: m.rows * m.cols)
            out.withUnsafeMutableBufferPointer { b in
                for r in 0..<m.rows { m.copyRow(r, into: b.baseAddress! + r * m.cols) }
            }
            return out
        }
        var ts: [(String, [Int], [Float])] = [
            (names.embedding, [c.vocabSize, c.dim], mat(w.tokenEmbedding)),
            (names.outputNorm, [c.dim], w.outputNorm.array)
        ]
        if !c.tiedEmbeddings { ts.append((names.output, [c.vocabSize, c.dim], mat(w.output))) }
        for (i, L) in w.layers.enumerated() {
            let q = hfPermute ? permuteRotateHalf(L.wq, heads: c.nHeads) : L.wq
            let k = hfPermute ? permuteRotateHalf(L.wk, heads: c.nKVHeads) : L.wk
            ts += [
                (names.layer(i, .attnNorm), [c.dim], L.attnNorm.array),
                (names.layer(i, .q), [c.qDim, c.dim], mat(q)),
                (names.layer(i, .k), [c.kvDim, c.dim], mat(k)),
                (names.layer(i, .v), [c.kvDim, c.dim], mat(L.wv)),
                (names.layer(i, .o), [c.dim, c.qDim], mat(L.wo)),
                (names.layer(i, .ffnNorm), [c.dim], L.ffnNorm.array),
                (names.layer(i, .gate), [c.hiddenDim, c.dim], mat(L.wGate)),
                (names.layer(i, .up), [c.hiddenDim, c.dim], mat(L.wUp)),
                (names.layer(i, .down), [c.dim, c.hiddenDim], mat(L.wDown))
            ]
        }
        return ts
    }

    /// A GGUF file with llama.* metadata and fp32 tensors (no tokenizer unless `extraMetadata` carries one).
    public func writeGGUF(path: String, extraMetadata: [(String, GGUFValue)] = []) throws {
        let c = config
        let g = try GGUFWriter(path: path)
        try g.set("general.architecture", .string("llama"))
        try g.set("llama.embedding_length", .uint32(UInt32(c.dim)))
        try g.set("llama.feed_forward_length", .uint32(UInt32(c.hiddenDim)))
        try g.set("llama.block_count", .uint32(UInt32(c.nLayers)))
        try g.set("llama.attention.head_count", .uint32(UInt32(c.nHeads)))
        try g.set("llama.attention.head_count_kv", .uint32(UInt32(c.nKVHeads)))
        try g.set("llama.attention.layer_norm_rms_epsilon", .float32(c.normEps))
        try g.set("llama.rope.freq_base", .float32(c.ropeTheta))
        try g.set("llama.rope.dimension_count", .uint32(UInt32(c.headDim)))
        try g.set("llama.context_length", .uint32(UInt32(c.maxSeqLen)))
        if case .linear(let f) = c.ropeScaling {
            try g.set("llama.rope.scaling.type", .string("linear"))
            try g.set("llama.rope.scaling.factor", .float32(Float(f)))
        }
        for (k, v) in extraMetadata { try g.set(k, v) }
        for t in namedTensors(ggufNames, hfPermute: false) {
            try g.addTensor(name: t.name, floats: t.values, shape: t.shape)
        }
        if let d = ropeDivisors(c) { try g.addTensor(name: "rope_freqs.weight", floats: d, shape: [d.count]) }
        try g.write()
    }

    /// A Hugging Face folder: config.json and model.safetensors (fp32).
    public func writeHuggingFace(folder: String) throws {
        let c = config
        var scaling: Any = NSNull()
        switch c.ropeScaling {
        case nil: break
        case .linear(let f): scaling = ["rope_type": "linear", "factor": f]
        case .llama3(let f, let lo, let hi, let l):
            scaling = [
                "rope_type": "llama3", "factor": f, "low_freq_factor": lo, "high_freq_factor": hi,
                "original_max_position_embeddings": l
            ]
        case .divisors:
            throw ModelIOError(folder, "per-pair RoPE divisors (a GGUF rope_freqs tensor) have no config.json spelling")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let cfg: [String: Any] = [
            "rope_scaling": scaling,
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": c.dim, "intermediate_size": c.hiddenDim, "num_hidden_layers": c.nLayers,
            "num_attention_heads": c.nHeads, "num_key_value_heads": c.nKVHeads, "head_dim": c.headDim,
            "vocab_size": c.vocabSize, "rms_norm_eps": Double(c.normEps), "rope_theta": Double(c.ropeTheta),
            "max_position_embeddings": c.maxSeqLen, "tie_word_embeddings": c.tiedEmbeddings,
            "torch_dtype": "float32", "hidden_act": "silu"
        ]
        let json = try encodeJSONObject(cfg)
        try json.write(to: URL(fileURLWithPath: folder + "/config.json"), options: .atomic)
        try writeSafetensors(
            path: folder + "/model.safetensors", floatTensors: namedTensors(hfNames, hfPermute: true),
            metadata: ["format": "pt"])
    }
}

/// The per-pair divisors GGUF stores as `rope_freqs.weight` for a scaling that is not linear (llama.cpp's converter
/// writes Llama 3.1's this way): d_i = ω_i(plain) / ω_i(scaled).
func ropeDivisors(_ c: LlamaConfig) -> [Float]? {
    switch c.ropeScaling {
    case nil, .linear: return nil
    case .divisors(let d): return d
    case .llama3:
        let plain = ropeFrequencies(headDim: c.headDim, theta: c.ropeTheta, scaling: nil)
        let scaled = ropeFrequencies(headDim: c.headDim, theta: c.ropeTheta, scaling: c.ropeScaling)
        return zip(plain, scaled).map { Float($0 / $1) }
    }
}
