// irm neurons map|find|show|clamp|compare|residual — MLP neurons read through the LM head (Davies,
// arXiv 2501.02688). Each subcommand is a command of its own; the numerics live in Analysis (LMHeadDecoder,
// NeuronMap, NeuronClamp, compareTop1).
import Foundation
import Figures
import Analysis
import Llama
import ModelIO
import Numerics
import Training

var neuronsCommand: CommandEntry {
    .group(
        "neurons", "decode MLP neurons through the LM head: map, find, show, clamp, compare, residual",
        [
            .command(NeuronsMap.self), .command(NeuronsFind.self), .command(NeuronsShow.self),
            .command(NeuronsClamp.self),
            .command(NeuronsCompare.self), .command(NeuronsResidual.self)
        ])
}

/// --kind, --norm: which neuron vectors are decoded, and whether the final RMSNorm gain is applied first.
struct NeuronVectorOptions: OptionGroup {
    var kind = NeuronKind.up
    var norm = DecodeNorm.final
    static var options: [Opt<Self>] { [kindOption, normOption] }
    static var kindOption: Opt<Self> {
        .choice("kind", \.kind, "neuron vectors: up-projection rows, gate rows or down-projection columns")
    }
    static var normOption: Opt<Self> {
        .choice("norm", \.norm, "final: multiply by the final RMSNorm gain before the LM head; none: do not")
    }
}

/// --map, or the default map file of --model and --kind: the map a query reads.
struct MapFileOptions: OptionGroup {
    var map: String?, model: String?
    var vectors = NeuronVectorOptions()
    static var options: [Opt<Self>] {
        [
            .string("map", "FILE", \.map, "map file to query (default Runs/neurons/MODEL.KIND.nmap)"),
            .string("model", "PATH", \.model, "the model whose default map is read (default \(defaultModelPath))")
        ] + including(\.vectors, [NeuronVectorOptions.kindOption])
    }

    func read() throws -> (NeuronMap, path: String) {
        let path = map ?? Neurons.defaultMapPath(model: model ?? defaultModelPath, kind: vectors.kind)
        return (try NeuronMap.read(path: path), path)
    }
}

// MARK: map

struct NeuronsMap: Command {
    static let name = "map",
        summary = "decode every neuron of the layers through the LM head; write FILE (binary) and a TSV"

    var model = ModelOptions(), threads = ThreadOptions(), vectors = NeuronVectorOptions()
    var layers = "all", top = 10, bottom: Int?, out: String?, tsv: String?, exact = false

    static var options: [Opt<Self>] {
        including(\.model) + including(\.threads) + including(\.vectors) + [
            .string("layers", "SPEC", \.layers, "layers to map: " + layerSpecSyntax),
            .flag(
                "exact", \.exact,
                "compute every logit in fp32 (the default screens in 8 bits where the CPU has AVX-512 VNNI and rescores the candidates exactly: the same map)"
            ),
            .int("top", "K", \.top, 1...1000, "tokens kept per neuron"),
            .int("bottom", "K", \.bottom, 0...1000, "most suppressed tokens kept per neuron (default = --top)"),
            .string("out", "FILE", \.out, "the binary map file (default Runs/neurons/MODEL.KIND.nmap)"),
            .string("tsv", "FILE", \.tsv, "the TSV file (default: the map file with .tsv)")
        ]
    }

    func run() throws {
        let kind = vectors.kind
        let path = try model.path()
        let out = self.out ?? Neurons.defaultMapPath(model: path, kind: kind)
        let tsv = self.tsv ?? ((out as NSString).deletingPathExtension + ".tsv")
        // One file cannot hold both: the TSV, written second, would replace the binary map.
        func resolved(_ p: String) -> String {
            URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path
        }
        if resolved(out) == resolved(tsv) {
            throw CLIError(
                self.tsv == nil
                    ? "--out \(out): the TSV goes to the map's name with .tsv, the same file; give the map another extension (e.g. --out \((out as NSString).deletingPathExtension).nmap) or --tsv FILE"
                    : "--out \(out) and --tsv \(tsv) are the same file; the binary map and the TSV need two")
        }
        threads.apply()
        let lm = try model.load()
        let c = lm.model.config
        let layers = try parseLayerSpec(self.layers, nLayers: c.nLayers)
        try checkRange("top", top, 1...min(1000, c.vocabSize))
        let kb = bottom ?? top
        try checkRange("bottom", kb, 0...min(1000, c.vocabSize))
        if self.out == nil {
            try? FileManager.default.createDirectory(atPath: "Runs/neurons", withIntermediateDirectories: true)
        }
        let tokens = tokenTexts(count: c.vocabSize, bytes: lm.tokenizer.tokenBytes)
        let method: DecodeMethod = exact ? .exact : .best
        print("method: \(method.summary)")
        let progress = NeuronProgress(label: "irm neurons map")
        let t0 = DispatchTime.now().uptimeNanoseconds
        let map = NeuronMap.build(
            model: lm.model, tokens: tokens, kind: kind, norm: vectors.norm, layers: layers, topK: top, bottomK: kb,
            modelName: (path as NSString).lastPathComponent, method: method, progress: progress.update)
        let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        try map.write(to: out)
        try map.writeTSV(to: tsv)
        let gflop = 2 * Double(map.neuronCount) * Double(c.vocabSize) * Double(c.dim) / 1e9
        print(
            String(
                format:
                    "mapped %d %@ neurons (%d layers × %d) against %d tokens in %.1f s (%.0f rows/s): %.0f GFLOP of fp32 products, %.1f GFLOP/s%@, %d threads",
                map.neuronCount, kind.rawValue, layers.count, c.hiddenDim, c.vocabSize, secs,
                Double(map.neuronCount) / secs, gflop, gflop / secs, method == .exact ? "" : " equivalent",
                numThreads))
        if let st = map.screenStats {
            let f = st.fractions(vocab: c.vocabSize)
            print(
                String(
                    format: "screen: %.3f %% of the tokens per neuron went to stage 2, %.4f %% to exact rescoring",
                    100 * f.stage2, 100 * f.exact))
        }
        print("wrote \(out) and \(tsv)")
    }
}

// MARK: find / show

struct NeuronsFind: Command {
    static let name = "find",
        summary = "neurons whose top tokens are WORD (any casing, with or without a leading space), best first"
    static var positional: (name: String, path: WritableKeyPath<Self, String>)? { ("WORD", \.word) }

    var source = MapFileOptions()
    var word = "", bottomList = false, substring = false, limit = 20

    static var options: [Opt<Self>] {
        including(\.source) + [
            .flag("bottom-list", \.bottomList, "search the bottom (most suppressed) lists"),
            .flag("substring", \.substring, "also match tokens that contain WORD"),
            .int("limit", "N", \.limit, 1...1_000_000, "results to print")
        ]
    }

    func run() throws {
        let (map, _) = try source.read()
        let bottom = bottomList
        let hits = map.find(word, bottom: bottom, substring: substring, limit: limit)
        if hits.isEmpty {
            print(
                "no neuron has \(Neurons.quoted(word)) in its \(bottom ? "bottom" : "top")-\(bottom ? map.bottomK : map.k) tokens"
            )
            return
        }
        print("neuron      p(match)  match (rank)                  \(bottom ? "bottom" : "top") tokens")
        for h in hits {
            let e = map.entry(layer: h.layer, index: h.index)!
            let m = h.tokens.map { "\(Neurons.quoted(map.token($0.id))) (#\($0.rank + 1))" }.joined(separator: " ")
            let list = bottom ? map.decoded.bottom(e) : map.decoded.top(e)
            print(
                Neurons.pad("\(h.layer):\(h.index)", 11) + " " + String(format: "%-8.3g", h.prob) + "  "
                    + Neurons.pad(m, 30) + Neurons.tokenList(Array(list.prefix(5)), map.token))
        }
    }
}

struct NeuronsShow: Command {
    static let name = "show", summary = "one neuron's top and bottom tokens"
    static var positional: (name: String, path: WritableKeyPath<Self, String>)? { ("LAYER:INDEX", \.neuron) }

    var source = MapFileOptions()
    var neuron = ""
    static var options: [Opt<Self>] { including(\.source) }

    func run() throws {
        let (map, path) = try source.read()
        let (l, i) = try Neurons.parseNeuron(neuron, what: "show", nLayers: map.modelLayers, mlpWidth: map.hiddenDim)
        guard let e = map.entry(layer: l, index: i) else {
            throw CLIError(
                "\(neuron): layer \(l) is not in \(path) (it maps layers \(map.layers.map(String.init).joined(separator: ",")))"
            )
        }
        print("neuron \(l):\(i) (\(map.kind.rawValue), norm \(map.norm.rawValue), \(map.modelName))")
        print("top:    " + Neurons.tokenList(map.decoded.top(e), map.token))
        if map.bottomK > 0 { print("bottom: " + Neurons.tokenList(map.decoded.bottom(e), map.token)) }
    }
}

// MARK: clamp

struct NeuronsClamp: Command {
    static let name = "clamp",
        summary = "generate with the neuron's activation clamped at V at every position, next to the unclamped run"

    var model = ModelOptions(), threads = ThreadOptions(), prompt = PromptOptions(), vectors = NeuronVectorOptions()
    var sampling = SamplingOptions()
    var neuron = "", value: Float = 10, maxTokens = 24, token: String?, sweepValues: String?, samples = 0

    static var options: [Opt<Self>] {
        including(\.model) + including(\.threads) + [
            .string("neuron", "LAYER:INDEX", \.neuron, "the neuron", required: true),
            .float("value", "V", \.value, finiteFloats, "the activation value")
        ] + including(\.prompt) + [
            .int("max-tokens", "N", \.maxTokens, 1...4096, "tokens to generate"),
            .string("token", "WORD", \.token, "the concept token to watch (default: the neuron's top token)"),
            .string("sweep-values", "LIST", \.sweepValues, "values to sweep instead, e.g. 0,5,10,20 or 0:40:5"),
            .int(
                "samples", "N", \.samples, 0...100_000,
                "also sample N answers clamped and N unclamped (paired seeds; needs --temperature > 0) and count those that mention the watched token's word"
            )
        ] + including(\.sampling) + including(\.vectors)
    }

    func run() throws {
        let sweep = try sweepValues.map(Self.parseValues)
        if samples > 0 && sweep != nil { throw CLIError("--samples and --sweep-values do not go together") }
        if samples > 0 && sampling.params.temperature <= 0 {
            throw CLIError("--samples \(samples) needs --temperature > 0 (greedy answers would all be the same)")
        }
        let kind = vectors.kind, norm = vectors.norm
        threads.apply()
        let lm = try model.load()
        let m = lm.model, c = m.config, tok = lm.tokenizer
        let (layer, index) = try Neurons.parseNeuron(
            neuron, what: "--neuron", nLayers: c.nLayers, mlpWidth: c.hiddenDim)
        let ids = try prompt.tokens(lm)
        guard ids.count + maxTokens <= c.maxSeqLen else {
            throw CLIError("prompt + --max-tokens exceed the context of \(c.maxSeqLen)")
        }
        func text(_ id: Int32) -> String { String(decoding: tok.tokenBytes(id), as: UTF8.self) }
        let quoted = Neurons.quoted, tokenList = Neurons.tokenList

        // The neuron read through the LM head; its top token is the concept watched unless --token names one.
        let vec = NeuronVectors(model: m, kind: kind).vector(layer: layer, index: index)
        let decoded = LMHeadDecoder(model: m, norm: norm).decode(vec, topK: 5)
        let watch: Int32
        if let w = token {
            let enc = tok.encode(w, addSpecial: false, parseSpecial: false)
            guard enc.count == 1 else {
                throw CLIError(
                    "--token '\(w)' is \(enc.count) tokens (\(enc.map { quoted(text($0)) }.joined(separator: " "))); give one token, e.g. with a leading space"
                )
            }
            watch = enc[0]
        } else {
            watch = decoded.top[0].id
        }
        let w = quoted(text(watch))
        print(
            "neuron \(layer):\(index) (\(kind.rawValue) row, norm \(norm.rawValue)) reads as: "
                + tokenList(decoded.top, text))
        // What a positive activation writes: the down column through the head. Its z-score for the watched token
        // tells which sign of V raises it (in SmolLM2 the late concept neurons write *against* their concept).
        let z = LMHeadDecoder(model: m, norm: .final)
            .zScore(NeuronVectors(model: m, kind: .down).vector(layer: layer, index: index), token: watch)
        let hint =
            abs(z) < 2
            ? "no direct push either way (any effect goes through later layers)"
            : "\(z > 0 ? "positive" : "negative") values push it up directly"
        print(String(format: "watching p(%@) (id %d); prompt %d tokens", w, watch, ids.count))
        print(String(format: "the neuron's down column, read through the head, puts it at z = %+.1f σ: %@", z, hint))

        if let values = sweep {
            let rows = try clampSweep(
                model: m, prompt: ids, layer: layer, index: index, values: values, watch: watch, steps: maxTokens)
            print("\nvalue       p(\(w)) at step 1   mean p over \(maxTokens) steps")
            for r in rows { print(String(format: "%-10g  %-18.4g  %.4g", r.value, r.first, r.mean)) }
            return
        }

        let isStop: (Int32) -> Bool = { tok.isEndOfGeneration($0) }
        let base = try greedyProbe(model: m, prompt: ids, maxTokens: maxTokens, watch: watch, isStop: isStop)
        let clamp = NeuronClamp(layer: layer, index: index, value: value, hiddenDim: c.hiddenDim)
        let clamped = try greedyProbe(
            model: m, prompt: ids, maxTokens: maxTokens, watch: watch, intervention: clamp, isStop: isStop)
        func continuation(_ s: [ProbeStep]) -> String {
            tsvEscape(tok.decode(s.map(\.token).filter { !tok.isEndOfGeneration($0) }, skipSpecial: true))
        }
        print("\nunclamped:      \(continuation(base))")
        print("clamped (\(String(format: "%g", value))): \(continuation(clamped))")
        print("\nstep  unclamped token       p(\(w))     clamped token         p(\(w))")
        for s in 0..<max(base.count, clamped.count) {
            func cell(_ r: [ProbeStep]) -> String {
                guard s < r.count else { return "".padding(toLength: 34, withPad: " ", startingAt: 0) }
                return Neurons.pad(quoted(text(r[s].token)), 20) + "  " + String(format: "%-10.4g", r[s].watchedProb)
            }
            print(String(format: "%4d  ", s + 1) + cell(base) + "  " + cell(clamped))
        }
        func mean(_ r: [ProbeStep]) -> Float { r.reduce(0) { $0 + $1.watchedProb } / Float(r.count) }
        print(
            String(
                format: "\np(%@) at step 1: %.4g → %.4g;  mean over the steps: %.4g → %.4g",
                w, base[0].watchedProb, clamped[0].watchedProb, mean(base), mean(clamped)))
        if samples > 0 { try printMentionRates(m, tok, ids, clamp, word: text(watch)) }
    }

    /// The mention rate of the watched token's word over `samples` paired sampled answers, unclamped vs clamped.
    func printMentionRates(_ m: LlamaModel, _ tok: Tokenizer, _ ids: [Int32], _ clamp: NeuronClamp, word: String) throws
    {
        let p = sampling.params
        let base = try sampledAnswers(
            model: m, tokenizer: tok, prompt: ids, samples: samples, maxTokens: maxTokens, params: p)
        let clamped = try sampledAnswers(
            model: m, tokenizer: tok, prompt: ids, samples: samples, maxTokens: maxTokens,
            params: p, intervention: clamp)
        let a = base.map { mentions($0, word: word) }, b = clamped.map { mentions($0, word: word) }
        let na = a.filter { $0 }.count, nb = b.filter { $0 }.count
        let onlyClamped = zip(a, b).filter { !$0 && $1 }.count, onlyBase = zip(a, b).filter { $0 && !$1 }.count
        let w = Neurons.quoted(word.trimmingCharacters(in: .whitespaces))
        print(
            String(
                format:
                    "\nanswers mentioning %@ among %d sampled (temperature %g, top-k %d, top-p %g, seeds %llu…, up to %d tokens):",
                w, samples, p.temperature, p.topK, p.topP, p.seed, maxTokens))
        print(String(format: "  unclamped  %d/%d (%.1f %%)", na, samples, 100 * Double(na) / Double(samples)))
        print(String(format: "  clamped    %d/%d (%.1f %%)", nb, samples, 100 * Double(nb) / Double(samples)))
        print(
            String(
                format:
                    "  pairs where only the clamped answer mentions it: %d, only the unclamped: %d (exact McNemar p = %.3g)",
                onlyClamped, onlyBase, mcNemarExactP(b: onlyClamped, c: onlyBase)))
        for (label, answers) in [("unclamped", base), ("clamped", clamped)] {
            for s in answers.prefix(3) { print("  \(label): \(tsvEscape(s))") }
        }
    }

    /// "0,5,10" or START:STOP:STEP (STOP inclusive, at most 1000 values).
    static func parseValues(_ s: String) throws -> [Float] {
        let bad = CLIError("--sweep-values expects a list like 0,5,10 or START:STOP:STEP, got '\(s)'")
        if s.contains(":") {
            let p = s.split(separator: ":").map { Float($0) }
            guard p.count == 3, let a = p[0], let b = p[1], let st = p[2], st > 0, b >= a, (b - a) / st <= 1000 else {
                throw bad
            }
            return stride(from: a, through: b + st * 1e-4, by: st).map { $0 }
        }
        let v = s.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ $0 != nil && $0!.isFinite }) else { throw bad }
        return v.map { $0! }
    }
}

// MARK: compare

struct NeuronsCompare: Command {
    static let name = "compare",
        summary = "share of neurons whose top-1 token agrees between two models of the same shape"
    static let usage: String? = "--model A --model B [options]  |  --map A --map B"

    var models: [String] = [], maps: [String] = [], layers: String?
    // weights: only its --dtype applies
    var weights = ModelOptions(), threads = ThreadOptions(), vectors = NeuronVectorOptions()

    static var options: [Opt<Self>] {
        [
            .strings("model", "PATH", \.models, "a model to map (give two)"),
            .strings("map", "FILE", \.maps, "a map file made by irm neurons map (give two, instead of --model)"),
            .string(
                "layers", "SPEC", \.layers, "with --model: the layers to compare: " + layerSpecSyntax + " (default all)"
            )
        ] + including(\.weights, [ModelOptions.dtypeOption]) + including(\.threads) + including(\.vectors)
    }

    func run() throws {
        let a: NeuronMap, b: NeuronMap
        if !maps.isEmpty {
            guard maps.count == 2, models.isEmpty, layers == nil else {
                throw CLIError("give --map A --map B, or --model A --model B")
            }
            a = try NeuronMap.read(path: maps[0]); b = try NeuronMap.read(path: maps[1])
        } else {
            guard models.count == 2 else {
                throw CLIError("give two models (--model A --model B) or two maps (--map A --map B)")
            }
            threads.apply()
            var built: [NeuronMap] = []
            var shape: LlamaConfig?
            for path in models {
                let model = try LlamaModel.load(path: path, storage: weights.dtype)
                let c = model.config
                if let s = shape,
                    s.dim != c.dim || s.hiddenDim != c.hiddenDim || s.nLayers != c.nLayers || s.vocabSize != c.vocabSize
                {
                    throw CLIError(
                        "\(path) has a different shape (dim \(c.dim), MLP \(c.hiddenDim), \(c.nLayers) layers, vocab \(c.vocabSize)) than \(models[0]) (dim \(s.dim), MLP \(s.hiddenDim), \(s.nLayers) layers, vocab \(s.vocabSize))"
                    )
                }
                shape = c
                let layers = try parseLayerSpec(self.layers ?? "all", nLayers: c.nLayers)
                let progress = NeuronProgress(label: (path as NSString).lastPathComponent)
                built.append(
                    NeuronMap.build(
                        model: model, tokens: [], kind: vectors.kind, norm: vectors.norm, layers: layers, topK: 1,
                        bottomK: 0,
                        modelName: path, progress: progress.update))
            }
            a = built[0]; b = built[1]
        }
        let r: NeuronAgreement
        do { r = try compareTop1(a, b) } catch let e as NeuronCompareError { throw CLIError(e.description) }
        print("top-1 agreement of \(a.kind.rawValue) neurons: \(a.modelName) vs \(b.modelName)")
        for (s, l) in r.layers.enumerated() {
            print(
                String(
                    format: "layer %3d  %6.2f %%  (%d / %d)", l, 100 * r.share(slot: s), r.perLayer[s].agree,
                    r.perLayer[s].total))
        }
        print(String(format: "overall    %6.2f %%  (%d / %d)", 100 * r.share, r.agree, r.total))
    }
}

// MARK: residual

struct NeuronsResidual: Command {
    static let name = "residual",
        summary = "decode the residual basis direction e_INDEX (e.g. an IRM run's dominant index) through the LM head"
    static var positional: (name: String, path: WritableKeyPath<Self, String>)? { ("INDEX", \.index) }

    var model = ModelOptions(), threads = ThreadOptions(), vectors = NeuronVectorOptions()
    var index = "", scale: Float = 10, top = 20

    static var options: [Opt<Self>] {
        including(\.model) + including(\.threads) + [
            .float("scale", "S", \.scale, finiteFloats, "the value at the index; sets the softmax's sharpness"),
            .int("top", "K", \.top, 1...1000, "tokens shown at each end")
        ] + including(\.vectors, [NeuronVectorOptions.normOption])
    }

    func run() throws {
        guard let index = Int(self.index) else {
            throw CLIError("give one INDEX (a hidden-state index), got '\(self.index)'")
        }
        let norm = vectors.norm
        threads.apply()
        let lm = try model.load()
        let c = lm.model.config
        guard index >= 0, index < c.dim else {
            throw CLIError("index \(index) is out of range (the residual has 0-\(c.dim - 1))")
        }
        try checkRange("top", top, 1...min(1000, c.vocabSize))
        let r = LMHeadDecoder(model: lm.model, norm: norm).decodeResidualIndex(
            index, scale: scale, topK: top, bottomK: top)
        func text(_ id: Int32) -> String { String(decoding: lm.tokenizer.tokenBytes(id), as: UTF8.self) }
        print("residual index \(index) × \(scale) (norm \(norm.rawValue)):")
        print("top:    " + Neurons.tokenList(r.top, text))
        print("bottom: " + Neurons.tokenList(r.bottom, text))
    }
}

// MARK: shared by the subcommands

enum Neurons {
    static func defaultMapPath(model: String, kind: NeuronKind) -> String {
        let base = ((model as NSString).lastPathComponent as NSString).deletingPathExtension
        return "Runs/neurons/\(base).\(kind.rawValue).nmap"
    }

    /// "12:345" → (12, 345), checked against the model's shape.
    static func parseNeuron(_ s: String, what: String, nLayers: Int, mlpWidth: Int) throws -> (Int, Int) {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let l = Int(parts[0]), let i = Int(parts[1]) else {
            throw CLIError("\(what) expects LAYER:INDEX like 12:345, got '\(s)'")
        }
        guard l >= 0, l < nLayers else {
            throw CLIError("\(what) \(s): layer \(l) is out of range (the model has layers 0-\(nLayers - 1))")
        }
        guard i >= 0, i < mlpWidth else {
            throw CLIError("\(what) \(s): index \(i) is out of range (the MLP has neurons 0-\(mlpWidth - 1))")
        }
        return (l, i)
    }

    /// Left-aligned in `width` columns, never cut (String.padding truncates longer text).
    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s.padding(toLength: width, withPad: " ", startingAt: 0)
    }

    static func quoted(_ t: String) -> String { "'" + tsvEscape(t) + "'" }

    static func tokenList(_ list: [(id: Int32, prob: Float)], _ name: (Int32) -> String) -> String {
        list.map { quoted(name($0.id)) + String(format: " %.3g", $0.prob) }.joined(separator: ", ")
    }
}
