// Loading a model from any supported source into LlamaConfig + LlamaWeights:
//   * GGUF (llama.cpp): tensor names blk.N.attn_q.weight …; Q/K already in RoPE's interleaved-pair layout.
//   * Hugging Face folder: config.json + model.safetensors (or shards); q_proj/k_proj are permuted for
//     HF's rotate_half RoPE and are un-permuted here so one RoPE routine (interleaved pairs) serves all.
//   * llama2.c .bin: Meta's layout, exposed by Llama2cCheckpoint under GGUF names.
import Foundation
import Numerics
import ModelIO

public enum ModelFormat: String, Sendable { case gguf, huggingFace = "hf", llama2c }

/// How to store the weights in memory. `auto` keeps every tensor as it is stored — fp32/fp16/bf16 and the
/// ggml block formats the kernels take (Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K), zero-copy from the mapped file —
/// and turns other quantized types (Q5_0, Q5_1) into fp16. `f32`/`f16`/`bf16` widen or round everything.
public enum WeightStorage: String, Sendable, CaseIterable { case auto, f32, f16, bf16 }

public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let weights: LlamaWeights
    public let path: String
    public let format: ModelFormat
    /// Storage types of the source tensors, e.g. ["Q4_1": 210, "Q8_0": 1, "F32": 61].
    public let sourceTypes: [String: Int]
    /// GGUF metadata (empty for other formats); the tokenizer and chat template are read from it.
    public let ggufMetadata: [String: GGUFValue]

    public init(
        config: LlamaConfig, weights: LlamaWeights, path: String = "", format: ModelFormat = .gguf,
        sourceTypes: [String: Int] = [:], ggufMetadata: [String: GGUFValue] = [:]
    ) {
        self.config = config; self.weights = weights; self.path = path; self.format = format
        self.sourceTypes = sourceTypes; self.ggufMetadata = ggufMetadata
    }

    public static func detectFormat(_ path: String) throws -> ModelFormat {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FileError(path, "no such file or directory")
        }
        if isDir.boolValue { return .huggingFace }
        if let h = FileHandle(forReadingAtPath: path) {
            defer { try? h.close() }
            if h.readData(ofLength: 4) == Data("GGUF".utf8) { return .gguf }
        }
        if path.hasSuffix(".gguf") { return .gguf }
        return .llama2c
    }

    public static func load(path: String, storage: WeightStorage = .auto) throws -> LlamaModel {
        switch try detectFormat(path) {
        case .gguf: return try load(gguf: GGUFFile(path: path), storage: storage)
        case .huggingFace:
            return try load(
                config: LlamaConfig(hfConfigAt: path + "/config.json"), tensors: loadSafetensorsFolder(path),
                format: .huggingFace, path: path, storage: storage)
        case .llama2c: return try load(llama2c: Llama2cCheckpoint(path: path), storage: storage)
        }
    }

    public static func load(gguf g: GGUFFile, storage: WeightStorage = .auto) throws -> LlamaModel {
        try load(
            config: LlamaConfig(gguf: g), tensors: g.tensors, format: .gguf, path: g.path, storage: storage,
            ggufMetadata: g.metadata)
    }

    public static func load(llama2c ck: Llama2cCheckpoint, storage: WeightStorage = .auto) throws -> LlamaModel {
        try load(
            config: LlamaConfig(llama2c: ck), tensors: ck.tensors, format: .llama2c, path: ck.path, storage: storage)
    }

    /// The weights `config` names, taken from `tensors` (each checked against the shape the config implies);
    /// Hugging Face's q/k rows are un-permuted.
    public static func load(
        config cfg: LlamaConfig, tensors: [String: TensorInfo], format: ModelFormat, path: String,
        storage: WeightStorage = .auto, ggufMetadata: [String: GGUFValue] = [:]
    ) throws -> LlamaModel {
        try cfg.validate(file: path)
        let hf = format == .huggingFace
        let w = try buildWeights(
            cfg, file: path, storage: storage, tensors: tensors, names: hf ? hfNames : ggufNames,
            unpermute: hf)
        return LlamaModel(
            config: cfg, weights: w, path: path, format: format, sourceTypes: typeCounts(tensors),
            ggufMetadata: ggufMetadata)
    }

    static func typeCounts(_ ts: [String: TensorInfo]) -> [String: Int] {
        var c: [String: Int] = [:]
        for t in ts.values { c[t.type.description, default: 0] += 1 }
        return c
    }
}

// MARK: - Tensor names

struct TensorNames: Sendable {
    let embedding: String, outputNorm: String, output: String
    let layer: @Sendable (Int, LayerTensor) -> String
}
enum LayerTensor { case attnNorm, q, k, v, o, ffnNorm, gate, up, down }

let ggufNames = TensorNames(embedding: "token_embd.weight", outputNorm: "output_norm.weight", output: "output.weight") {
    i, t in
    let s: String
    switch t {
    case .attnNorm: s = "attn_norm";
    case .q: s = "attn_q";
    case .k: s = "attn_k";
    case .v: s = "attn_v"
    case .o: s = "attn_output";
    case .ffnNorm: s = "ffn_norm";
    case .gate: s = "ffn_gate";
    case .up: s = "ffn_up"
    case .down: s = "ffn_down"
    }
    return "blk.\(i).\(s).weight"
}

let hfNames = TensorNames(
    embedding: "model.embed_tokens.weight", outputNorm: "model.norm.weight", output: "lm_head.weight"
) { i, t in
    let s: String
    switch t {
    case .attnNorm: s = "input_layernorm";
    case .q: s = "self_attn.q_proj";
    case .k: s = "self_attn.k_proj"
    case .v: s = "self_attn.v_proj";
    case .o: s = "self_attn.o_proj";
    case .ffnNorm: s = "post_attention_layernorm"
    case .gate: s = "mlp.gate_proj";
    case .up: s = "mlp.up_proj";
    case .down: s = "mlp.down_proj"
    }
    return "model.layers.\(i).\(s).weight"
}

// MARK: - Building the weights

func resolveStorage(_ s: WeightStorage, _ t: TensorInfo) -> WeightType {
    switch s {
    case .f32: return .f32
    case .f16: return .f16
    case .bf16: return .bf16
    case .auto: return t.type.weightType ?? .f16
    }
}

func buildWeights(
    _ c: LlamaConfig, file: String, storage: WeightStorage, tensors: [String: TensorInfo],
    names: TensorNames, unpermute: Bool
) throws -> LlamaWeights {
    func get(_ name: String, _ shape: [Int]) throws -> TensorInfo {
        guard let t = tensors[name] else { throw FileError(file, "missing tensor '\(name)'") }
        guard t.shape == shape else {
            throw FileError(file, "tensor '\(name)' has shape \(t.shape), expected \(shape) from the config")
        }
        return t
    }
    func matrix(_ name: String, _ rows: Int, _ cols: Int, heads: Int = 0) throws -> Weight {
        let t = try get(name, [rows, cols])
        let w = try makeWeight(t, storage: resolveStorage(storage, t))
        guard heads > 0 else { return w }
        // Hugging Face q/k rows reordered into a copy: the mapped original need not stay resident.
        let meta = unpermuteRotateHalf(w, heads: heads)
        (w.owner as? MappedFile)?.releasePages(w.base, w.byteCount)
        return meta
    }
    func vector(_ name: String, _ n: Int) throws -> FloatBuffer {
        try dequantize(get(name, [n]))
    }
    var layers: [LayerWeights] = []
    for i in 0..<c.nLayers {
        layers.append(
            LayerWeights(
                attnNorm: try vector(names.layer(i, .attnNorm), c.dim),
                wq: try matrix(names.layer(i, .q), c.qDim, c.dim, heads: unpermute ? c.nHeads : 0),
                wk: try matrix(names.layer(i, .k), c.kvDim, c.dim, heads: unpermute ? c.nKVHeads : 0),
                wv: try matrix(names.layer(i, .v), c.kvDim, c.dim),
                wo: try matrix(names.layer(i, .o), c.dim, c.qDim),
                ffnNorm: try vector(names.layer(i, .ffnNorm), c.dim),
                wGate: try matrix(names.layer(i, .gate), c.hiddenDim, c.dim),
                wUp: try matrix(names.layer(i, .up), c.hiddenDim, c.dim),
                wDown: try matrix(names.layer(i, .down), c.dim, c.hiddenDim)))
    }
    let emb = try matrix(names.embedding, c.vocabSize, c.dim)
    let out = c.tiedEmbeddings ? emb : try matrix(names.output, c.vocabSize, c.dim)
    return LlamaWeights(
        tokenEmbedding: emb, layers: layers, outputNorm: try vector(names.outputNorm, c.dim), output: out)
}

/// Hugging Face's conversion permutes each head's rows of q_proj/k_proj so that RoPE can rotate
/// halves (rotate_half) instead of adjacent pairs: HF row j·(hd/2)+i holds Meta row 2i+j.
/// `unpermuteRotateHalf` undoes it (HF → Meta); `permuteRotateHalf` applies it (to write HF test models).
public func unpermuteRotateHalf(_ w: Weight, heads: Int) -> Weight { reorderHeadRows(w, heads: heads, toMeta: true) }
public func permuteRotateHalf(_ w: Weight, heads: Int) -> Weight { reorderHeadRows(w, heads: heads, toMeta: false) }

func reorderHeadRows(_ w: Weight, heads: Int, toMeta: Bool) -> Weight {
    let hd = w.rows / heads, half = hd / 2
    let rowBytes = w.rowBytes
    let out = ByteBuffer(byteCount: w.rows * rowBytes)
    for h in 0..<heads {
        for i in 0..<half {
            for j in 0..<2 {
                let meta = h * hd + 2 * i + j, hf = h * hd + j * half + i
                let (dst, src) = toMeta ? (meta, hf) : (hf, meta)
                (out.ptr + dst * rowBytes).copyMemory(from: w.base + src * rowBytes, byteCount: rowBytes)
            }
        }
    }
    return Weight(rows: w.rows, cols: w.cols, type: w.type, base: UnsafeRawPointer(out.ptr), owner: out)
}

// MARK: - Planning without loading

extension LlamaModel {
    /// The config and the bytes the weights will take in memory with `storage`, from the file headers only
    /// (nothing is dequantized), for the memory plan.
    public static func plan(path: String, storage: WeightStorage = .auto) throws -> (
        config: LlamaConfig, weightBytes: Int
    ) {
        let cfg: LlamaConfig, tensors: [String: TensorInfo]
        switch try detectFormat(path) {
        case .gguf:
            let g = try GGUFFile(path: path)
            cfg = try LlamaConfig(gguf: g); tensors = g.tensors
        case .huggingFace:
            cfg = try LlamaConfig(hfConfigAt: path + "/config.json"); tensors = try loadSafetensorsFolder(path)
        case .llama2c:
            let ck = try Llama2cCheckpoint(path: path)
            cfg = try LlamaConfig(llama2c: ck); tensors = ck.tensors
        }
        var bytes = 0
        for t in tensors.values {
            // Matrices in their storage type (quantized ones as their blocks), vectors as fp32.
            let type = resolveStorage(storage, t)
            bytes += t.shape.count == 2 ? t.shape[0] * type.rowBytes(t.shape[1]) : t.elementCount * 4
        }
        return (cfg, bytes)
    }
}
