// Random-weight model *files* of any shape, written as users download real ones, streamed row block by row block
// so that a 13 GB Llama-2-7B never sits in memory: a Hugging Face folder (config.json, fp16 safetensors shards
// cut as `save_pretrained` cuts them, the index) and a GGUF (any type, or Q4_K_M's mix of Q4_K and Q6_K).
// For `make check-7b` (the real shape without the real weights) and for the tests of the readers at small shapes.
//
// Both files hold the same model: every weight row's values come from a seed of (tensor, Meta row), so the HF
// folder (q/k rows in rotate_half order) and the GGUF (Meta order) agree exactly when both are fp16.
import Foundation
import Numerics
import ModelIO

/// A tensor of the model: its values are uniform in ±scale (norm gains: 1 ± 0.1), rounded to fp16, row by row.
private struct RandomTensor {
    let name: String, rows: Int, cols: Int, seed: UInt64, scale: Float
    let isNorm: Bool
    /// Stored row r holds the values of Meta row `sourceRow(r)` (q/k in the HF layout).
    let sourceRow: @Sendable (Int) -> Int

    func values(row: Int, into out: UnsafeMutablePointer<Float>) {
        var rng = Rng(seed: seed &+ UInt64(sourceRow(row)) &* 0x9E37_79B9_7F4A_7C15)
        // Values an fp16 checkpoint can hold (Meta's are fp16), so that the fp16 shards and a GGUF's f32 norms agree.
        if isNorm { for c in 0..<cols { out[c] = Float(Float16(1 + (rng.uniform() - 0.5) * 0.2)) }; return }
        for c in 0..<cols { out[c] = Float(Float16((rng.uniform() * 2 - 1) * scale)) }
    }

    /// The tensor's bytes stored as `type`, handed to `write` in blocks of rows made in parallel.
    func produce(_ type: WeightType, _ write: (UnsafeRawBufferPointer) throws -> Void) throws {
        let rowBytes = type.rowBytes(cols), block = max(1, min(rows, (32 << 20) / max(1, rowBytes)))
        let buf = ByteBuffer(byteCount: block * rowBytes)
        var r0 = 0
        while r0 < rows {
            let n = min(block, rows - r0), start = r0
            let tasks = min(n, 4 * max(1, numThreads))
            parallelFor(tasks) { task in
                var v = [Float](repeating: 0, count: cols)
                v.withUnsafeMutableBufferPointer { vb in
                    let v = vb.baseAddress!
                    for i in task * n / tasks..<(task + 1) * n / tasks {
                        values(row: start + i, into: v)
                        let dst = buf.ptr + i * rowBytes
                        switch type {
                        case .f32: dst.copyMemory(from: v, byteCount: cols * 4)
                        case .f16:
                            for c in 0..<cols {
                                dst.storeBytes(of: Float16(v[c]).bitPattern, toByteOffset: 2 * c, as: UInt16.self)
                            }
                        case .bf16:
                            for c in 0..<cols {
                                dst.storeBytes(of: floatToBF16(v[c]), toByteOffset: 2 * c, as: UInt16.self)
                            }
                        default: quantizeBlocks(type.blockFormat!, v, dst, cols)
                        }
                    }
                }
            }
            try write(UnsafeRawBufferPointer(start: buf.ptr, count: n * rowBytes))
            r0 += n
        }
    }
}

/// How the GGUF's matrices are stored: one type for all, or llama.cpp's Q4_K_M mix.
public enum RandomGGUFScheme: Sendable {
    case uniform(WeightType)
    /// Q4_K everywhere but `output.weight` (Q6_K) and attn_v / ffn_down in the layers llama.cpp's
    /// `use_more_bits` picks (the first and last eighth, and every third between): Q6_K.
    case q4_K_M

    func type(_ t: LayerTensor?, layer: Int, nLayers n: Int, isOutput: Bool) -> WeightType {
        switch self {
        case .uniform(let w): return w
        case .q4_K_M:
            if isOutput { return .q6_K }
            let moreBits = layer < n / 8 || layer >= 7 * n / 8 || (layer - n / 8) % 3 == 2
            return (t == .v || t == .down) && moreBits ? .q6_K : .q4_K
        }
    }
    /// GGUF `general.file_type` (llama_ftype).
    var fileType: UInt32 {
        switch self {
        case .q4_K_M: 15
        case .uniform(let w):
            switch w {
            case .f32: 0;
            case .f16: 1;
            case .q4_0: 2;
            case .q4_1: 3;
            case .q8_0: 7;
            case .q4_K: 14
            case .q5_K: 16;
            case .q6_K: 18;
            case .bf16: 32
            }
        }
    }
}

extension LlamaConfig {
    /// The model's tensors in Hugging Face's state-dict order (what `save_pretrained` shards in).
    fileprivate func randomTensors(_ names: TensorNames, seed: UInt64, hfLayout: Bool) -> [(
        RandomTensor, LayerTensor?, Int
    )] {
        func seedOf(_ kind: Int, _ layer: Int) -> UInt64 {
            seed &* 1_000_003 &+ UInt64(kind * 4096 + layer) &* 0xD1B5_4A32_D192_ED03
        }
        let identity: @Sendable (Int) -> Int = { $0 }
        func headOrder(_ heads: Int, _ rows: Int) -> @Sendable (Int) -> Int {
            guard hfLayout else { return identity }
            let hd = rows / heads, half = hd / 2
            return { r in
                let h = r / hd, q = r % hd; return h * hd + 2 * (q % half) + q / half
            }
        }
        func matrix(
            _ name: String, _ rows: Int, _ cols: Int, _ kind: Int, _ layer: Int, scale: Float? = nil,
            order: @escaping @Sendable (Int) -> Int = { $0 }
        ) -> RandomTensor {
            RandomTensor(
                name: name, rows: rows, cols: cols, seed: seedOf(kind, layer),
                scale: scale ?? 1 / Float(cols).squareRoot(), isNorm: false, sourceRow: order)
        }
        func norm(_ name: String, _ kind: Int, _ layer: Int) -> RandomTensor {
            RandomTensor(
                name: name, rows: 1, cols: dim, seed: seedOf(kind, layer), scale: 0, isNorm: true, sourceRow: identity)
        }
        var ts: [(RandomTensor, LayerTensor?, Int)] = [
            (matrix(names.embedding, vocabSize, dim, 0, 0, scale: 1), nil, -1)
        ]
        for l in 0..<nLayers {
            ts += [
                (matrix(names.layer(l, .q), qDim, dim, 1, l, order: headOrder(nHeads, qDim)), .q, l),
                (matrix(names.layer(l, .k), kvDim, dim, 2, l, order: headOrder(nKVHeads, kvDim)), .k, l),
                (matrix(names.layer(l, .v), kvDim, dim, 3, l), .v, l),
                (matrix(names.layer(l, .o), dim, qDim, 4, l), .o, l),
                (matrix(names.layer(l, .gate), hiddenDim, dim, 5, l), .gate, l),
                (matrix(names.layer(l, .up), hiddenDim, dim, 6, l), .up, l),
                (matrix(names.layer(l, .down), dim, hiddenDim, 7, l), .down, l),
                (norm(names.layer(l, .attnNorm), 8, l), .attnNorm, l),
                (norm(names.layer(l, .ffnNorm), 9, l), .ffnNorm, l)
            ]
        }
        ts.append((norm(names.outputNorm, 10, 0), nil, -1))
        if !tiedEmbeddings { ts.append((matrix(names.output, vocabSize, dim, 11, 0), nil, -1)) }
        return ts
    }

    /// Meta's published config.json for this shape (its keys that do not change the computation as Llama 2's
    /// files have them; `hfExtra` adds or replaces keys).
    public func huggingFaceConfigJSON(hfExtra: [String: Any] = [:], file: String) throws -> Data {
        var extra: [String: Any] = [
            "bos_token_id": 1, "eos_token_id": 2, "initializer_range": 0.02, "pretraining_tp": 1,
            "torch_dtype": "float16", "use_cache": true
        ]
        for (k, v) in hfExtra { extra[k] = v }
        return try encodeJSONObject(try huggingFaceConfig(extra: extra, file: file))
    }
}

/// A Hugging Face folder of random fp16 weights: config.json, the safetensors shards cut as `save_pretrained`
/// cuts them (tensors in state-dict order, a new shard when the next would pass `maxShardBytes`; its default
/// is transformers' 10 GB), model.safetensors.index.json, and `tokenizerModel` copied in when given.
/// Returns the shard files with their byte sizes.
@discardableResult
public func writeRandomHuggingFace(
    _ c: LlamaConfig, folder: String, seed: UInt64, maxShardBytes: Int = 10_000_000_000,
    tokenizerModel: String? = nil, chatTemplate: String? = nil, hfExtra: [String: Any] = [:],
    progress: (String) -> Void = { _ in }
) throws -> [(file: String, bytes: Int)] {
    let fm = FileManager.default
    try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var shards: [[RandomTensor]] = [[]], size = 0
    for (t, _, _) in c.randomTensors(hfNames, seed: seed, hfLayout: true) {
        let bytes = t.rows * t.cols * 2
        if size > 0 && size + bytes > maxShardBytes { shards.append([]); size = 0 }
        shards[shards.count - 1].append(t); size += bytes
    }
    let files =
        shards.count == 1
        ? ["model.safetensors"]
        : (1...shards.count).map { String(format: "model-%05d-of-%05d.safetensors", $0, shards.count) }
    var weightMap: [String: String] = [:], total = 0, written: [(String, Int)] = []
    for (file, tensors) in zip(files, shards) {
        progress("writing \(file) (\(tensors.count) tensors)")
        let path = folder + "/" + file
        try writeSafetensors(
            path: path,
            streamed: tensors.map { t in
                StreamedTensor(
                    name: t.name, type: .f16, shape: t.isNorm ? [t.cols] : [t.rows, t.cols],
                    byteCount: t.rows * t.cols * 2
                ) { write in try t.produce(.f16, write) }
            }, metadata: ["format": "pt"])
        for t in tensors { weightMap[t.name] = file; total += t.rows * t.cols * 2 }
        written.append((file, (try fm.attributesOfItem(atPath: path)[.size] as? Int) ?? 0))
    }
    if shards.count > 1 {
        let index: [String: Any] = ["metadata": ["total_size": total], "weight_map": weightMap]
        try writeFileAtomically(
            try encodeJSONObject(index),
            to: folder + "/model.safetensors.index.json")
    }
    try writeFileAtomically(
        try c.huggingFaceConfigJSON(hfExtra: hfExtra, file: folder + "/config.json"), to: folder + "/config.json")
    if let tok = tokenizerModel {
        // tokenizer.model (sentencepiece) or tokenizer.json (byte-level BPE), under the name transformers reads.
        let name = tok.hasSuffix(".json") ? "tokenizer.json" : "tokenizer.model"
        try writeFileAtomically(try Data(contentsOf: URL(fileURLWithPath: tok)), to: folder + "/" + name)
    }
    if let t = chatTemplate {
        try writeFileAtomically(try encodeJSONObject(["chat_template": t]), to: folder + "/tokenizer_config.json")
    }
    return written
}

/// A GGUF of random weights with llama.* metadata (Meta's q/k order), `scheme`'s types for the matrices, fp32
/// norms, and `extraMetadata` (the tokenizer: `ggufTokenizerMetadata`). Same values as writeRandomHuggingFace.
public func writeRandomGGUF(
    _ c: LlamaConfig, path: String, seed: UInt64, scheme: RandomGGUFScheme,
    name: String = "random", extraMetadata: [(String, GGUFValue)] = []
) throws {
    let g = try GGUFWriter(path: path)
    let meta = c.ggufMetadata
    try g.set(meta[0].0, meta[0].1)  // general.architecture first, as llama.cpp writes it
    try g.set("general.name", .string(name))
    try g.set("general.file_type", .uint32(scheme.fileType))
    for (k, v) in meta.dropFirst() + extraMetadata { try g.set(k, v) }
    if let d = c.ggufRopeDivisors { try g.addTensor(name: ggufRopeFreqsTensor, floats: d, shape: [d.count]) }
    for (t, kind, layer) in c.randomTensors(ggufNames, seed: seed, hfLayout: false) {
        let type: WeightType =
            t.isNorm
            ? .f32
            : scheme.type(kind, layer: layer, nLayers: c.nLayers, isOutput: t.name == ggufNames.output)
        guard t.cols % type.blockLayout.elements == 0 else {
            throw FileError(path, "tensor '\(t.name)': rows of \(t.cols) are not whole \(type) blocks")
        }
        try g.addTensor(
            name: t.name, type: TensorType(type), shape: t.isNorm ? [t.cols] : [t.rows, t.cols],
            byteCount: t.rows * type.rowBytes(t.cols)
        ) { write in try t.produce(type, write) }
    }
    try g.write()
}
