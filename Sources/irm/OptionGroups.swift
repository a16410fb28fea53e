// The option groups several commands share: value types that declare their options (and so parse
// themselves) and turn them into what the commands need. A command includes a group with `including(\.field)`.
import Foundation
import Numerics
import Llama
import Training

let defaultModelPath = "Models/SmolLM2-135M-Instruct.Q4_1.gguf"

/// --model, --tokenizer, --dtype: which model to load and how to store its weights.
struct ModelOptions: OptionGroup {
    var model: String?
    var tokenizer: String?
    var dtype = WeightStorage.auto

    static var options: [Opt<Self>] { files + [dtypeOption] }
    /// --model and --tokenizer alone, for commands that read no weights.
    static var files: [Opt<Self>] {
        [
            .string(
                "model", "PATH", \.model,
                "GGUF file, Hugging Face folder or llama2.c .bin (default \(defaultModelPath))"),
            .string(
                "tokenizer", "PATH", \.tokenizer,
                "tokenizer file when not inside the model (tokenizer.json/.model/.bin)")
        ]
    }
    static var dtypeOption: Opt<Self> {
        .choice(
            "dtype", \.dtype,
            "weight storage; auto keeps f32/f16/bf16 and Q8_0/Q4_0/Q4_1/Q4_K/Q5_K/Q6_K as stored (other quantized types become f16)"
        )
    }

    /// --model, or the default model: that one is fetched by `make model`, so its absence says so.
    func path() throws -> String {
        if let model { return model }
        guard FileManager.default.fileExists(atPath: defaultModelPath) else {
            throw CLIError(
                "\(defaultModelPath): no such file (run `make model` to fetch SmolLM2, or pass --model PATH)")
        }
        return defaultModelPath
    }

    func load() throws -> LoadedModel { try LoadedModel.load(path: path(), tokenizerPath: tokenizer, storage: dtype) }
}

/// --threads: the worker threads of every parallel kernel.
struct ThreadOptions: OptionGroup {
    var threads: Int?
    static var options: [Opt<Self>] {
        [.int("threads", "N", \.threads, 1...256, "worker threads (default: all cores)")]
    }
    func apply() { if let threads { numThreads = threads } }
}

/// --int8-dot: how generation multiplies activations with quantized weights (the decode GEMV; prefill and
/// training always use the exact GEMM).
struct DecodeOptions: OptionGroup {
    var int8Dot = false
    static var options: [Opt<Self>] {
        [
            .flag(
                "int8-dot", \.int8Dot,
                "decode with quantized weights as llama.cpp does: activations rounded to 8 bits, integer dot products (faster; SmolLM2's logits move by up to about 1.4, as llama.cpp's do)"
            )
        ]
    }
    func apply() throws {
        if int8Dot && !QuantizedDot.int8Available {
            throw CLIError(
                "--int8-dot: the 8-bit products are x86-only (AVX2) in this build; without it the exact product runs")
        }
        quantizedDot = int8Dot ? .int8 : .exact
    }
}

/// --temperature, --top-k, --top-p, --seed: how the next token is drawn.
struct SamplingOptions: OptionGroup {
    var params = SamplingParams()
    static var options: [Opt<Self>] {
        [
            .float("temperature", "T", \.params.temperature, 0...100, "sampling temperature; 0 = greedy"),
            .int("top-k", "K", \.params.topK, 0...Int(Int32.max), "sample among the K most likely tokens; 0 = all"),
            .float("top-p", "P", \.params.topP, 0...1, "nucleus sampling mass; 1 = off"),
            .int("seed", "S", \.params.seed, 0...Int.max, "random seed")
        ]
    }
}

/// --prompt, --chat, --system: the prompt and how it is formatted.
struct PromptOptions: OptionGroup {
    var prompt = ""
    var chat = false
    var system: String?
    static var options: [Opt<Self>] {
        [
            .string("prompt", "TEXT", \.prompt, "the prompt", required: true),
            .flag("chat", \.chat, "format the prompt as a user turn with the model's chat template"),
            .string("system", "TEXT", \.system, "system prompt for --chat (default: the template's own)")
        ]
    }

    func tokens(_ lm: LoadedModel) throws -> [Int32] {
        let ids = lm.promptTokens(prompt, chat: chat, system: system)
        guard !ids.isEmpty else { throw CLIError("the prompt encodes to no tokens") }
        return ids
    }
}

/// --run: a training run's folder, for the commands that use a trained IRM.
struct RunOptions: OptionGroup {
    var path = ""
    static var options: [Opt<Self>] { [.string("run", "RUN", \.path, "the run folder, Runs/NAME", required: true)] }
    var folder: RunFolder { RunFolder(path) }
}
