// irm-mkmodel: random-weight model files at a real model's shape, as users download them (RandomModelFiles.swift).
// `make check-7b` makes Llama-2-7b-chat's Hugging Face folder and a Q4_K_M GGUF with it; the weights are not on the
// machine, the shapes, offsets past 4 GiB, shard boundaries and the 32000-piece tokenizer are.
import Foundation
import Numerics
import ModelIO
import Llama

let usage = """
    irm-mkmodel — write a random-weight model at a real shape (streamed: a 7B needs no 13 GB of memory)

    usage: irm-mkmodel [--shape NAME] (--hf DIR | --gguf FILE [--type TYPE]) [options]

      --shape NAME        llama2-7b (Llama-2-7b-chat: 32 layers, 4096 wide, vocab 32000; default), tiny (4 layers,
                          256 wide, the same vocabulary: for trying the check), llama3.1-8b (32 layers, 4096
                          wide, GQA 32/8, MLP 14336, vocab 128256, θ 500000 with Llama 3.1's RoPE scaling) or
                          tiny-llama3 (4 layers, 256 wide, Llama 3's vocabulary and scaling)
      --hf DIR            a Hugging Face folder: config.json, fp16 safetensors shards, their index
      --gguf FILE         a GGUF with llama.* metadata
      --type TYPE         the GGUF's matrices: q4_k_m (Q4_K with llama.cpp's Q6_K layers; default), f32, f16,
                          bf16, q8_0, q4_0, q4_1, q4_k, q5_k, q6_k
      --tokenizer FILE    a sentencepiece tokenizer.model or a byte-level BPE tokenizer.json (Llama 3): copied
                          into the folder, or the GGUF's tokenizer
      --chat-template F   a chat template's text: tokenizer_config.json's chat_template, or the GGUF's
      --max-shard-bytes N safetensors shard limit (default 10000000000, transformers' 10 GB)
      --seed S            the weights' seed (default 0); the HF folder and the GGUF of one seed hold one model
      --threads N         worker threads (default: all cores)
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("irm-mkmodel: \(message)\n".utf8))
    exit(2)
}

var shape = "llama2-7b", hf: String?, gguf: String?, typeName = "q4_k_m", tokenizer: String?, chatTemplate: String?
var maxShard = 10_000_000_000, seed: UInt64 = 0
var args = Array(CommandLine.arguments.dropFirst())
@MainActor func value(_ flag: String) -> String {
    guard !args.isEmpty, !args[0].hasPrefix("--") else { fail("\(flag) needs a value") }
    return args.removeFirst()
}
while !args.isEmpty {
    let a = args.removeFirst()
    switch a {
    case "--help", "-h": print(usage); exit(0)
    case "--shape": shape = value(a)
    case "--hf": hf = value(a)
    case "--gguf": gguf = value(a)
    case "--type": typeName = value(a).lowercased()
    case "--tokenizer": tokenizer = value(a)
    case "--chat-template": chatTemplate = value(a)
    case "--max-shard-bytes":
        let v = value(a)
        guard let n = Int(v), n > 0 else { fail("--max-shard-bytes: '\(v)' is not a positive byte count") }
        maxShard = n
    case "--seed":
        let v = value(a)
        guard let s = UInt64(v) else { fail("--seed: '\(v)' is not a non-negative integer") }
        seed = s
    case "--threads":
        let v = value(a)
        guard let n = Int(v), (1...1024).contains(n) else {
            fail("--threads: '\(v)' is not a thread count from 1 to 1024")
        }
        numThreads = n
    default: fail("unknown option '\(a)' (see --help)")
    }
}

var config: LlamaConfig
switch shape {
case "llama2-7b": config = .llama2_7b
case "tiny":
    config = LlamaConfig(
        dim: 256, hiddenDim: 512, nLayers: 4, nHeads: 4, nKVHeads: 4, vocabSize: 32000,
        normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 4096)
case "llama3.1-8b": config = .llama3_1_8b
case "tiny-llama3":
    config = LlamaConfig(
        dim: 256, hiddenDim: 512, nLayers: 4, nHeads: 4, nKVHeads: 2, vocabSize: 128256, normEps: 1e-5,
        ropeTheta: 500000, maxSeqLen: 8192, ropeScaling: LlamaConfig.llama3_1_8b.ropeScaling)
default: fail("--shape: unknown shape '\(shape)' (llama2-7b, tiny, llama3.1-8b or tiny-llama3)")
}
guard (hf == nil) != (gguf == nil) else { fail("give one of --hf DIR or --gguf FILE (see --help)") }
if let t = tokenizer, !FileManager.default.fileExists(atPath: t) { fail("--tokenizer: \(t) does not exist") }
let template: String?
if let t = chatTemplate {
    guard let text = try? String(contentsOfFile: t, encoding: .utf8) else { fail("--chat-template: cannot read \(t)") }
    template = text
} else {
    template = nil
}

let start = Date()
func say(_ s: String) { FileHandle.standardError.write(Data("irm-mkmodel: \(s)\n".utf8)) }
do {
    if let dir = hf {
        let shards = try writeRandomHuggingFace(
            config, folder: dir, seed: seed, maxShardBytes: maxShard,
            tokenizerModel: tokenizer, chatTemplate: template, progress: say)
        for s in shards { say("\(dir)/\(s.file): \(s.bytes) bytes") }
    } else if let path = gguf {
        let scheme: RandomGGUFScheme
        if typeName == "q4_k_m" {
            scheme = .q4_K_M
        } else if let w = WeightType.allCases.first(where: { $0.rawValue.lowercased() == typeName }) {
            scheme = .uniform(w)
        } else {
            fail(
                "--type: unknown type '\(typeName)' (q4_k_m, \(WeightType.allCases.map { $0.rawValue.lowercased() }.joined(separator: ", ")))"
            )
        }
        let tok: [(String, GGUFValue)]
        if let t = tokenizer, t.hasSuffix(".json") {
            tok = try ggufLlama3TokenizerMetadata(tokenizerJSON: t, chatTemplate: template)
        } else {
            tok =
                try (tokenizer.map { try ggufTokenizerMetadata(sentencePieceModel: $0) } ?? [])
                + (template.map { [("tokenizer.chat_template", GGUFValue.string($0))] } ?? [])
        }
        say("writing \(path)")
        try writeRandomGGUF(
            config, path: path, seed: seed, scheme: scheme, name: "random \(shape) (seed \(seed))", extraMetadata: tok)
        say("\(path): \((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) bytes")
    }
    say(String(format: "done in %.0f s", Date().timeIntervalSince(start)))
} catch {
    fail("\(error)")
}
