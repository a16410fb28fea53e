// The options every model-using command shares, and loading the model from them.
import Foundation
import Llama

let defaultModelPath = "Models/SmolLM2-135M-Instruct.Q4_1.gguf"

let modelOptions: [Option] = [
    Option(name: "model", value: "PATH", help: "GGUF file, Hugging Face folder or llama2.c .bin (default \(defaultModelPath))"),
    Option(name: "tokenizer", value: "PATH", help: "tokenizer file when not inside the model (tokenizer.json/.model/.bin)"),
    Option(name: "dtype", value: "auto|f32|f16|bf16", help: "weight storage; auto keeps f32/f16/bf16 and turns quantized into f16"),
    Option(name: "threads", value: "N", help: "worker threads (default: all cores)"),
]

func loadModel(_ args: Arguments) throws -> LoadedModel {
    try applyThreads(args)
    let path = args.string("model") ?? defaultModelPath
    if args.string("model") == nil, !FileManager.default.fileExists(atPath: path) {
        throw CLIError("\(path): no such file (run `make model` to fetch SmolLM2, or pass --model PATH)")
    }
    let storage: WeightStorage = try args.choice("dtype", default: .auto)
    return try LoadedModel.load(path: path, tokenizerPath: args.string("tokenizer"), storage: storage)
}

import Numerics
func applyThreads(_ args: Arguments) throws {
    if args.string("threads") != nil { numThreads = try args.int("threads", default: numThreads, range: 1...256) }
}
