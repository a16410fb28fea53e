// The one place where a LlamaConfig meets the keys of the files that carry it: GGUF's `<arch>.*` metadata (read by
// LlamaConfig(gguf:), written by `irm export`, irm-mkmodel and the fuzz seeds) and Hugging Face's config.json
// (read by LlamaConfig(huggingFace:), written by `irm export` and irm-mkmodel).
import Foundation
import ModelIO

/// GGUF metadata keys of a Llama-family model, without the architecture prefix (`llama.`, `mistral.` …).
public enum GGUFKey: String, CaseIterable, Sendable {
    case contextLength = "context_length"
    case embeddingLength = "embedding_length"
    case blockCount = "block_count"
    case feedForwardLength = "feed_forward_length"
    case vocabSize = "vocab_size"
    case headCount = "attention.head_count"
    case headCountKV = "attention.head_count_kv"
    case keyLength = "attention.key_length"
    case normEpsilon = "attention.layer_norm_rms_epsilon"
    case ropeFreqBase = "rope.freq_base"
    case ropeDimensionCount = "rope.dimension_count"
    case ropeScalingType = "rope.scaling.type"
    case ropeScalingFactor = "rope.scaling.factor"
    case expertCount = "expert_count"

    /// The full key for `arch` (`llama.embedding_length`).
    public func key(_ arch: String = "llama") -> String { "\(arch).\(rawValue)" }
}

/// The tensor GGUF keeps per-pair RoPE divisors in (llama.cpp's converter writes it for Llama 3.1's scaling).
public let ggufRopeFreqsTensor = "rope_freqs.weight"

extension LlamaConfig {
    /// The `llama.*` metadata that describes this config, in the order the writers emit it. Linear RoPE scaling
    /// is written as keys; Llama 3's as the `rope_freqs.weight` tensor (`ggufRopeDivisors`).
    public var ggufMetadata: [(String, GGUFValue)] {
        var m: [(String, GGUFValue)] = [
            ("general.architecture", .string("llama")),
            (GGUFKey.contextLength.key(), .uint32(UInt32(maxSeqLen))),
            (GGUFKey.embeddingLength.key(), .uint32(UInt32(dim))),
            (GGUFKey.blockCount.key(), .uint32(UInt32(nLayers))),
            (GGUFKey.feedForwardLength.key(), .uint32(UInt32(hiddenDim))),
            (GGUFKey.ropeDimensionCount.key(), .uint32(UInt32(headDim))),
            (GGUFKey.headCount.key(), .uint32(UInt32(nHeads))),
            (GGUFKey.headCountKV.key(), .uint32(UInt32(nKVHeads))),
            (GGUFKey.normEpsilon.key(), .float32(normEps)),
            (GGUFKey.ropeFreqBase.key(), .float32(ropeTheta))
        ]
        if case .linear(let f) = ropeScaling {
            m.append((GGUFKey.ropeScalingType.key(), .string("linear")))
            m.append((GGUFKey.ropeScalingFactor.key(), .float32(Float(f))))
        }
        return m
    }

    /// The per-pair divisors GGUF stores as `rope_freqs.weight` for a scaling that is not linear (llama.cpp's
    /// converter writes 1/ratio of the scaled to the plain frequency); nil when there is none to write.
    public var ggufRopeDivisors: [Float]? {
        switch ropeScaling {
        case nil, .linear: return nil
        case .divisors(let d): return d
        case .llama3:
            let plain = ropeFrequencies(headDim: headDim, theta: ropeTheta, scaling: nil)
            let scaled = ropeFrequencies(headDim: headDim, theta: ropeTheta, scaling: ropeScaling)
            return zip(plain, scaled).map { Float($0 / $1) }
        }
    }

    /// config.json's keys for this config (transformers 4's spelling, which version 5 reads too); `extra` adds or
    /// replaces keys that do not change the computation (torch_dtype, token ids …). Per-pair divisors have no
    /// config.json spelling: refused, naming `file`.
    public func huggingFaceConfig(extra: [String: Any] = [:], file: String) throws -> [String: Any] {
        var scaling: Any = NSNull()
        switch ropeScaling {
        case nil: break
        case .linear(let f): scaling = ["rope_type": "linear", "factor": f]
        case .llama3(let f, let lo, let hi, let l):
            scaling = [
                "rope_type": "llama3", "factor": f, "low_freq_factor": lo, "high_freq_factor": hi,
                "original_max_position_embeddings": l
            ]
        case .divisors:
            throw FileError(file, "per-pair RoPE divisors (a GGUF rope_freqs tensor) have no config.json spelling")
        }
        var cfg: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
            "hidden_size": dim, "intermediate_size": hiddenDim, "num_hidden_layers": nLayers,
            "num_attention_heads": nHeads, "num_key_value_heads": nKVHeads, "head_dim": headDim,
            "vocab_size": vocabSize, "rms_norm_eps": Double(normEps), "rope_theta": Double(ropeTheta),
            "rope_scaling": scaling, "max_position_embeddings": maxSeqLen, "tie_word_embeddings": tiedEmbeddings,
            "attention_bias": false, "mlp_bias": false
        ]
        for (k, v) in extra { cfg[k] = v }
        return cfg
    }
}
