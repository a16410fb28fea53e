// The seed corpus (Fuzz/corpus/<target>/): small valid inputs for every target, written by the project's own
// writers where it has them (GGUF, safetensors, IRM, checkpoints, run configs, neuron maps) and by hand for the
// formats it only reads. `scripts/fuzz.sh --seeds` rewrites the committed corpus with this; FuzzRegressionTests
// checks that every seed is accepted, so the seeds keep reaching the deep parts of each parser.
import Foundation
import Numerics
import ModelIO
import Llama
import IRM
import Datasets
import Training
import Analysis

public func writeFuzzSeeds(to dir: String) throws {
    let fm = FileManager.default
    func folder(_ t: FuzzTarget) throws -> String {
        let d = dir + "/" + t.rawValue
        try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
    func put(_ t: FuzzTarget, _ name: String, _ bytes: [UInt8]) throws {
        try writeFileAtomically(try folder(t) + "/" + name, bytes)
    }
    func put(_ t: FuzzTarget, _ name: String, _ text: String) throws { try put(t, name, Array(text.utf8)) }
    func moved(_ t: FuzzTarget, _ name: String, from path: String) throws {
        let to = try folder(t) + "/" + name
        try? fm.removeItem(atPath: to)
        try fm.moveItem(atPath: path, toPath: to)
    }
    let work = dir + "/.work"
    try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
    defer { try? fm.removeItem(atPath: work) }

    // GGUF: a tiny fp32 model with each tokenizer kind in its metadata, and one with quantized tensors.
    let tiny = LlamaModel.random(fuzzHFModel, seed: 1)
    try tiny.writeGGUF(path: work + "/spm.gguf", extraMetadata: spmMetadata)
    try moved(.gguf, "spm-tokenizer.gguf", from: work + "/spm.gguf")
    try tiny.writeGGUF(path: work + "/bpe.gguf", extraMetadata: bpeMetadata)
    try moved(.gguf, "bpe-tokenizer.gguf", from: work + "/bpe.gguf")
    try writeQuantizedGGUF(work + "/q.gguf")
    try moved(.gguf, "quantized.gguf", from: work + "/q.gguf")

    // safetensors: the tiny model as a Hugging Face folder writes it, and 16-bit and empty tensors.
    try tiny.writeHuggingFace(folder: work + "/hf")
    try moved(.safetensors, "model.safetensors", from: work + "/hf/model.safetensors")
    try moved(.hfConfig, "written.json", from: work + "/hf/config.json")
    try writeSafetensors(
        path: work + "/mixed.safetensors",
        tensors: [
            ("half", .f16, [2, 3], [UInt8](repeating: 0x3C, count: 12)),
            ("brain", .bf16, [4], [UInt8](repeating: 0x3F, count: 8)),
            ("empty", .f32, [0, 5], [])
        ], metadata: ["format": "pt", "note": "a \"quoted\"\nline"])
    try moved(.safetensors, "mixed.safetensors", from: work + "/mixed.safetensors")
    try put(
        .hfConfig, "smollm2.json",
        """
        {"architectures": ["LlamaForCausalLM"], "hidden_size": 576, "intermediate_size": 1536, "max_position_embeddings": 8192,
         "model_type": "llama", "num_attention_heads": 9, "num_hidden_layers": 30, "num_key_value_heads": 3,
         "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 100000, "tie_word_embeddings": true, "vocab_size": 49152}
        """)

    // IRM files for fuzzModel: the reference layout at width 1, and a deeper, wider one on one layer.
    try IRMNetwork(config: fuzzIRMConfig, seed: 3).save(path: work + "/a.safetensors", extraMetadata: ["step": "7"])
    try moved(.irm, "width1-depth2.safetensors", from: work + "/a.safetensors")
    var deep = IRMConfig(hidden: 8, layers: [1], widthMultiplier: 2, depth: 3, tapLayer: 1)
    deep.initialization = .zeroOutput
    try IRMNetwork(config: deep, seed: 4).save(path: work + "/b.safetensors")
    try moved(.irm, "width2-depth3.safetensors", from: work + "/b.safetensors")

    // A run folder: config.json and a checkpoint (step 5) as training writes them.
    let run = RunFolder(work + "/run")
    try run.create()
    var config = TrainConfig(
        model: "Models/tiny.gguf", modelSHA256: String(repeating: "0", count: 64), dataset: "anger",
        datasetPath: "Datasets/anger.csv", split: DatasetSplit.make(count: 10, seed: 0),
        irm: fuzzIRMConfig, adam: AdamConfig(), runName: "tiny")
    config.maxSteps = 20; config.evalEvery = 5; config.samplePrompts = ["What is rain?"]
    try run.writeConfig(config)
    try moved(.runConfig, "config.json", from: run.configPath)
    let net = IRMNetwork(config: fuzzIRMConfig, seed: 5)
    let adam = Adam(config: AdamConfig(), count: net.params.count)
    for i in 0..<net.params.count { net.grads[i] = Float(i % 7) - 3 }
    for _ in 0..<5 { adam.update(params: net.params, grads: net.grads, lr: 1e-3) }
    var state = TrainState()
    state.step = 5; state.epoch = 1; state.batchInEpoch = 1; state.bestVal = 2.5; state.rng = Rng(seed: 0).state
    try run.saveCheckpoint(net: net, adam: adam, state: state)
    let optimizer = try fm.contentsOfDirectory(atPath: run.path).first { $0.hasSuffix(".optimizer.safetensors") } ?? "?"
    try moved(.optimizer, "optimizer.safetensors", from: run.path + "/" + optimizer)

    // A neuron map of a random model shaped like fuzzModel.
    let map = NeuronMap.build(
        model: LlamaModel.random(fuzzModel, seed: 6), tokens: (0..<fuzzModel.vocabSize).map { "t\($0)" },
        topK: 3, bottomK: 2, modelName: "random")
    try put(.neuronMap, "random.nmap", [UInt8](map.binaryData()))

    // llama2.c: a shared-classifier and an own-classifier checkpoint, and a 512-piece tokenizer.bin.
    try put(.llama2c, "shared.bin", llama2cCheckpoint(vocab: 16))
    try put(.llama2c, "own-classifier.bin", llama2cCheckpoint(vocab: -16))
    try put(.tokenizerBin, "tok512.bin", llama2cTokenizer())

    // Tokenizers the project reads but never writes.
    try put(.tokenizerJSON, "byte-level.json", byteLevelTokenizerJSON)
    try put(.tokenizerJSON, "sentencepiece.json", sentencePieceTokenizerJSON)
    try put(.tokenizerModel, "bpe.model", sentencePieceModel())

    // Datasets.
    try put(.qaCSV, "quoted.csv", "question,answer\r\n\"What is 2+2?\",4\r\n\"Say \"\"hi\"\"\",\"Hi,\nthere\"\r\n")
    try put(.qaCSV, "index-column.csv", "\u{FEFF},Question,Answer\n0,Why?,Because.\n1,  Where? ,Here\n\n")
    try put(
        .jsonl, "mixed.jsonl",
        """
        {"prompt": "What is rain?", "response": "Water."}
        {"question": "Why?", "answer": "Because.", "id": 3}

        {"text": "i feel great today"}
        """)
    try put(
        .squad, "dev.json",
        """
        {"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "Paris is in France.", "qas": [
          {"question": "Where is Paris?", "id": "a1", "answers": [{"text": "France", "answer_start": 12}], "is_impossible": false},
          {"question": "Where is Atlantis?", "id": "a2", "answers": [], "is_impossible": true}]}]}]}
        """)
    try put(.labelled, "emotions.txt", "i feel happy today;joy\ni am sad; really sad;sadness\n\ni am thrilled;joy\r\n")

    // Text for the tokenizers.
    for (i, t) in probeTexts.enumerated() where !t.isEmpty { try put(.tokenize, "text\(i).txt", t) }
}

// MARK: - Tokenizer metadata for the GGUF seeds

/// A SentencePiece vocabulary of 16 pieces (the tiny model's vocabulary size) with byte fallback.
let spmPieces = [
    "<unk>", "<s>", "</s>", "<0x0A>", "<0x41>", "\u{2581}", "a", "b", "\u{2581}a", "ab", "\u{2581}ab",
    "c", "\u{2581}c", "[INST]", "d", "\u{2581}d"
]

var spmMetadata: [(String, GGUFValue)] {
    let kinds: [Int32] = [2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1, 1]
    return [
        ("tokenizer.ggml.model", .string("llama")),
        ("tokenizer.ggml.tokens", .array(spmPieces.map { .string($0) })),
        ("tokenizer.ggml.scores", .array(spmPieces.indices.map { .float32(-Float($0)) })),
        ("tokenizer.ggml.token_type", .array(kinds.map { .int32($0) })),
        ("tokenizer.ggml.bos_token_id", .uint32(1)), ("tokenizer.ggml.eos_token_id", .uint32(2)),
        ("tokenizer.ggml.unknown_token_id", .uint32(0)), ("tokenizer.ggml.add_bos_token", .bool(true)),
        ("tokenizer.chat_template", .string("{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"))
    ]
}

/// A byte-level BPE vocabulary of 16 pieces with merges and ChatML specials.
var bpeMetadata: [(String, GGUFValue)] {
    let pieces = [
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "\u{120}", "a", "b", "\u{120}a", "ab", "\u{120}ab",
        "1", "2", "'", "s", "'s", "\u{10A}", "c"
    ]
    let kinds: [Int32] = [3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    return [
        ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("smollm")),
        ("tokenizer.ggml.tokens", .array(pieces.map { .string($0) })),
        ("tokenizer.ggml.token_type", .array(kinds.map { .int32($0) })),
        ("tokenizer.ggml.merges", .array(["\u{120} a", "a b", "\u{120}a b", "' s"].map { .string($0) })),
        ("tokenizer.ggml.bos_token_id", .uint32(1)), ("tokenizer.ggml.eos_token_id", .uint32(2)),
        ("tokenizer.chat_template", .string("<|im_start|>system\nYou are a tiny model<|im_end|>\n"))
    ]
}

/// A model (with the byte-level tokenizer) whose matrices are stored in the 32-value block formats (its hidden size is 32
/// so rows split into blocks); block bytes are pseudo-random, scales included.
func writeQuantizedGGUF(_ path: String) throws {
    let c = LlamaConfig(
        dim: 32, hiddenDim: 32, nLayers: 1, nHeads: 2, nKVHeads: 1, vocabSize: 16, maxSeqLen: 32,
        tiedEmbeddings: true)
    let g = try GGUFWriter(path: path)
    try g.set("general.architecture", .string("llama"))
    for (k, v) in bpeMetadata { try g.set(k, v) }
    // A minimal key set (no ε, θ or rope dimension: the reader's defaults), unlike LlamaConfig.ggufMetadata.
    for (k, v): (GGUFKey, Int) in [
        (.embeddingLength, c.dim), (.feedForwardLength, c.hiddenDim), (.blockCount, c.nLayers),
        (.headCount, c.nHeads), (.headCountKV, c.nKVHeads), (.contextLength, c.maxSeqLen)
    ] {
        try g.set(k.key(), .uint32(UInt32(v)))
    }
    var rng = Rng(seed: 9)
    func add(_ name: String, _ type: TensorType, _ shape: [Int]) throws {
        let (be, bb) = type.blockLayout
        var bytes = (0..<(shape.reduce(1, *) / be * bb)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        if type.isQuantized {
            // Small finite fp16 scales (0x2000-0x23FF) at the start of every block.
            for b in stride(from: 0, to: bytes.count, by: bb) { bytes[b + 1] = 0x20 | (bytes[b + 1] & 3) }
        }
        try g.addTensor(name: name, type: type, shape: shape, bytes: bytes)
    }
    try add("token_embd.weight", .q8_0, [c.vocabSize, c.dim])
    try add("output_norm.weight", .f32, [c.dim])
    let types: [TensorType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .f16, .bf16]
    for (i, (name, rows)) in [
        ("attn_q", c.qDim), ("attn_k", c.kvDim), ("attn_v", c.kvDim), ("attn_output", c.dim),
        ("ffn_gate", c.hiddenDim), ("ffn_up", c.hiddenDim), ("ffn_down", c.dim)
    ].enumerated() {
        try add("blk.0.\(name).weight", types[i], [rows, name == "attn_output" ? c.qDim : c.dim])
    }
    try add("blk.0.attn_norm.weight", .f32, [c.dim])
    try add("blk.0.ffn_norm.weight", .f32, [c.dim])
    try g.write()
}

// MARK: - llama2.c files

/// A legacy llama2.c checkpoint of fuzzHFModel's shape (dim 8, hidden 16, 1 layer, 2 heads, 1 KV head, seq 4);
/// a negative `vocab` means an own classifier follows (run.c's convention).
func llama2cCheckpoint(vocab: Int32) -> [UInt8] {
    let (dim, hidden, layers, heads, kv, seq) = (8, 16, 1, 2, 1, 4)
    let v = Int(abs(vocab)), kvDim = dim * kv / heads, headSize = dim / heads
    var floats = v * dim + layers * (dim + dim * dim + 2 * kvDim * dim + dim * dim + dim + 3 * hidden * dim) + dim
    floats += 2 * seq * headSize / 2 + (vocab < 0 ? v * dim : 0)
    var out: [UInt8] = []
    for h in [Int32(dim), Int32(hidden), Int32(layers), Int32(heads), Int32(kv), vocab, Int32(seq)] { out += le(h) }
    var rng = Rng(seed: 8)
    for _ in 0..<floats { out += le((rng.uniform() * 2 - 1).bitPattern) }
    return out
}

/// 512 pieces as llama2.c's tokenizer.bin stores them: <unk>, BOS/EOS spelt "\n<s>\n", 256 byte pieces, then
/// letter pairs (with a leading space, which stands for "▁").
func llama2cTokenizer() -> [UInt8] {
    var pieces = ["<unk>", "\n<s>\n", "\n</s>\n"] + (0..<256).map { "<0x" + String(format: "%02X", $0) + ">" }
    let letters = Array("etaoinsrhldcumfpgwybvkxjqz")
    var i = 0
    while pieces.count < 512 {
        let a = letters[i % letters.count], b = letters[(i / letters.count) % letters.count]
        pieces.append(i % 2 == 0 ? " \(a)\(b)" : "\(a)\(b)")
        i += 1
    }
    var out = le(Int32(pieces.map(\.utf8.count).max()!))
    for (k, p) in pieces.enumerated() {
        out += le(Float(-k).bitPattern) + le(Int32(p.utf8.count)) + Array(p.utf8)
    }
    return out
}

func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

// MARK: - Hugging Face tokenizer.json and sentencepiece tokenizer.model

let byteLevelTokenizerJSON = """
    {"version": "1.0", "added_tokens": [{"id": 0, "content": "<|endoftext|>", "special": true},
      {"id": 1, "content": "<|im_start|>", "special": true}, {"id": 2, "content": "<|im_end|>", "special": true}],
     "normalizer": null,
     "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true},
       {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]},
     "post_processor": null, "decoder": {"type": "ByteLevel"},
     "model": {"type": "BPE", "unk_token": null, "byte_fallback": false, "ignore_merges": false,
       "vocab": {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2, "\u{120}": 3, "a": 4, "b": 5, "\u{120}a": 6,
                 "ab": 7, "\u{120}ab": 8, "1": 9, "'": 10, "s": 11, "'s": 12, "\u{10A}": 13},
       "merges": ["\u{120} a", ["a", "b"], "\u{120}a b", "' s"]}}
    """

let sentencePieceTokenizerJSON = """
    {"version": "1.0", "added_tokens": [{"id": 0, "content": "<unk>", "special": true},
      {"id": 1, "content": "<s>", "special": true}, {"id": 2, "content": "</s>", "special": true}],
     "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u{2581}"},
       {"type": "Replace", "pattern": {"String": " "}, "content": "\u{2581}"}]},
     "pre_tokenizer": null,
     "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
       {"Sequence": {"id": "A", "type_id": 0}}]},
     "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u{2581}"}, "content": " "},
       {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
     "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true,
       "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "<0x41>": 4, "\u{2581}": 5, "a": 6, "b": 7,
                 "\u{2581}a": 8, "ab": 9, "\u{2581}ab": 10},
       "merges": ["\u{2581} a", "a b", "\u{2581}a b"]}}
    """

/// sentencepiece_model.proto, field by field (see SentencePieceProto.swift): the SentencePiece pieces of
/// `spmPieces`, a BPE trainer spec with byte fallback, an identity normalizer with the dummy prefix.
func sentencePieceModel() -> [UInt8] {
    func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        return out + [UInt8(v)]
    }
    func field(_ n: UInt64, _ v: UInt64) -> [UInt8] { varint(n << 3) + varint(v) }
    func message(_ n: UInt64, _ body: [UInt8]) -> [UInt8] { varint(n << 3 | 2) + varint(UInt64(body.count)) + body }
    let kinds: [UInt64] = [2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1, 1]
    var out: [UInt8] = []
    for (i, p) in spmPieces.enumerated() {
        out += message(
            1, message(1, Array(p.utf8)) + varint(2 << 3 | 5) + le(Float(-i).bitPattern) + field(3, kinds[i]))
    }
    out += message(
        2,
        field(3, 2) + field(4, UInt64(spmPieces.count)) + field(35, 1) + field(40, 0) + field(41, 1)
            + field(42, 2) + field(43, UInt64(bitPattern: -1)))
    out += message(3, message(1, Array("identity".utf8)) + field(3, 1) + field(4, 0) + field(5, 1))
    return out
}
