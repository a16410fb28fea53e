// The shape of a Llama-family model: everything the forward pass needs to know besides the weights.
import Foundation
import ModelIO

public struct LlamaConfig: Sendable, Equatable, Codable {
    public var dim: Int            // hidden size (residual stream width)
    public var hiddenDim: Int      // MLP intermediate size
    public var nLayers: Int
    public var nHeads: Int
    public var nKVHeads: Int       // < nHeads for grouped-query attention
    public var headDim: Int
    public var vocabSize: Int
    public var normEps: Float
    public var ropeTheta: Float
    public var maxSeqLen: Int
    public var tiedEmbeddings: Bool

    public init(dim: Int, hiddenDim: Int, nLayers: Int, nHeads: Int, nKVHeads: Int, headDim: Int? = nil,
                vocabSize: Int, normEps: Float = 1e-5, ropeTheta: Float = 10000, maxSeqLen: Int = 2048,
                tiedEmbeddings: Bool = false) {
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
    public static let llama2_7b = LlamaConfig(dim: 4096, hiddenDim: 11008, nLayers: 32, nHeads: 32, nKVHeads: 32,
                                              vocabSize: 32000, normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 4096)
    /// SmolLM2-135M: GQA 9/3, tied embeddings, θ 1e5.
    public static let smolLM2_135M = LlamaConfig(dim: 576, hiddenDim: 1536, nLayers: 30, nHeads: 9, nKVHeads: 3,
                                                 vocabSize: 49152, normEps: 1e-5, ropeTheta: 100000, maxSeqLen: 8192,
                                                 tiedEmbeddings: true)

    /// Upper bounds on each dimension, far above any Llama-family model (Llama-3-405B: hidden 16384, MLP 53248,
    /// 126 layers, 128 heads; Gemma: vocab 256k). They keep every size derived from a config (parameter
    /// counts, memory plans, cache sizes) far from Int overflow, whatever a file says.
    public static let maxDim = 1 << 18, maxHiddenDim = 1 << 20, maxLayers = 1 << 12, maxHeads = 1 << 12
    public static let maxHeadDim = 1 << 12, maxVocabSize = 1 << 22, maxContext = 1 << 24

    var limits: [(name: String, value: Int, max: Int)] {
        [("hidden size", dim, Self.maxDim), ("MLP size", hiddenDim, Self.maxHiddenDim), ("layer count", nLayers, Self.maxLayers),
         ("attention heads", nHeads, Self.maxHeads), ("KV heads", nKVHeads, Self.maxHeads), ("head dimension", headDim, Self.maxHeadDim),
         ("vocabulary size", vocabSize, Self.maxVocabSize), ("context length", maxSeqLen, Self.maxContext)]
    }

    public func validate(file: String) throws {
        func bad(_ m: String) -> ModelIOError { ModelIOError(file, m) }
        for l in limits {
            let v = l.value
            guard v > 0 else { throw bad("\(l.name) \(v) must be positive") }
            guard v <= l.max else { throw bad("\(l.name) \(v) is implausibly large (at most \(l.max) supported)") }
        }
        guard nHeads % nKVHeads == 0 else { throw bad("\(nHeads) attention heads is not a multiple of \(nKVHeads) KV heads") }
        guard headDim % 2 == 0 else { throw bad("head dimension \(headDim) must be even for RoPE") }
        guard normEps.isFinite, normEps >= 0 else { throw bad("RMS norm epsilon \(normEps) must be a finite number >= 0") }
        guard ropeTheta.isFinite, ropeTheta > 0 else { throw bad("RoPE base \(ropeTheta) must be a finite number > 0") }
    }
}

// MARK: - From GGUF metadata

extension LlamaConfig {
    public init(gguf g: GGUFFile) throws {
        let arch = g.metadata["general.architecture"]?.string ?? "llama"
        guard ["llama", "mistral", "granite"].contains(arch) || arch.hasPrefix("llama") else {
            throw ModelIOError(g.path, "architecture '\(arch)' is not a Llama-family model")
        }
        func int(_ k: String) throws -> Int {
            guard let v = g.metadata["\(arch).\(k)"]?.int else { throw ModelIOError(g.path, "missing metadata '\(arch).\(k)'") }
            return v
        }
        let dim = try int("embedding_length"), heads = try int("attention.head_count")
        let emb = try g.tensor("token_embd.weight")
        let vocab = g.metadata["\(arch).vocab_size"]?.int ?? emb.shape[0]
        self.init(dim: dim, hiddenDim: try int("feed_forward_length"), nLayers: try int("block_count"),
                  nHeads: heads, nKVHeads: g.metadata["\(arch).attention.head_count_kv"]?.int ?? heads,
                  headDim: g.metadata["\(arch).attention.key_length"]?.int ?? g.metadata["\(arch).rope.dimension_count"]?.int,
                  vocabSize: vocab,
                  normEps: Float(g.metadata["\(arch).attention.layer_norm_rms_epsilon"]?.double ?? 1e-5),
                  ropeTheta: Float(g.metadata["\(arch).rope.freq_base"]?.double ?? 10000),
                  maxSeqLen: g.metadata["\(arch).context_length"]?.int ?? 2048,
                  tiedEmbeddings: g.tensors["output.weight"] == nil)
        try validate(file: g.path)
    }
}

// MARK: - From a llama2.c checkpoint header

extension LlamaConfig {
    /// llama2.c's run.c fixes ε = 1e-5 and RoPE θ = 10000; the header gives the rest.
    public init(llama2c ck: Llama2cCheckpoint) throws {
        self.init(dim: ck.dim, hiddenDim: ck.hiddenDim, nLayers: ck.nLayers, nHeads: ck.nHeads, nKVHeads: ck.nKVHeads,
                  vocabSize: ck.vocabSize, normEps: 1e-5, ropeTheta: 10000, maxSeqLen: ck.seqLen,
                  tiedEmbeddings: ck.sharedClassifier)
        try validate(file: ck.path)
    }
}

// MARK: - From a Hugging Face config.json

extension LlamaConfig {
    public init(hfConfigAt path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelIOError(path, "no such file") }
        try self.init(hfConfigJSON: data, file: path)
    }

    /// `file` names the source in errors.
    public init(hfConfigJSON data: Data, file path: String) throws {
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelIOError(path, "not a JSON object")
        }
        func int(_ k: String, _ def: Int? = nil) throws -> Int {
            guard let v = obj[k] else {
                if let d = def { return d }
                throw ModelIOError(path, "missing '\(k)'")
            }
            // Int(exactly:) refuses fractions and values beyond Int instead of wrapping them.
            guard let n = v as? NSNumber, let i = Int(exactly: n.doubleValue) else {
                throw ModelIOError(path, "'\(k)' must be an integer")
            }
            return i
        }
        func num(_ k: String, _ def: Double) -> Double { (obj[k] as? NSNumber)?.doubleValue ?? def }
        if let mt = obj["model_type"] as? String, !["llama", "mistral"].contains(mt) {
            throw ModelIOError(path, "model_type '\(mt)' is not a Llama-family model")
        }
        if let rs = obj["rope_scaling"], !(rs is NSNull) {
            throw ModelIOError(path, "rope_scaling is not supported")
        }
        let heads = try int("num_attention_heads")
        self.init(dim: try int("hidden_size"), hiddenDim: try int("intermediate_size"),
                  nLayers: try int("num_hidden_layers"), nHeads: heads,
                  nKVHeads: try int("num_key_value_heads", heads),
                  headDim: obj["head_dim"] == nil ? nil : try int("head_dim"),
                  vocabSize: try int("vocab_size"), normEps: Float(num("rms_norm_eps", 1e-6)),
                  ropeTheta: Float(num("rope_theta", 10000)),
                  maxSeqLen: try int("max_position_embeddings", 2048),
                  tiedEmbeddings: (obj["tie_word_embeddings"] as? Bool) ?? false)
        try validate(file: path)
    }
}
