// irm neurons map|find|show|clamp|compare|residual — MLP neurons read through the LM head (Davies,
// arXiv 2501.02688). The numerics live in Analysis (LMHeadDecoder, NeuronMap, NeuronClamp, compareTop1).
import Foundation
import Figures
import Analysis
import Llama
import ModelIO
import Numerics

enum NeuronsCommand {
    struct Sub {
        let name: String, usage: String, summary: String
        let options: Set<String>
        var positional = false
    }
    static let common: Set<String> = ["model", "tokenizer", "dtype", "threads"]
    static let subs: [Sub] = [
        Sub(name: "map", usage: "[--model M] [--kind up|gate|down] [--layers L] [--top K] [--bottom K] [--norm final|none] [--out FILE] [--tsv FILE]",
            summary: "decode every neuron of the layers through the LM head; write FILE (binary) and a TSV",
            options: common.union(["kind", "layers", "top", "bottom", "norm", "out", "tsv"])),
        Sub(name: "find", usage: "WORD [--map FILE] [--bottom-list] [--substring] [--limit N]",
            summary: "neurons whose top tokens are WORD (any casing, with or without a leading space), best first",
            options: ["model", "kind", "map", "bottom-list", "substring", "limit"], positional: true),
        Sub(name: "show", usage: "LAYER:INDEX [--map FILE]", summary: "one neuron's top and bottom tokens",
            options: ["model", "kind", "map"], positional: true),
        Sub(name: "clamp", usage: "--neuron LAYER:INDEX --value V --prompt TEXT [--chat] [--max-tokens N] [--token WORD] [--sweep-values LIST]",
            summary: "generate with the neuron's activation clamped at V at every position, next to the unclamped run",
            options: common.union(["neuron", "value", "prompt", "chat", "system", "max-tokens", "token", "sweep-values", "kind", "norm"])),
        Sub(name: "compare", usage: "--model A --model B [--layers L] [--kind K] [--norm N]  |  --map A --map B",
            summary: "share of neurons whose top-1 token agrees between two models of the same shape",
            options: common.union(["map", "layers", "kind", "norm"])),
        Sub(name: "residual", usage: "INDEX [--model M] [--scale S] [--top K] [--norm final|none]",
            summary: "decode the residual basis direction e_INDEX (e.g. an IRM run's dominant index) through the LM head",
            options: common.union(["scale", "top", "norm"]), positional: true),
    ]

    static let spec = CommandSpec(
        name: "neurons", summary: "decode MLP neurons through the LM head: map, find, show, clamp, compare",
        usage: "SUBCOMMAND ...\n" + subs.map { "       irm neurons \($0.name) \($0.usage)\n           \($0.summary)" }.joined(separator: "\n"),
        options: modelOptions.map { $0.name == "model" ? Option(name: "model", value: "PATH", help: $0.help + "; twice for compare", repeatable: true) : $0 } + [
            Option(name: "kind", value: "up|gate|down", help: "neuron vectors: up-projection rows (default), gate rows, down-projection columns"),
            Option(name: "layers", value: "L", help: "layers to map, e.g. 0-3,7 (default all)"),
            Option(name: "top", value: "K", help: "tokens kept per neuron (map: default 10; residual: default 20)"),
            Option(name: "bottom", value: "K", help: "most suppressed tokens kept per neuron (default = --top)"),
            Option(name: "norm", value: "final|none", help: "multiply by the final RMSNorm gain before the LM head (default final)"),
            Option(name: "out", value: "FILE", help: "map file (default Runs/neurons/MODEL.KIND.nmap)"),
            Option(name: "tsv", value: "FILE", help: "TSV file (default: the map file with .tsv)"),
            Option(name: "map", value: "FILE", help: "map file to query (default Runs/neurons/MODEL.KIND.nmap); twice for compare", repeatable: true),
            Option(name: "bottom-list", value: nil, help: "find: search the bottom (most suppressed) lists"),
            Option(name: "substring", value: nil, help: "find: also match tokens that contain WORD"),
            Option(name: "limit", value: "N", help: "find: results to print (default 20)"),
            Option(name: "neuron", value: "LAYER:INDEX", help: "clamp: the neuron"),
            Option(name: "value", value: "V", help: "clamp: the activation value (default 10)"),
            Option(name: "prompt", value: "TEXT", help: "clamp: the prompt"),
            Option(name: "chat", value: nil, help: "clamp: format the prompt with the chat template"),
            Option(name: "system", value: "TEXT", help: "clamp: system prompt for --chat"),
            Option(name: "max-tokens", value: "N", help: "clamp: tokens to generate (default 24)"),
            Option(name: "token", value: "WORD", help: "clamp: the concept token to watch (default: the neuron's top token)"),
            Option(name: "sweep-values", value: "LIST", help: "clamp: values to sweep, e.g. 0,5,10,20 or 0:40:5"),
            Option(name: "scale", value: "S", help: "residual: the value at the index (sets the softmax's sharpness; default 10)"),
        ],
        positional: "SUBCOMMAND and its arguments")

    static func run(_ args: Arguments) throws {
        guard let subName = args.positionals.first else {
            throw CLIError("irm neurons: give a subcommand: " + subs.map(\.name).joined(separator: ", ") + " (see irm neurons --help)")
        }
        guard let sub = subs.first(where: { $0.name == subName }) else {
            throw CLIError("irm neurons: unknown subcommand '\(subName)' (one of " + subs.map(\.name).joined(separator: ", ") + ")")
        }
        for key in args.values.keys where !sub.options.contains(key) {
            throw CLIError("irm neurons \(sub.name): --\(key) does not apply (usage: irm neurons \(sub.name) \(sub.usage))")
        }
        if sub.name != "compare" {
            for k in ["model", "map"] where args.strings(k).count > 1 { throw CLIError("irm neurons \(sub.name): --\(k) given twice") }
        }
        let rest = Array(args.positionals.dropFirst())
        if !sub.positional, let extra = rest.first { throw CLIError("irm neurons \(sub.name): unexpected argument '\(extra)'") }
        switch sub.name {
        case "map": try runMap(args)
        case "find": try runFind(args, rest)
        case "show": try runShow(args, rest)
        case "clamp": try runClamp(args)
        case "compare": try runCompare(args)
        default: try runResidual(args, rest)
        }
    }

    // MARK: helpers

    static func err(_ m: String) -> CLIError { CLIError("irm neurons: " + m) }

    static func modelPath(_ args: Arguments) -> String { args.strings("model").first ?? defaultModelPath }

    static func defaultMapPath(model: String, kind: NeuronKind) -> String {
        let base = ((model as NSString).lastPathComponent as NSString).deletingPathExtension
        return "Runs/neurons/\(base).\(kind.rawValue).nmap"
    }

    static func mapPath(_ args: Arguments) throws -> String {
        if let p = args.strings("map").first { return p }
        return defaultMapPath(model: modelPath(args), kind: try args.choice("kind", default: NeuronKind.up))
    }

    /// "0-3,7,10" → [0, 1, 2, 3, 7, 10]; "all" or nil → every layer.
    static func parseLayers(_ s: String?, nLayers: Int) throws -> [Int] {
        guard let s, s != "all" else { return Array(0..<nLayers) }
        var out: [Int] = []
        for part in s.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard (ends.count == 1 || ends.count == 2), let lo = ends.first!, let hi = ends.last! , lo <= hi else {
                throw err("--layers expects a list like 0-3,7, got '\(s)'")
            }
            guard lo >= 0, hi < nLayers else { throw err("--layers: layer \(lo < 0 ? lo : hi) is out of range (the model has layers 0-\(nLayers - 1))") }
            for l in lo...hi where !out.contains(l) { out.append(l) }
        }
        return out
    }

    /// "12:345" → (12, 345), checked against the model's shape.
    static func parseNeuron(_ s: String, what: String, nLayers: Int, hidden: Int) throws -> (Int, Int) {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let l = Int(parts[0]), let i = Int(parts[1]) else {
            throw err("\(what) expects LAYER:INDEX like 12:345, got '\(s)'")
        }
        guard l >= 0, l < nLayers else { throw err("\(what) \(s): layer \(l) is out of range (the model has layers 0-\(nLayers - 1))") }
        guard i >= 0, i < hidden else { throw err("\(what) \(s): index \(i) is out of range (the MLP has neurons 0-\(hidden - 1))") }
        return (l, i)
    }

    /// Left-aligned in `width` columns, never cut (String.padding truncates longer text).
    static func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s.padding(toLength: width, withPad: " ", startingAt: 0) }

    static func quoted(_ t: String) -> String { "'" + tsvEscape(t) + "'" }

    static func tokenList(_ list: [(id: Int32, prob: Float)], _ name: (Int32) -> String) -> String {
        list.map { quoted(name($0.id)) + String(format: " %.3g", $0.prob) }.joined(separator: ", ")
    }

    static func stderrLine(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    // MARK: map

    static func runMap(_ args: Arguments) throws {
        let kind: NeuronKind = try args.choice("kind", default: .up)
        let norm: DecodeNorm = try args.choice("norm", default: .final)
        let lm = try loadModel(args)
        let c = lm.model.config
        let layers = try parseLayers(args.string("layers"), nLayers: c.nLayers)
        let k = try args.int("top", default: 10, range: 1...min(1000, c.vocabSize))
        let kb = try args.int("bottom", default: k, range: 0...min(1000, c.vocabSize))
        let path = modelPath(args)
        let out = args.string("out") ?? defaultMapPath(model: path, kind: kind)
        let tsv = args.string("tsv") ?? ((out as NSString).deletingPathExtension + ".tsv")
        if args.string("out") == nil { try? FileManager.default.createDirectory(atPath: "Runs/neurons", withIntermediateDirectories: true) }
        let tokens = tokenTexts(count: c.vocabSize, bytes: lm.tokenizer.tokenBytes)
        let progress = NeuronProgress(label: "irm neurons map")
        let t0 = DispatchTime.now().uptimeNanoseconds
        let map = NeuronMap.build(model: lm.model, tokens: tokens, kind: kind, norm: norm, layers: layers, topK: k, bottomK: kb,
                                  modelName: (path as NSString).lastPathComponent, progress: progress.update)
        let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        try map.write(to: out)
        try map.writeTSV(to: tsv)
        let gflop = 2 * Double(map.neuronCount) * Double(c.vocabSize) * Double(c.dim) / 1e9
        print(String(format: "mapped %d %@ neurons (%d layers × %d) against %d tokens in %.1f s: %.0f GFLOP, %.1f GFLOP/s, %d threads",
                     map.neuronCount, kind.rawValue, layers.count, c.hiddenDim, c.vocabSize, secs, gflop, gflop / secs, numThreads))
        print("wrote \(out) and \(tsv)")
    }

    // MARK: find / show

    static func runFind(_ args: Arguments, _ rest: [String]) throws {
        guard rest.count == 1 else { throw err("find: give exactly one WORD") }
        let limit = try args.int("limit", default: 20, range: 1...1_000_000)
        let map = try NeuronMap.read(path: try mapPath(args))
        let bottom = args.flag("bottom-list")
        let hits = map.find(rest[0], bottom: bottom, substring: args.flag("substring"), limit: limit)
        if hits.isEmpty {
            print("no neuron has \(quoted(rest[0])) in its \(bottom ? "bottom" : "top")-\(bottom ? map.bottomK : map.k) tokens")
            return
        }
        print("neuron      p(match)  match (rank)                  \(bottom ? "bottom" : "top") tokens")
        for h in hits {
            let e = map.entry(layer: h.layer, index: h.index)!
            let m = h.tokens.map { "\(quoted(map.token($0.id))) (#\($0.rank + 1))" }.joined(separator: " ")
            let list = bottom ? map.decoded.bottom(e) : map.decoded.top(e)
            let name = "\(h.layer):\(h.index)"
            print(pad(name, 11) + " " + String(format: "%-8.3g", h.prob) + "  "
                  + pad(m, 30) + tokenList(Array(list.prefix(5)), map.token))
        }
    }

    static func runShow(_ args: Arguments, _ rest: [String]) throws {
        guard rest.count == 1 else { throw err("show: give exactly one LAYER:INDEX") }
        let path = try mapPath(args)
        let map = try NeuronMap.read(path: path)
        let (l, i) = try parseNeuron(rest[0], what: "show", nLayers: map.modelLayers, hidden: map.hiddenDim)
        guard let e = map.entry(layer: l, index: i) else {
            throw err("show \(rest[0]): layer \(l) is not in \(path) (it maps layers \(map.layers.map(String.init).joined(separator: ",")))")
        }
        print("neuron \(l):\(i) (\(map.kind.rawValue), norm \(map.norm.rawValue), \(map.modelName))")
        print("top:    " + tokenList(map.decoded.top(e), map.token))
        if map.bottomK > 0 { print("bottom: " + tokenList(map.decoded.bottom(e), map.token)) }
    }

    // MARK: clamp

    static func parseValues(_ s: String) throws -> [Float] {
        let bad = err("--sweep-values expects a list like 0,5,10 or START:STOP:STEP, got '\(s)'")
        if s.contains(":") {
            let p = s.split(separator: ":").map { Float($0) }
            guard p.count == 3, let a = p[0], let b = p[1], let st = p[2], st > 0, b >= a, (b - a) / st <= 1000 else { throw bad }
            return stride(from: a, through: b + st * 1e-4, by: st).map { $0 }
        }
        let v = s.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !v.isEmpty, v.allSatisfy({ $0 != nil && $0!.isFinite }) else { throw bad }
        return v.map { $0! }
    }

    static func runClamp(_ args: Arguments) throws {
        let prompt = try args.required("prompt")
        let neuronText = try args.required("neuron")
        let value = try args.float("value", default: 10)
        let maxTokens = try args.int("max-tokens", default: 24, range: 1...4096)
        let sweep = try args.string("sweep-values").map(parseValues)
        let kind: NeuronKind = try args.choice("kind", default: .up)
        let norm: DecodeNorm = try args.choice("norm", default: .final)
        let lm = try loadModel(args)
        let m = lm.model, c = m.config, tok = lm.tokenizer
        let (layer, index) = try parseNeuron(neuronText, what: "--neuron", nLayers: c.nLayers, hidden: c.hiddenDim)
        let ids = lm.promptTokens(prompt, chat: args.flag("chat"), system: args.string("system"))
        guard !ids.isEmpty else { throw err("clamp: the prompt encodes to no tokens") }
        guard ids.count + maxTokens <= c.maxSeqLen else { throw err("clamp: prompt + --max-tokens exceed the context of \(c.maxSeqLen)") }
        func text(_ id: Int32) -> String { String(decoding: tok.tokenBytes(id), as: UTF8.self) }

        // The neuron read through the LM head; its top token is the concept watched unless --token names one.
        let vec = NeuronVectors(model: m, kind: kind).vector(layer: layer, index: index)
        let decoded = LMHeadDecoder(model: m, norm: norm).decode(vec, topK: 5)
        let watch: Int32
        if let w = args.string("token") {
            let enc = tok.encode(w, addSpecial: false, parseSpecial: false)
            guard enc.count == 1 else {
                throw err("clamp: --token '\(w)' is \(enc.count) tokens (\(enc.map { quoted(text($0)) }.joined(separator: " "))); give one token, e.g. with a leading space")
            }
            watch = enc[0]
        } else {
            watch = decoded.top[0].id
        }
        let w = quoted(text(watch))
        print("neuron \(layer):\(index) (\(kind.rawValue) row, norm \(norm.rawValue)) reads as: " + tokenList(decoded.top, text))
        // What a positive activation writes: the down column through the head. Its z-score for the watched token
        // tells which sign of V raises it (in SmolLM2 the late concept neurons write *against* their concept).
        let z = headZScore(model: m, vector: NeuronVectors(model: m, kind: .down).vector(layer: layer, index: index), token: watch)
        let hint = abs(z) < 2 ? "no direct push either way (any effect goes through later layers)"
                              : "\(z > 0 ? "positive" : "negative") values push it up directly"
        print(String(format: "watching p(%@) (id %d); prompt %d tokens", w, watch, ids.count))
        print(String(format: "the neuron's down column, read through the head, puts it at z = %+.1f σ: %@", z, hint))

        if let values = sweep {
            let rows = try clampSweep(model: m, prompt: ids, layer: layer, index: index, values: values, watch: watch, steps: maxTokens)
            print("\nvalue       p(\(w)) at step 1   mean p over \(maxTokens) steps")
            for r in rows { print(String(format: "%-10g  %-18.4g  %.4g", r.value, r.first, r.mean)) }
            return
        }

        let isStop: (Int32) -> Bool = { tok.isEndOfGeneration($0) }
        let base = try greedyProbe(model: m, prompt: ids, maxTokens: maxTokens, watch: watch, isStop: isStop)
        let clamp = NeuronClamp(layer: layer, index: index, value: value, hiddenDim: c.hiddenDim)
        let clamped = try greedyProbe(model: m, prompt: ids, maxTokens: maxTokens, watch: watch, intervention: clamp, isStop: isStop)
        func continuation(_ s: [ProbeStep]) -> String {
            tsvEscape(tok.decode(s.map(\.token).filter { !tok.isEndOfGeneration($0) }, skipSpecial: true))
        }
        print("\nunclamped:      \(continuation(base))")
        print("clamped (\(String(format: "%g", value))): \(continuation(clamped))")
        print("\nstep  unclamped token       p(\(w))     clamped token         p(\(w))")
        for s in 0..<max(base.count, clamped.count) {
            func cell(_ r: [ProbeStep]) -> String {
                guard s < r.count else { return "".padding(toLength: 34, withPad: " ", startingAt: 0) }
                return pad(quoted(text(r[s].token)), 20) + "  " + String(format: "%-10.4g", r[s].watchedProb)
            }
            print(String(format: "%4d  ", s + 1) + cell(base) + "  " + cell(clamped))
        }
        func mean(_ r: [ProbeStep]) -> Float { r.reduce(0) { $0 + $1.watchedProb } / Float(r.count) }
        print(String(format: "\np(%@) at step 1: %.4g → %.4g;  mean over the steps: %.4g → %.4g",
                     w, base[0].watchedProb, clamped[0].watchedProb, mean(base), mean(clamped)))
    }

    /// z-score of `token`'s logit among all logits of W_U·(g⊙v).
    static func headZScore(model m: LlamaModel, vector v: [Float], token: Int32) -> Float {
        let g = m.weights.outputNorm
        let x = v.enumerated().map { $0.element * g[$0.offset] }
        var logits = [Float](repeating: 0, count: m.config.vocabSize)
        x.withUnsafeBufferPointer { xp in logits.withUnsafeMutableBufferPointer { matmul(xp.baseAddress!, 1, m.weights.output, $0.baseAddress!) } }
        let n = Float(logits.count)
        let mean = logits.reduce(0, +) / n
        let sd = (logits.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        return sd > 0 ? (logits[Int(token)] - mean) / sd : 0
    }

    // MARK: compare

    static func runCompare(_ args: Arguments) throws {
        let maps = args.strings("map"), models = args.strings("model")
        let a: NeuronMap, b: NeuronMap
        if !maps.isEmpty {
            guard maps.count == 2, models.isEmpty, args.string("layers") == nil else {
                throw err("compare: give --map A --map B, or --model A --model B")
            }
            a = try NeuronMap.read(path: maps[0]); b = try NeuronMap.read(path: maps[1])
        } else {
            guard models.count == 2 else { throw err("compare: give two models (--model A --model B) or two maps (--map A --map B)") }
            let kind: NeuronKind = try args.choice("kind", default: .up)
            let norm: DecodeNorm = try args.choice("norm", default: .final)
            try applyThreads(args)
            let storage: WeightStorage = try args.choice("dtype", default: .auto)
            var built: [NeuronMap] = []
            var shape: LlamaConfig?
            for path in models {
                let model = try LlamaModel.load(path: path, storage: storage)
                let c = model.config
                if let s = shape, s.dim != c.dim || s.hiddenDim != c.hiddenDim || s.nLayers != c.nLayers || s.vocabSize != c.vocabSize {
                    throw err("compare: \(path) has a different shape (dim \(c.dim), MLP \(c.hiddenDim), \(c.nLayers) layers, vocab \(c.vocabSize)) than \(models[0]) (dim \(s.dim), MLP \(s.hiddenDim), \(s.nLayers) layers, vocab \(s.vocabSize))")
                }
                shape = c
                let layers = try parseLayers(args.string("layers"), nLayers: c.nLayers)
                let progress = NeuronProgress(label: (path as NSString).lastPathComponent)
                built.append(NeuronMap.build(model: model, tokens: [], kind: kind, norm: norm, layers: layers, topK: 1, bottomK: 0,
                                             modelName: path, progress: progress.update))
            }
            a = built[0]; b = built[1]
        }
        let r: NeuronAgreement
        do { r = try compareTop1(a, b) } catch let e as NeuronCompareError { throw err("compare: " + e.description) }
        print("top-1 agreement of \(a.kind.rawValue) neurons: \(a.modelName) vs \(b.modelName)")
        for (s, l) in r.layers.enumerated() {
            print(String(format: "layer %3d  %6.2f %%  (%d / %d)", l, 100 * r.share(slot: s), r.perLayer[s].agree, r.perLayer[s].total))
        }
        print(String(format: "overall    %6.2f %%  (%d / %d)", 100 * r.share, r.agree, r.total))
    }

    // MARK: residual

    static func runResidual(_ args: Arguments, _ rest: [String]) throws {
        guard rest.count == 1, let index = Int(rest[0]) else { throw err("residual: give one INDEX (a hidden-state index)") }
        let norm: DecodeNorm = try args.choice("norm", default: .final)
        let scale = try args.float("scale", default: 10)
        let lm = try loadModel(args)
        let c = lm.model.config
        guard index >= 0, index < c.dim else { throw err("residual: index \(index) is out of range (the residual has 0-\(c.dim - 1))") }
        let k = try args.int("top", default: 20, range: 1...min(1000, c.vocabSize))
        let r = LMHeadDecoder(model: lm.model, norm: norm).decodeResidualIndex(index, scale: scale, topK: k, bottomK: k)
        func text(_ id: Int32) -> String { String(decoding: lm.tokenizer.tokenBytes(id), as: UTF8.self) }
        print("residual index \(index) × \(scale) (norm \(norm.rawValue)):")
        print("top:    " + tokenList(r.top, text))
        print("bottom: " + tokenList(r.bottom, text))
    }
}
