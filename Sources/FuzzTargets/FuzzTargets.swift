// Every parser a user's file reaches, one fuzz target each. libFuzzer drives `fuzzEntry` through
// Fuzz/<target>/main.swift (scripts/fuzz.sh builds them with -sanitize=fuzzer,address); FuzzRegressionTests
// replays the seed corpus (Fuzz/corpus/<target>/) and every input that ever crashed (Fuzz/regressions/<target>/)
// through the same `FuzzTarget.run`, in the normal build.
//
// The oracle: an input may be accepted or refused, but refused means thrown errors printed as one line that
// names the file; a trap, a sanitizer report, an allocation beyond libFuzzer's limit or a hang is a crash.
import Foundation
import Numerics
import ModelIO
import Llama
import IRM
import Datasets
import Training
import Analysis

public enum FuzzTarget: String, CaseIterable, Sendable {
    case gguf  // GGUF header, metadata, tensor infos → model + tokenizer
    case safetensors  // safetensors header → tensors (→ a Hugging Face model)
    case irm  // an IRM file (irm_config + basic_forward.* tensors)
    case hfConfig = "hf-config"  // Hugging Face config.json
    case tokenizerJSON = "tokenizer-json"  // Hugging Face tokenizer.json
    case tokenizerModel = "tokenizer-model"  // sentencepiece tokenizer.model (protobuf)
    case llama2c  // llama2.c checkpoint .bin
    case tokenizerBin = "tokenizer-bin"  // llama2.c tokenizer.bin
    case qaCSV = "qa-csv"  // question/answer CSV
    case jsonl  // JSON Lines dataset
    case squad  // SQuAD 2.0 JSON
    case labelled  // text;label lines
    case runConfig = "run-config"  // a run folder's config.json
    case optimizer  // a run folder's optimizer.safetensors
    case neuronMap = "nmap"  // a neuron map (.nmap)
    case tokenize  // encode/decode of arbitrary bytes by real tokenizers

    /// Feeds `bytes` to the target's parsers and to what uses their result.
    public func run(_ bytes: UnsafeRawBufferPointer) -> FuzzOutcome {
        let file = fileName
        var o = FuzzOutcome(file: file)
        switch self {
        case .gguf: fuzzGGUF(bytes, &o)
        case .safetensors: fuzzSafetensors(bytes, &o)
        case .irm: fuzzIRM(bytes, &o)
        case .hfConfig: o.attempt { _ = try LlamaConfig(hfConfigJSON: Data(bytes), file: file).parameterCount }
        case .tokenizerJSON: o.attempt { exercise(try loadTokenizerJSON(file: MappedFile(bytes: bytes, path: file))) }
        case .tokenizerModel:
            o.attempt { exercise(try loadSentencePieceModel(file: MappedFile(bytes: bytes, path: file))) }
        case .llama2c:
            o.attempt {
                try exercise(LlamaModel.load(llama2c: Llama2cCheckpoint(file: MappedFile(bytes: bytes, path: file))))
            }
        case .tokenizerBin:
            // tok512.bin (the seed) holds 512 pieces; the vocabulary size comes from the model's header.
            o.attempt { exercise(try loadLlama2cTokenizer(file: MappedFile(bytes: bytes, path: file), vocabSize: 512)) }
        case .qaCSV, .jsonl, .squad, .labelled: fuzzDataset(bytes, &o)
        case .runConfig: fuzzRunConfig(bytes, &o)
        case .optimizer: fuzzOptimizer(bytes, &o)
        case .neuronMap: fuzzNeuronMap(bytes, &o)
        case .tokenize: fuzzTokenize(bytes)
        }
        return o
    }

    /// The name the input goes by in error messages (a path for the targets that read a file from disk).
    var fileName: String {
        switch self {
        case .qaCSV: scratchPath("input.csv")
        case .jsonl: scratchPath("input.jsonl")
        case .squad: scratchPath("input.json")
        case .labelled: scratchPath("input.txt")
        case .runConfig: scratchPath("run")
        case .optimizer: scratchPath("opt")
        case .tokenizerJSON: "fuzz/tokenizer.json"
        default: "fuzz-input.\(rawValue)"
        }
    }
}

/// What became of one input: the message of every error thrown on the way (none: accepted).
public struct FuzzOutcome: Sendable {
    public let file: String
    public private(set) var errors: [String] = []
    init(file: String) { self.file = file }

    public var accepted: Bool { errors.isEmpty }

    /// Messages that break the rule "one line, naming the file".
    public var badMessages: [String] { errors.filter { !FuzzOutcome.isOneLine($0, naming: file) } }

    public static func isOneLine(_ message: String, naming file: String) -> Bool {
        !message.isEmpty && !message.contains(where: \.isNewline) && message.contains(file)
    }

    /// The body's result, or nil with its error recorded.
    @discardableResult
    mutating func attempt<T>(_ body: () throws -> T) -> T? {
        do { return try body() } catch { errors.append("\(error)"); return nil }
    }
}

/// The libFuzzer entry point's body: a message that is not one line naming the file counts as a crash.
/// One thread: the inputs are tiny, and waking workers for them would cost more than the work.
public func fuzzEntry(_ target: FuzzTarget, _ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    numThreads = 1
    let o = target.run(UnsafeRawBufferPointer(start: data, count: size))
    if let m = o.badMessages.first {
        fatalError("\(target.rawValue): error message is not one line naming \(o.file): \(m)")
    }
    return 0
}

// MARK: - Fixed shapes the file-level targets check their inputs against

/// The model IRM files, optimizer states and run configs are checked against (the seeds are made for it).
public let fuzzModel = LlamaConfig(
    dim: 8, hiddenDim: 16, nLayers: 2, nHeads: 2, nKVHeads: 1, vocabSize: 32, maxSeqLen: 64)
/// The IRM of the seed IRM file and optimizer state.
public let fuzzIRMConfig = IRMConfig(hidden: 8, layers: [0, 1], widthMultiplier: 1, depth: 2)

/// A per-process scratch folder, in /dev/shm when there is one (the dataset loaders read paths).
let scratchDir: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let d = base + "/irm-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: d + "/run", withIntermediateDirectories: true)
    try? FileManager.default.createDirectory(atPath: d + "/opt", withIntermediateDirectories: true)
    return d
}()

func scratchPath(_ name: String) -> String { scratchDir + "/" + name }

/// Removes this process's scratch folder (the tests call it when they end; scripts/fuzz.sh removes the folders of
/// fuzzing processes that have exited).
public func removeFuzzScratch() { try? FileManager.default.removeItem(atPath: scratchDir) }

func writeScratch(_ bytes: UnsafeRawBufferPointer, _ path: String) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

// MARK: - Model files

func fuzzGGUF(_ bytes: UnsafeRawBufferPointer, _ o: inout FuzzOutcome) {
    let file = o.file
    guard let g = o.attempt({ try GGUFFile(file: MappedFile(bytes: bytes, path: file)) }) else { return }
    o.attempt { try exercise(LlamaModel.load(gguf: g)) }
    o.attempt {
        let t = try loadTokenizer(gguf: g.metadata, file: g.path)
        exercise(t)
        _ = ChatTemplate.detect(metadata: g.metadata, tokenizer: t).render(
            system: nil, turns: [("user", "hi")], addGenerationPrompt: true)
    }
}

/// The tiny Hugging Face model the safetensors seed holds (Fuzz/corpus/safetensors).
public let fuzzHFModel = LlamaConfig(
    dim: 8, hiddenDim: 16, nLayers: 1, nHeads: 2, nKVHeads: 1, vocabSize: 16, maxSeqLen: 32)

func fuzzSafetensors(_ bytes: UnsafeRawBufferPointer, _ o: inout FuzzOutcome) {
    let file = o.file
    guard let st = o.attempt({ try SafetensorsFile(file: MappedFile(bytes: bytes, path: file)) }) else { return }
    o.attempt { for name in st.tensorNames { _ = try dequantize(st.tensor(name)) } }
    guard st.tensors["model.embed_tokens.weight"] != nil else { return }
    o.attempt {
        try exercise(LlamaModel.load(config: fuzzHFModel, tensors: st.tensors, format: .huggingFace, path: st.path))
    }
}

/// One greedy step: the loaded weights are usable, whatever values they hold.
func exercise(_ m: LlamaModel) throws {
    var s = Sampler(SamplingParams())
    _ = try m.generate(prompt: [0, Int32(m.config.vocabSize - 1)], maxTokens: 1, sampler: &s)
}

func fuzzIRM(_ bytes: UnsafeRawBufferPointer, _ o: inout FuzzOutcome) {
    let file = o.file
    o.attempt {
        let st = try SafetensorsFile(file: MappedFile(bytes: bytes, path: file))
        let net = try IRMNetwork.load(file: st, model: (fuzzModel.dim, fuzzModel.nLayers), available: 1 << 30)
        // Inject into two positions at every layer, as generation does.
        let inj = IRMInjector(net: net)
        var x = [Float](repeating: 0.5, count: 2 * fuzzModel.dim)
        x.withUnsafeMutableBufferPointer { p in
            for l in 0..<fuzzModel.nLayers {
                inj.afterAttention(layer: l, residual: p.baseAddress!, T: 2, pos0: 0, replay: false)
            }
        }
    }
}

// MARK: - Tokenizers

/// Text that touches every path of the encoders: spaces and their runs, contractions, digits, specials
/// spelt as text, multi-byte characters, control bytes.
let probeTexts = [
    "Hello world, it's 1234!", "  a\tb\r\n\nc  ", "<s>[INST] hi [/INST]</s>", "<|im_start|>user\nx<|im_end|>",
    "naïve café ½ ☃ 😀 漢字", "\u{0}\u{1}\u{7F}", ""
]

func exercise(_ t: Tokenizer) {
    for text in probeTexts { roundTrip(t, text) }
    let n = Int32(truncatingIfNeeded: t.vocabSize)
    for id in [-1, 0, 1, n - 1, n, Int32.max] {
        _ = (t.tokenString(id), t.tokenKind(id), t.tokenBytes(id), t.isEndOfGeneration(id))
    }
}

/// Encode (every flag combination), decode and stream-decode.
func roundTrip(_ t: Tokenizer, _ text: String) {
    for (addSpecial, parseSpecial) in [(true, true), (false, false)] {
        let ids = t.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
        _ = t.decode(ids)
        _ = t.decode(ids, skipSpecial: true)
        streamDecode(t, ids)
    }
}

func streamDecode(_ t: Tokenizer, _ ids: [Int32]) {
    var d = StreamingDecoder(t, sequenceStart: true)
    for id in ids { _ = d.push(id) }
    _ = d.flush()
}

/// The project's real tokenizers, loaded once: SmolLM2's (GGUF, byte-level BPE), Llama 2's tokenizer.model
/// and tokenizer.bin, and stories260K's tok512.bin. Paths are relative to `fuzzAssetRoot`; missing ones are
/// left out (FuzzRegressionTests checks that all four load on this machine).
nonisolated(unsafe) public var fuzzAssetRoot = FileManager.default.currentDirectoryPath

public let fuzzTokenizers: [Tokenizer] = {
    let r = fuzzAssetRoot
    var out: [Tokenizer] = []
    if let g = try? GGUFFile(path: r + "/Models/SmolLM2-135M-Instruct.Q4_1.gguf"),
        let t = try? loadTokenizer(gguf: g.metadata, file: g.path)
    {
        out.append(t)
    }
    if let t = try? loadSentencePieceModel(path: r + "/../shared/models/llama2-tokenizer/tokenizer.model") {
        out.append(t)
    }
    if let t = try? loadLlama2cTokenizer(path: r + "/../shared/models/llama2-tokenizer/tokenizer.bin", vocabSize: 32000)
    {
        out.append(t)
    }
    if let t = try? loadLlama2cTokenizer(path: r + "/../shared/models/stories260K/tok512.bin", vocabSize: 512) {
        out.append(t)
    }
    return out
}()

/// The bytes as text (invalid UTF-8 becomes U+FFFD, as any String from a file) and as token ids (4 bytes
/// each, so out-of-range and negative ids occur).
func fuzzTokenize(_ bytes: UnsafeRawBufferPointer) {
    let text = String(decoding: bytes, as: UTF8.self)
    let ids = stride(from: 0, to: bytes.count - 3, by: 4).map {
        Int32(bitPattern: bytes.loadUnaligned(fromByteOffset: $0, as: UInt32.self))
    }
    for t in fuzzTokenizers {
        roundTrip(t, text)
        _ = t.decode(ids)
        streamDecode(t, ids)
    }
}

// MARK: - Datasets

func fuzzDataset(_ bytes: UnsafeRawBufferPointer, _ o: inout FuzzOutcome) {
    writeScratch(bytes, o.file)
    let path = o.file
    o.attempt { _ = try loadExamples(path: path) }
    switch DatasetFormat.fromExtension(path) {
    case .squad: o.attempt { _ = try loadExamples(path: path, questionsOnly: true) }
    case .labelled:
        // A label that the seed has, so selecting one is exercised too.
        o.attempt { _ = try loadExamples(path: path, label: "joy") }
    default: break
    }
}

// MARK: - Run folders

/// A run's config.json as `irm train --resume` and `irm eval` use it before the model is loaded: read, checked
/// against the model's shape, turned into a memory plan.
func fuzzRunConfig(_ bytes: UnsafeRawBufferPointer, _ o: inout FuzzOutcome) {
    let run = RunFolder(o.file)
    writeScratch(bytes, run.configPath)
    o.attempt {
        let c = try run.readConfig()
        do { try c.irm.validate(nLayers: fuzzModel.nLayers, hidden: fuzzModel.dim) } catch {
            throw RunError("\(run.configPath): \(error)")
        }
        let plan = MemoryPlan.make(
            model: fuzzModel, weightBytes: 4096, irm: c.irm, B: c.batchSize, T: c.seqLen,
            recompute: c.recompute, available: 1 << 20)
        _ = plan.report()
        if !plan.fits {
            _ = memorySuggestions(
                model: fuzzModel, weightBytes: 4096, irm: c.irm, B: c.batchSize, T: c.seqLen,
                recompute: c.recompute, available: 1 << 20)
        }
        _ = layerSpecName(c.irm.layers)
    }
}

/// The IRM weights an optimizer state is resumed next to (step 5, as the seed's state), as the pair of a run
/// folder without checkpoint.json (the layout before checkpoint generations, still resumed: the same readers).
let fuzzCheckpointWeights: Void = {
    try? IRMNetwork(config: fuzzIRMConfig, seed: 1).save(
        path: scratchPath("opt/irm.safetensors"), extraMetadata: ["step": "5"])
}()

func fuzzOptimizer(_ bytes: UnsafeRawBufferPointer, _ o: inout FuzzOutcome) {
    _ = fuzzCheckpointWeights
    let run = RunFolder(o.file)
    writeScratch(bytes, run.path + "/optimizer.safetensors")
    o.attempt {
        let net = IRMNetwork(config: fuzzIRMConfig, seed: 2)
        _ = try run.loadCheckpoint(net: net, adam: Adam(config: AdamConfig(), count: net.params.count))
    }
}

// MARK: - Neuron maps

func fuzzNeuronMap(_ bytes: UnsafeRawBufferPointer, _ o: inout FuzzOutcome) {
    let file = o.file
    o.attempt {
        let m = try NeuronMap.read(bytes: bytes, path: file)
        _ = m.tsvText()
        _ = m.find("the")
        _ = m.find("a", bottom: true, substring: true)
    }
}
