// The shape of a Llama-family model: everything the forward pass needs to know besides the weights.
import Foundation
import ModelIO

public struct LlamaConfig: Sendable, Equatable, Codable {
    public var dim: Int  // hidden size (residual stream width)
    public var hiddenDim: Int  // MLP intermediate size
    public var nLayers: Int
    public var nHeads: Int
    public var nKVHeads: Int  // < nHeads for grouped-query attention
    public var headDim: Int
    public var vocabSize: Int
    public var normEps: Float
    public var ropeTheta: Float
    public var maxSeqLen: Int
    public var tiedEmbeddings: Bool
    /// RoPE's wavelength scaling (RoPE.swift); nil is plain RoPE. Optional, so configs saved before it decode.
    public var ropeScaling: RopeScaling?

    public init(
        dim: Int, hiddenDim: Int, nLayers: Int, nHeads: Int, nKVHeads: Int, headDim: Int? = nil,
        vocabSize: Int, normEps: Float = 1e-5, ropeTheta: Float = 10000, maxSeqLen: Int = 2048,
        tiedEmbeddings: Bool = false, ropeScaling: RopeScaling? = nil
    ) {
        self.ropeScaling = ropeScaling
        self.dim = dim; self.hiddenDim = hiddenDim; self.nLayers = nLayers; self.nHeads = nHeads
        self.nKVHeads = nKVHeads; self.headDim = headDim ?? (nHeads > 0 ? dim / nHeads : 0); self.vocabSize = vocabSize
        self.normEps = normEps; self.ropeTheta = ropeTheta; self.maxSeqLen = maxSeqLen
        self.tiedEmbeddings = tiedEmbeddings
    }

    public var qDim: Int { nHeads * headDim }
    public var kvDim: Int { nKVHeads * headDim }

    /// Parameters of the model (the LM head counted once when tied).
    public var parameterCount: Int {
        let perLayer = 2 * dim + dim * qDim + 2 * dim * kvDim + qDim * dim + 3 * dim * hiddenDim
        return vocabSize * dim * (tiedEmbeddings ? 1 : 2) + nLayers * perLayer + dim
    }

    /// Llama-2-7b(-chat): MHA, 32000 vocab, untied head, RoPE θ 1e4.
    public static let llama2_7b = LlamaConfig(
        dim: 4096, hiddenDim: 11008, nLayers: 32, nHeads: 32, nKVHeads: 32,
        vocabSize: 32000, normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 4096)
    /// Llama-3.1-8B (and -Instruct): GQA 32/8, MLP 14336, vocabulary 128256, θ 500000 with Llama 3.1's scaling.
    public static let llama3_1_8b = LlamaConfig(
        dim: 4096, hiddenDim: 14336, nLayers: 32, nHeads: 32, nKVHeads: 8, vocabSize: 128256, normEps: 1e-5,
        ropeTheta: 500000, maxSeqLen: 131072,
        ropeScaling: .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192))
    /// SmolLM2-135M: GQA 9/3, tied embeddings, θ 1e5.
    public static let smolLM2_135M = LlamaConfig(
        dim: 576, hiddenDim: 1536, nLayers: 30, nHeads: 9, nKVHeads: 3,
        vocabSize: 49152, normEps: 1e-5, ropeTheta: 100000, maxSeqLen: 8192,
        tiedEmbeddings: true)

    /// Upper bounds on each dimension, far above any Llama-family model (Llama-3-405B: hidden 16384, MLP 53248,
    /// 126 layers, 128 heads; Gemma: vocab 256k). They keep every size derived from a config (parameter
    /// counts, memory plans, cache sizes) far from Int overflow, whatever a file says.
    public static let maxDim = 1 << 18, maxHiddenDim = 1 << 20, maxLayers = 1 << 12, maxHeads = 1 << 12
    public static let maxHeadDim = 1 << 12, maxVocabSize = 1 << 22, maxContext = 1 << 24

    var limits: [(name: String, value: Int, max: Int)] {
        [
            ("hidden size", dim, Self.maxDim), ("MLP size", hiddenDim, Self.maxHiddenDim),
            ("layer count", nLayers, Self.maxLayers),
            ("attention heads", nHeads, Self.maxHeads), ("KV heads", nKVHeads, Self.maxHeads),
            ("head dimension", headDim, Self.maxHeadDim),
            ("vocabulary size", vocabSize, Self.maxVocabSize), ("context length", maxSeqLen, Self.maxContext)
        ]
    }

    public func validate(file: String) throws {
        func bad(_ m: String) -> FileError { FileError(file, m) }
        for l in limits {
            let v = l.value
            guard v > 0 else { throw bad("\(l.name) \(v) must be positive") }
            guard v <= l.max else { throw bad("\(l.name) \(v) is implausibly large (at most \(l.max) supported)") }
        }
        guard nHeads % nKVHeads == 0 else {
            throw bad("\(nHeads) attention heads is not a multiple of \(nKVHeads) KV heads")
        }
        guard headDim % 2 == 0 else { throw bad("head dimension \(headDim) must be even for RoPE") }
        guard normEps.isFinite, normEps >= 0 else {
            throw bad("RMS norm epsilon \(normEps) must be a finite number >= 0")
        }
        guard ropeTheta.isFinite, ropeTheta > 0 else { throw bad("RoPE base \(ropeTheta) must be a finite number > 0") }
        switch ropeScaling {
        case nil: break
        case .linear(let f):
            guard f.isFinite, f >= 1 else { throw bad("RoPE scaling factor \(f) must be a finite number >= 1") }
        case .llama3(let f, let lo, let hi, let L):
            guard f.isFinite, f >= 1 else { throw bad("RoPE scaling factor \(f) must be a finite number >= 1") }
            guard lo.isFinite, hi.isFinite, lo > 0, hi > lo else {
                throw bad("llama3 RoPE scaling needs 0 < low_freq_factor < high_freq_factor (got \(lo), \(hi))")
            }
            guard L > 0, L <= Self.maxContext else {
                throw bad("original_max_position_embeddings \(L) must be positive")
            }
        case .divisors(let d):
            guard d.count == headDim / 2 else {
                throw bad("rope_freqs has \(d.count) values for \(headDim / 2) rotary pairs")
            }
            guard d.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw bad("rope_freqs holds a value that is not a finite number > 0")
            }
        }
    }
}

// MARK: - From GGUF metadata

extension LlamaConfig {
    public init(gguf g: GGUFFile) throws {
        let arch = g.metadata["general.architecture"]?.string ?? "llama"
        guard ["llama", "mistral", "granite"].contains(arch) || arch.hasPrefix("llama") else {
            throw FileError(g.path, "architecture '\(arch)' is not a Llama-family model")
        }
        func int(_ k: GGUFKey) throws -> Int {
            guard let v = g.metadata[k.key(arch)]?.int else {
                throw FileError(g.path, "missing metadata '\(k.key(arch))'")
            }
            return v
        }
        let dim = try int(.embeddingLength), heads = try int(.headCount)
        let emb = try g.tensor("token_embd.weight")
        try Self.refuseUnsupportedGGUF(g, arch: arch)
        let vocab = g.metadata[GGUFKey.vocabSize.key(arch)]?.int ?? emb.shape[0]
        self.init(
            dim: dim, hiddenDim: try int(.feedForwardLength), nLayers: try int(.blockCount),
            nHeads: heads, nKVHeads: g.metadata[GGUFKey.headCountKV.key(arch)]?.int ?? heads,
            headDim: g.metadata[GGUFKey.keyLength.key(arch)]?.int
                ?? g.metadata[GGUFKey.ropeDimensionCount.key(arch)]?.int,
            vocabSize: vocab,
            normEps: Float(g.metadata[GGUFKey.normEpsilon.key(arch)]?.double ?? 1e-5),
            ropeTheta: Float(g.metadata[GGUFKey.ropeFreqBase.key(arch)]?.double ?? 10000),
            maxSeqLen: g.metadata[GGUFKey.contextLength.key(arch)]?.int ?? 2048,
            tiedEmbeddings: g.tensors["output.weight"] == nil)
        ropeScaling = try Self.ggufRopeScaling(g, arch: arch)
        // Without key_length the head dimension is read from rope.dimension_count (above); a file with both that
        // rotates only part of each head (Phi-style partial rotary) is refused. A file with neither whose rope
        // dimension is partial fails the tensor-shape check at load.
        if let rd = g.metadata[GGUFKey.ropeDimensionCount.key(arch)]?.int, rd != headDim {
            throw FileError(
                g.path,
                "\(arch).rope.dimension_count \(rd) differs from the head dimension \(headDim): partial rotary embeddings are not supported"
            )
        }
        try validate(file: g.path)
    }

    /// GGUF's rotary scaling: the tensor `rope_freqs.weight` (per-pair divisors, as llama.cpp's converter writes
    /// Llama 3.1) or `rope.scaling.type` linear; any other scaling type is refused.
    static func ggufRopeScaling(_ g: GGUFFile, arch: String) throws -> RopeScaling? {
        let type = g.metadata[GGUFKey.ropeScalingType.key(arch)]?.string ?? "none"
        let factor = g.metadata[GGUFKey.ropeScalingFactor.key(arch)]?.double
        let freqs = g.tensors[ggufRopeFreqsTensor]
        switch type {
        case "none":
            guard let t = freqs else { return nil }
            guard t.type == .f32, t.shape.count == 1 else {
                throw FileError(g.path, "rope_freqs.weight must be a 1-D F32 tensor (it is \(t.type) \(t.shape))")
            }
            let p = t.data.assumingMemoryBound(to: Float.self)
            return .divisors((0..<t.elementCount).map { p[$0] })
        case "linear":
            guard freqs == nil else {
                throw FileError(g.path, "rope_freqs.weight together with linear RoPE scaling is not supported")
            }
            guard let f = factor else {
                throw FileError(g.path, "linear RoPE scaling without \(arch).rope.scaling.factor")
            }
            return f == 1 ? nil : .linear(factor: f)
        default:
            throw FileError(
                g.path, "RoPE scaling type '\(type)' is not supported (only llama3 via rope_freqs, and linear)")
        }
    }

    /// Metadata that changes the computation in ways irm does not implement: refused, never ignored.
    static func refuseUnsupportedGGUF(_ g: GGUFFile, arch: String) throws {
        if let n = g.metadata[GGUFKey.expertCount.key(arch)]?.int, n > 0 {
            throw FileError(g.path, "\(arch).expert_count \(n): mixture-of-experts models are not supported")
        }
        for key in [
            "attention.sliding_window", "logit_scale", "embedding_scale", "residual_scale", "attention.scale",
            "attention.clamp_kqv", "attn_logit_softcapping", "final_logit_softcapping", "rope.scaling.attn_factor"
        ] {
            if g.metadata["\(arch).\(key)"] != nil {
                throw FileError(g.path, "metadata '\(arch).\(key)' changes the computation and is not supported")
            }
        }
    }
}

// MARK: - From a llama2.c checkpoint header

extension LlamaConfig {
    /// llama2.c's run.c fixes ε = 1e-5 and RoPE θ = 10000; the header gives the rest.
    public init(llama2c ck: Llama2cCheckpoint) throws {
        self.init(
            dim: ck.dim, hiddenDim: ck.hiddenDim, nLayers: ck.nLayers, nHeads: ck.nHeads, nKVHeads: ck.nKVHeads,
            vocabSize: ck.vocabSize, normEps: 1e-5, ropeTheta: 10000, maxSeqLen: ck.seqLen,
            tiedEmbeddings: ck.sharedClassifier)
        try validate(file: ck.path)
    }
}

// MARK: - From a Hugging Face config.json

extension LlamaConfig {
    public init(hfConfigAt path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError(path, "no such file") }
        try self.init(hfConfigJSON: data, file: path)
    }

    /// `file` names the source in errors.
    public init(hfConfigJSON data: Data, file path: String) throws {
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw FileError(path, "not a JSON object")
        }
        func int(_ k: String, _ def: Int? = nil) throws -> Int {
            guard let v = obj[k] else {
                if let d = def { return d }
                throw FileError(path, "missing '\(k)'")
            }
            // Int(exactly:) refuses fractions and values beyond Int instead of wrapping them.
            guard let n = v as? NSNumber, let i = Int(exactly: n.doubleValue) else {
                throw FileError(path, "'\(k)' must be an integer")
            }
            return i
        }
        func num(_ k: String, _ def: Double) -> Double { (obj[k] as? NSNumber)?.doubleValue ?? def }
        if let mt = obj["model_type"] as? String, !["llama", "mistral"].contains(mt) {
            throw FileError(path, "model_type '\(mt)' is not a Llama-family model")
        }
        try Self.refuseUnsupportedHF(obj, file: path)
        let rope = try Self.hfRope(obj, file: path)
        let heads = try int("num_attention_heads")
        self.init(
            dim: try int("hidden_size"), hiddenDim: try int("intermediate_size"),
            nLayers: try int("num_hidden_layers"), nHeads: heads,
            nKVHeads: try int("num_key_value_heads", heads),
            headDim: obj["head_dim"] == nil ? nil : try int("head_dim"),
            vocabSize: try int("vocab_size"), normEps: Float(num("rms_norm_eps", 1e-6)),
            ropeTheta: Float(rope.theta),
            maxSeqLen: try int("max_position_embeddings", 2048),
            tiedEmbeddings: (obj["tie_word_embeddings"] as? Bool) ?? false, ropeScaling: rope.scaling)
        // Mistral's sliding window: attention reaches back at most `sliding_window` positions. Up to that many
        // positions it is full causal attention, which is what irm computes, so the context is capped there.
        if let w = obj["sliding_window"], !(w is NSNull) {
            let window = try int("sliding_window")
            guard window > 0 else { throw FileError(path, "'sliding_window' must be positive") }
            maxSeqLen = min(maxSeqLen, window)
        }
        try validate(file: path)
    }
}

// MARK: - Hugging Face rotary settings and the audit of config.json

extension LlamaConfig {
    /// θ and the scaling from either spelling of config.json: `rope_theta` + `rope_scaling` (transformers 4) or
    /// `rope_parameters` {rope_type, rope_theta, …} (transformers 5). A type other than default, llama3 or linear is
    /// refused in one line naming it.
    static func hfRope(_ obj: [String: Any], file path: String) throws -> (theta: Double, scaling: RopeScaling?) {
        func number(_ d: [String: Any], _ k: String, _ where_: String) throws -> Double {
            guard let n = d[k] as? NSNumber, n.doubleValue.isFinite else {
                throw FileError(path, "\(where_) needs a number '\(k)'")
            }
            return n.doubleValue
        }
        var theta = (obj["rope_theta"] as? NSNumber)?.doubleValue
        var params: [String: Any]? = nil, where_ = "rope_scaling"
        if let rp = obj["rope_parameters"], !(rp is NSNull) {
            guard let d = rp as? [String: Any] else { throw FileError(path, "'rope_parameters' must be an object") }
            // Per-layer-type parameters ({"full_attention": {...}, "sliding_attention": {...}}) are other models'.
            guard d["rope_type"] != nil || d["rope_theta"] != nil else {
                throw FileError(
                    path,
                    "'rope_parameters' per attention type (\(d.keys.sorted().joined(separator: ", "))) is not supported"
                )
            }
            if d["rope_theta"] != nil {
                let t = try number(d, "rope_theta", "rope_parameters")
                if let top = theta, top != t {
                    throw FileError(path, "rope_theta \(top) and rope_parameters.rope_theta \(t) disagree")
                }
                theta = t
            }
            params = d; where_ = "rope_parameters"
        }
        if let rs = obj["rope_scaling"], !(rs is NSNull) {
            guard let d = rs as? [String: Any] else { throw FileError(path, "'rope_scaling' must be an object") }
            if let p = params {
                // Both spellings: they must name the same scaling.
                guard
                    NSDictionary(dictionary: p.filter { $0.key != "rope_theta" }).isEqual(
                        to: d.filter { $0.key != "rope_theta" })
                else {
                    throw FileError(path, "'rope_scaling' and 'rope_parameters' disagree")
                }
            } else {
                params = d
            }
        }
        let base = theta ?? 10000
        guard base.isFinite, base > 0 else {
            throw FileError(path, "rope_theta \(base) must be a finite number > 0")
        }
        guard let p = params else { return (base, nil) }
        guard let type = (p["rope_type"] ?? p["type"]) as? String else {
            if where_ == "rope_parameters" { return (base, nil) }
            throw FileError(path, "\(where_) has no 'rope_type'")
        }
        if let prf = p["partial_rotary_factor"] as? NSNumber, prf.doubleValue != 1 {
            throw FileError(path, "partial_rotary_factor \(prf) is not supported")
        }
        switch type {
        case "default":
            return (base, nil)
        case "linear":
            let f = try number(p, "factor", where_)
            return (base, f == 1 ? nil : .linear(factor: f))
        case "llama3":
            let L = try number(p, "original_max_position_embeddings", where_)
            guard let l = Int(exactly: L), l > 0 else {
                throw FileError(path, "\(where_).original_max_position_embeddings must be a positive integer")
            }
            if let af = p["attention_factor"] as? NSNumber, af.doubleValue != 1 {
                throw FileError(path, "\(where_).attention_factor \(af) is not supported")
            }
            return (
                base,
                .llama3(
                    factor: try number(p, "factor", where_), lowFreqFactor: try number(p, "low_freq_factor", where_),
                    highFreqFactor: try number(p, "high_freq_factor", where_), originalContext: l)
            )
        default:
            throw FileError(path, "rope_type '\(type)' is not supported (default, linear and llama3 are)")
        }
    }

    /// Settings of config.json that change the computation in ways irm does not implement: refused, never ignored.
    static func refuseUnsupportedHF(_ obj: [String: Any], file path: String) throws {
        if let act = obj["hidden_act"] as? String, act != "silu" {
            throw FileError(path, "hidden_act '\(act)' is not supported (the Llama MLP is SiLU-gated)")
        }
        for key in ["attention_bias", "mlp_bias"] where (obj[key] as? Bool) == true {
            throw FileError(path, "'\(key)': true is not supported (Llama layers have no biases)")
        }
        if let n = obj["num_local_experts"] as? NSNumber, n.intValue > 0 {
            throw FileError(path, "num_local_experts \(n): mixture-of-experts models are not supported")
        }
        for key in [
            "attention_multiplier", "embedding_multiplier", "residual_multiplier", "logits_scaling",
            "attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar", "partial_rotary_factor"
        ]
        where obj[key] != nil && !(obj[key] is NSNull) {
            if key == "partial_rotary_factor", (obj[key] as? NSNumber)?.doubleValue == 1 { continue }
            throw FileError(path, "'\(key)' changes the computation and is not supported")
        }
        if let interleaved = obj["rope_interleaved"] as? Bool, interleaved {
            throw FileError(path, "'rope_interleaved': true is not supported (Hugging Face Llama rotates halves)")
        }
    }
}
