// llama2.c checkpoint (`.bin`, the legacy "version 0" export that run.c reads).
//
// Layout (karpathy/llama2.c run.c: read_checkpoint + memory_map_weights), little-endian:
//   int32 header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//     (vocab_size < 0 means the classifier is NOT shared with the token embedding: a final wcls follows)
//   then fp32 arrays, each row-major [out, in]:
//     token_embedding [vocab, dim]
//     rms_att   [L, dim]
//     wq        [L, dim, dim]           (n_heads * head_size == dim)
//     wk        [L, kv_dim, dim]        kv_dim = dim * n_kv_heads / n_heads
//     wv        [L, kv_dim, dim]
//     wo        [L, dim, dim]
//     rms_ffn   [L, dim]
//     w1        [L, hidden, dim]        gate
//     w2        [L, dim, hidden]        down
//     w3        [L, hidden, dim]        up
//     rms_final [dim]
//     freq_cis_real, freq_cis_imag [seq_len, head_size/2]   (unused: RoPE is recomputed)
//     wcls      [vocab, dim]            only when vocab_size < 0
// Tensors are exposed under GGUF names so the model loader treats both formats alike. llama2.c's
// export keeps Meta's interleaved RoPE pairs (as GGUF does), so wq/wk need no permutation.
import Numerics

public struct Llama2cCheckpoint: @unchecked Sendable {
    public let path: String
    public let dim: Int
    public let hiddenDim: Int
    public let nLayers: Int
    public let nHeads: Int
    public let nKVHeads: Int
    public let vocabSize: Int
    public let seqLen: Int
    /// true when the output classifier is the token embedding (positive vocab_size in the header).
    public let sharedClassifier: Bool
    /// GGUF-named zero-copy F32 views into the mapping, shapes outermost first.
    public let tensors: [String: TensorInfo]
    public let file: MappedFile

    public var headSize: Int { dim / nHeads }
    public var kvDim: Int { dim * nKVHeads / nHeads }

    public init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        let path = file.path
        self.file = file
        self.path = path

        // ---- header
        guard file.size >= 28 else {
            throw FileError(path, "not a llama2.c checkpoint: \(file.size) bytes, shorter than the 28-byte header")
        }
        let h = (0..<7).map {
            Int(Int32(littleEndian: file.base.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)))
        }
        // llama2.c's newer export (export.py version >= 1) starts with the magic "ak42".
        if h[0] == 0x616b_3432 {
            throw FileError(
                path, "llama2.c export version \(h[1]) is not supported (only the legacy version 0 .bin)")
        }
        let (dim, hidden, nLayers, nHeads, nKV, vocabSigned, seqLen) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6])
        let vocab = abs(vocabSigned)
        // Sizes up to 2^20 are far beyond any llama2.c model and keep every product below exact limits.
        let limit = 1 << 20
        guard [dim, hidden, nLayers, nHeads, nKV, vocab, seqLen].allSatisfy({ $0 > 0 && $0 <= limit }) else {
            throw FileError(path, "not a llama2.c checkpoint: implausible header \(h)")
        }
        guard dim % nHeads == 0, nHeads % nKV == 0, (dim / nHeads) % 2 == 0 else {
            throw FileError(
                path,
                "inconsistent header: dim \(dim), \(nHeads) heads, \(nKV) KV heads "
                    + "(dim must split into heads of even size, heads into KV groups)")
        }
        self.dim = dim; self.hiddenDim = hidden; self.nLayers = nLayers; self.nHeads = nHeads
        self.nKVHeads = nKV; self.vocabSize = vocab; self.seqLen = seqLen; self.sharedClassifier = vocabSigned > 0
        let kvDim = dim * nKV / nHeads, headSize = dim / nHeads

        // ---- the file must be exactly as long as the header says: checked before the layout is built, since a
        // header may claim a million layers
        // Each dimension is at most 2^20, so a layer's floats stay below 2^44; the rest is checked.
        let layerFloats = 2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * hidden * dim
        let arrays = [
            checkedProduct([vocab, dim]), checkedProduct([nLayers, layerFloats]), dim, 2 * seqLen * (headSize / 2),
            sharedClassifier ? 0 : checkedProduct([vocab, dim])
        ]
        guard let floats = checkedSum(arrays.compactMap { $0 }), !arrays.contains(nil),
            let expected = checkedProduct([floats, 4]).flatMap({ checkedSum([$0, 28]) })
        else {
            throw FileError(path, "not a llama2.c checkpoint: implausible header \(h)")
        }
        guard file.size == expected else {
            throw FileError(
                path,
                "size \(file.size) bytes does not match its header (\(expected) bytes expected for "
                    + "dim \(dim), hidden \(hidden), \(nLayers) layers, vocab \(vocabSigned), seq \(seqLen))"
                    + (file.size < expected ? ": the file is truncated" : ""))
        }

        // ---- layout: (name, shape) in file order; "" marks skipped arrays
        var layout: [(name: String, shape: [Int])] = [("token_embd.weight", [vocab, dim])]
        func perLayer(_ suffix: String, _ shape: [Int]) {
            for l in 0..<nLayers { layout.append(("blk.\(l).\(suffix)", shape)) }
        }
        perLayer("attn_norm.weight", [dim])
        perLayer("attn_q.weight", [dim, dim])
        perLayer("attn_k.weight", [kvDim, dim])
        perLayer("attn_v.weight", [kvDim, dim])
        perLayer("attn_output.weight", [dim, dim])
        perLayer("ffn_norm.weight", [dim])
        perLayer("ffn_gate.weight", [hidden, dim])  // w1
        perLayer("ffn_down.weight", [dim, hidden])  // w2
        perLayer("ffn_up.weight", [hidden, dim])  // w3
        layout.append(("output_norm.weight", [dim]))
        layout.append(("", [seqLen, headSize / 2]))  // freq_cis_real
        layout.append(("", [seqLen, headSize / 2]))  // freq_cis_imag
        if !sharedClassifier { layout.append(("output.weight", [vocab, dim])) }

        var ts: [String: TensorInfo] = [:]
        var offset = 28
        for (name, shape) in layout {
            let bytes = shape.reduce(1, *) * 4
            if !name.isEmpty {
                ts[name] = TensorInfo(
                    name: name, type: .f32, shape: shape, data: file.base + offset,
                    byteCount: bytes, owner: file, file: path)
            }
            offset += bytes
        }
        tensors = ts
    }

    public func tensor(_ name: String) throws -> TensorInfo {
        guard let t = tensors[name] else { throw FileError(path, "missing tensor '\(name)'") }
        return t
    }
}
