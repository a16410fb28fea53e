// The neuron map (Davies, arXiv 2501.02688): every MLP neuron of the chosen layers decoded through the LM
// head (LMHeadDecoder.swift) into its top-K and bottom-K tokens. A neuron's vector is
//   up    row i of W_up   [hidden, dim]  (what the neuron reads from the residual stream; the paper's choice)
//   gate  row i of W_gate [hidden, dim]
//   down  column i of W_down [dim, hidden] (what the neuron writes into the residual stream)
// All neurons of all layers form one stream of vectors, so every GEMM block is full.
import Foundation
import Numerics
import Llama

public enum NeuronKind: String, Sendable, CaseIterable {
    case up, gate, down
}

/// A map held in memory: header fields plus flat per-neuron lists. Neuron n of map layer slot s is entry
/// s·hiddenDim + n; its lists are at entry·k ..< entry·k + k (and entry·bottomK … for the bottom list).
public struct NeuronMap: Sendable {
    public var kind: NeuronKind
    public var norm: DecodeNorm
    public var dim: Int, hiddenDim: Int, modelLayers: Int, vocab: Int
    public var layers: [Int]
    public var modelName: String
    /// The text of every token id (decoded bytes; specials as their text), so a map answers queries alone.
    public var tokens: [String]
    public var decoded: DecodedTokens
    /// How a map built here was decoded (not stored in the file): the method, and the screen's candidate counts.
    public var method: DecodeMethod?, screenStats: ScreenStats?
    public var k: Int { decoded.k }
    public var bottomK: Int { decoded.bottomK }

    public init(
        kind: NeuronKind, norm: DecodeNorm, dim: Int, hiddenDim: Int, modelLayers: Int, vocab: Int,
        layers: [Int], modelName: String, tokens: [String], decoded: DecodedTokens
    ) {
        self.kind = kind; self.norm = norm; self.dim = dim; self.hiddenDim = hiddenDim; self.modelLayers = modelLayers
        self.vocab = vocab; self.layers = layers; self.modelName = modelName; self.tokens = tokens;
        self.decoded = decoded
    }

    /// Entry number of (layer, index), or nil when the layer is not in the map or the index is out of range.
    public func entry(layer: Int, index: Int) -> Int? {
        guard index >= 0, index < hiddenDim, let s = layers.firstIndex(of: layer) else { return nil }
        return s * hiddenDim + index
    }
    public func neuron(ofEntry e: Int) -> (layer: Int, index: Int) { (layers[e / hiddenDim], e % hiddenDim) }
    public func token(_ id: Int32) -> String { id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : "<\(id)>" }
    public var neuronCount: Int { layers.count * hiddenDim }

    /// Builds the map of `kind` over `layers` of `model`. `tokens[id]` is each token's text (may be shorter
    /// than the model's vocabulary; missing ones render as <id>).
    public static func build(
        model: LlamaModel, tokens: [String], kind: NeuronKind = .up, norm: DecodeNorm = .final,
        layers: [Int]? = nil, topK: Int = 10, bottomK: Int? = nil, modelName: String? = nil,
        method: DecodeMethod = .best, progress: ((Int, Int) -> Void)? = nil
    ) -> NeuronMap {
        let c = model.config
        let ls = layers ?? Array(0..<c.nLayers)
        let decoder = LMHeadDecoder(model: model, norm: norm)
        decoder.method = method
        let total = ls.count * c.hiddenDim
        let source = NeuronVectors(model: model, kind: kind)
        let decoded = decoder.decode(
            count: total, topK: topK, bottomK: bottomK ?? topK,
            fill: { start, n, dst in
                source.fill(layers: ls, start: start, count: n, dst)
            }, progress: progress.map { p in { p($0, total) } })
        var map = NeuronMap(
            kind: kind, norm: norm, dim: c.dim, hiddenDim: c.hiddenDim, modelLayers: c.nLayers,
            vocab: c.vocabSize, layers: ls, modelName: modelName ?? model.path, tokens: tokens, decoded: decoded)
        map.method = method
        if case .screened = method { map.screenStats = decoder.screenStats }
        return map
    }
}

/// The residual-space vector of each neuron, produced block by block in map order.
public final class NeuronVectors {
    let model: LlamaModel
    let kind: NeuronKind
    private var downLayer = -1
    private var downT = FloatBuffer(count: 0)  // W_downᵀ of `downLayer`, [hidden, dim]

    public init(model: LlamaModel, kind: NeuronKind) { self.model = model; self.kind = kind }

    /// Writes the vectors of map entries start ..< start+count (entries run over `layers` × hidden) into dst [count, dim].
    public func fill(layers: [Int], start: Int, count: Int, _ dst: UnsafeMutablePointer<Float>) {
        let H = model.config.hiddenDim, D = model.config.dim
        for r in 0..<count {
            let e = start + r
            let layer = layers[e / H], i = e % H
            let L = model.weights.layers[layer]
            switch kind {
            case .up: L.wUp.copyRow(i, into: dst + r * D)
            case .gate: L.wGate.copyRow(i, into: dst + r * D)
            case .down:
                if downLayer != layer { transposeDown(L.wDown, layer) }
                (dst + r * D).update(from: downT.ptr + i * D, count: D)
            }
        }
    }

    /// W_down [dim, hidden] → [hidden, dim], once per layer: column gathers would stride through memory.
    private func transposeDown(_ w: Weight, _ layer: Int) {
        let D = w.rows, H = w.cols
        if downT.count != H * D { downT = FloatBuffer(count: H * D) }
        let out = SendablePointer(downT.ptr)
        parallelRanges(D, align: 8) { range in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: H)
            defer { row.deallocate() }
            for d in range {
                w.copyRow(d, into: row)
                for h in 0..<H { out.p[h * D + d] = row[h] }
            }
        }
        downLayer = layer
    }

    /// One neuron's vector (with no norm gain applied).
    public func vector(layer: Int, index: Int) -> [Float] {
        var v = [Float](repeating: 0, count: model.config.dim)
        v.withUnsafeMutableBufferPointer { fill(layers: [layer], start: index, count: 1, $0.baseAddress!) }
        return v
    }
}

/// Token texts of a tokenizer's ids 0..<count: the decoded bytes, specials as their text. A byte that is not part
/// of a valid UTF-8 character (a byte-fallback token, half of a character split over two tokens) reads `<0xNN>`,
/// so that such tokens stay distinguishable instead of all showing U+FFFD.
public func tokenTexts(count: Int, bytes: (Int32) -> [UInt8]) -> [String] {
    (0..<count).map { displayText(bytes(Int32($0))) }
}

/// UTF-8 text with every byte outside a valid character written `<0xNN>`.
public func displayText(_ b: [UInt8]) -> String {
    var out = "", i = 0
    while i < b.count {
        let lead = b[i]
        let n =
            lead < 0x80
            ? 1
            : (0xC2...0xDF).contains(lead)
                ? 2
                : (0xE0...0xEF).contains(lead)
                    ? 3
                    : (0xF0...0xF4).contains(lead) ? 4 : 0
        if n > 0, i + n <= b.count, let s = String(bytes: b[i..<i + n], encoding: .utf8) {
            out += s; i += n
        } else {
            out += String(format: "<0x%02X>", lead); i += 1
        }
    }
    return out
}

// MARK: - Progress

/// A progress line on stderr: redrawn in place (\r) on a terminal, else a plain line about every 5 s.
public final class NeuronProgress: @unchecked Sendable {
    let label: String
    let start = DispatchTime.now().uptimeNanoseconds
    var lastPrint: UInt64 = 0
    let tty = isatty(2) != 0

    public init(label: String) { self.label = label }

    public func update(_ done: Int, _ total: Int) {
        let now = DispatchTime.now().uptimeNanoseconds
        let finished = done >= total
        if !tty && !finished && now - lastPrint < 5_000_000_000 && lastPrint != 0 { return }
        if tty && !finished && now - lastPrint < 100_000_000 { return }
        lastPrint = now
        let secs = Double(now - start) / 1e9
        let rate = Double(done) / max(secs, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let frac = total > 0 ? Double(done) / Double(total) : 1
        let width = 24, filled = Int(frac * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = String(
            format: "%@ [%@] %5.1f%% %d/%d rows, %.0f rows/s, %@ %.0fs",
            label, bar, frac * 100, done, total, rate, finished ? "took" : "ETA", finished ? secs : eta)
        let text = tty ? "\r" + line + (finished ? "\n" : "") : line + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
