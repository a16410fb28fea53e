// The neuron map on disk: a small binary format of our own for fast queries, and a TSV for people.
//
// Binary (.nmap), all integers little-endian u32 unless noted:
//   0   magic "IRMNMAP\0" (8 bytes)
//   8   version (2; version 1 files, without the logits, are still read)
//   12  kind (0 up, 1 gate, 2 down)      16  norm (0 final, 1 none)
//   20  k (top list length)              24  bottomK
//   28  dim    32  hiddenDim    36  model layers    40  vocab
//   44  L = number of mapped layers      48  nameBytes    52  T = number of token texts
//   56  L layer indices; nameBytes of model name (UTF-8); T token byte lengths; the token bytes;
//       zero padding to a multiple of 4
//   then, for N = L·hiddenDim neurons in map order (layer slot major):
//       top ids Int32 [N·k], top probs Float32 [N·k], bottom ids Int32 [N·bottomK], bottom probs Float32 [N·bottomK],
//       top logits Float32 [N·k], bottom logits Float32 [N·bottomK] (version 2)
// The logits are the exact fp32 ones whichever method made the map (LMHeadDecoder.swift: the screened map's
// equal the exact map's bit for bit); the probabilities of a screened map have a normaliser summed partly over
// screened values.
// The reader checks every length against the file size before use. Files are written to a temporary
// name and renamed, so a reader never sees half a map.
//
// TSV: header line, then one line per neuron: layer, index, then (token, probability) pairs for the top
// list (top1, p_top1, …) and the bottom list (bottom1, p_bottom1, …). Token texts keep their leading space;
// backslash, tab, newline and carriage return are escaped as \\ \t \n \r.
import Foundation
import Figures
import ModelIO
import Llama

private let magic: [UInt8] = Array("IRMNMAP\0".utf8)
private let formatVersion: UInt32 = 2

extension NeuronMap {
    // MARK: binary

    public func binaryData() -> Data {
        var d = Data()
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: magic)
        u32(Int(formatVersion))
        u32(NeuronKind.allCases.firstIndex(of: kind)!)
        u32(DecodeNorm.allCases.firstIndex(of: norm)!)
        u32(k); u32(bottomK); u32(dim); u32(hiddenDim); u32(modelLayers); u32(vocab)
        let name = Array(modelName.utf8)
        let toks = tokens.map { Array($0.utf8) }
        u32(layers.count); u32(name.count); u32(toks.count)
        for l in layers { u32(l) }
        d.append(contentsOf: name)
        for t in toks { u32(t.count) }
        for t in toks { d.append(contentsOf: t) }
        while d.count % 4 != 0 { d.append(0) }
        // x86-64 and arm64 are little-endian: the arrays are written as they are in memory.
        decoded.topIds.withUnsafeBytes { d.append(contentsOf: $0) }
        decoded.topProbs.withUnsafeBytes { d.append(contentsOf: $0) }
        decoded.bottomIds.withUnsafeBytes { d.append(contentsOf: $0) }
        decoded.bottomProbs.withUnsafeBytes { d.append(contentsOf: $0) }
        decoded.topLogits.withUnsafeBytes { d.append(contentsOf: $0) }
        decoded.bottomLogits.withUnsafeBytes { d.append(contentsOf: $0) }
        return d
    }

    public func write(to path: String) throws {
        try writeFileAtomically(binaryData(), to: path)
    }

    public static func read(path: String) throws -> NeuronMap {
        func bad(_ m: String) -> FileError { FileError(path, m) }
        guard FileManager.default.fileExists(atPath: path) else {
            throw bad("no such map file (make one with `irm neurons map --out \(path)`)")
        }
        let d: Data
        do { d = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw bad("cannot read: \(error.localizedDescription)")
        }
        return try d.withUnsafeBytes { try read(bytes: $0, path: path) }
    }

    /// Parses the bytes of a .nmap file; `path` names it in errors.
    public static func read(bytes raw: UnsafeRawBufferPointer, path: String) throws -> NeuronMap {
        func bad(_ m: String) -> FileError { FileError(path, m) }
        var off = 0
        func need(_ n: Int, _ what: String) throws {
            guard n >= 0, off <= raw.count, n <= raw.count - off else {
                throw bad("truncated neuron map (\(raw.count) bytes; \(what) needs \(n) bytes at offset \(off))")
            }
        }
        func u32(_ what: String) throws -> Int {
            try need(4, what)
            let v = raw.loadUnaligned(fromByteOffset: off, as: UInt32.self)
            off += 4
            return Int(UInt32(littleEndian: v))
        }
        try need(8, "the magic")
        guard Array(raw[0..<8]) == magic else { throw bad("not an irm neuron map (bad magic)") }
        off = 8
        let version = try u32("the version")
        guard version == 1 || version == Int(formatVersion) else {
            throw bad("neuron map version \(version) is not supported (expected 1 or \(formatVersion))")
        }
        let kindRaw = try u32("the kind"), normRaw = try u32("the norm")
        guard kindRaw < NeuronKind.allCases.count else { throw bad("unknown neuron kind \(kindRaw)") }
        guard normRaw < DecodeNorm.allCases.count else { throw bad("unknown norm \(normRaw)") }
        let k = try u32("k"), kb = try u32("bottomK"), dim = try u32("dim"), hidden = try u32("hiddenDim")
        let modelLayers = try u32("model layers"), vocab = try u32("vocab")
        let nl = try u32("the layer count"), nameBytes = try u32("the name length"), nt = try u32("the token count")
        guard k >= 1, k <= vocab, kb <= vocab, hidden >= 1, dim >= 1, nl <= modelLayers, nt <= vocab else {
            throw bad(
                "inconsistent header (k \(k), bottomK \(kb), vocab \(vocab), hidden \(hidden), layers \(nl)/\(modelLayers), tokens \(nt))"
            )
        }
        // A model's sizes at most (LlamaConfig's limits): they size the query tables and keep the sums below exact.
        guard vocab <= LlamaConfig.maxVocabSize, dim <= LlamaConfig.maxDim, hidden <= LlamaConfig.maxHiddenDim,
            modelLayers <= LlamaConfig.maxLayers
        else {
            throw bad(
                "implausible header (vocab \(vocab), dim \(dim), hidden \(hidden), \(modelLayers) layers): not a map of a Llama-family model"
            )
        }
        try need(4 * nl, "the layer list")
        var layers: [Int] = []
        for _ in 0..<nl {
            let l = try u32("a layer index")
            guard l < modelLayers else { throw bad("layer \(l) is outside the model's \(modelLayers) layers") }
            layers.append(l)
        }
        try need(nameBytes, "the model name")
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[off..<off + nameBytes]), as: UTF8.self)
        off += nameBytes
        try need(4 * nt, "the token lengths")
        var lens: [Int] = []
        lens.reserveCapacity(nt)
        var totalTok = 0
        for _ in 0..<nt { let n = try u32("a token length"); lens.append(n); totalTok += n }
        try need(totalTok, "the token texts")
        var tokens: [String] = []
        tokens.reserveCapacity(nt)
        for n in lens {
            tokens.append(String(decoding: UnsafeRawBufferPointer(rebasing: raw[off..<off + n]), as: UTF8.self))
            off += n
        }
        off = (off + 3) & ~3
        let N = nl * hidden
        let expected = off + N * (k + kb) * (version == 1 ? 8 : 12)
        guard raw.count == expected else {
            throw bad(
                raw.count < expected
                    ? "truncated neuron map (\(raw.count) bytes, expected \(expected))"
                    : "neuron map has \(raw.count - expected) trailing bytes (expected \(expected))")
        }
        var dec = DecodedTokens(count: N, k: k, bottomK: kb)
        func copy<T>(_ a: inout [T], _ n: Int) {
            a.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[off..<off + n * 4])) }
            off += n * 4
        }
        copy(&dec.topIds, N * k); copy(&dec.topProbs, N * k)
        copy(&dec.bottomIds, N * kb); copy(&dec.bottomProbs, N * kb)
        if version >= 2 { copy(&dec.topLogits, N * k); copy(&dec.bottomLogits, N * kb) }
        for id in dec.topIds where id < 0 || id >= vocab {
            throw bad("token id \(id) is outside the vocabulary of \(vocab)")
        }
        for id in dec.bottomIds where id < 0 || id >= vocab {
            throw bad("token id \(id) is outside the vocabulary of \(vocab)")
        }
        return NeuronMap(
            kind: NeuronKind.allCases[kindRaw], norm: DecodeNorm.allCases[normRaw], dim: dim,
            hiddenDim: hidden, modelLayers: modelLayers, vocab: vocab, layers: layers, modelName: name,
            tokens: tokens, decoded: dec)
    }

    // MARK: TSV

    public func tsvText() -> String {
        var s = "layer\tindex"
        for j in 1...k { s += "\ttop\(j)\tp_top\(j)" }
        for j in 0..<bottomK { s += "\tbottom\(j + 1)\tp_bottom\(j + 1)" }
        s += "\n"
        s.reserveCapacity(neuronCount * (k + bottomK) * 20)
        for e in 0..<neuronCount {
            let (l, i) = neuron(ofEntry: e)
            s += "\(l)\t\(i)"
            for j in 0..<k {
                s += "\t" + tsvEscape(token(decoded.topIds[e * k + j])) + "\t" + probText(decoded.topProbs[e * k + j])
            }
            for j in 0..<bottomK {
                s +=
                    "\t" + tsvEscape(token(decoded.bottomIds[e * bottomK + j])) + "\t"
                    + probText(decoded.bottomProbs[e * bottomK + j])
            }
            s += "\n"
        }
        return s
    }

    public func writeTSV(to path: String) throws {
        try writeFileAtomically(Data(tsvText().utf8), to: path)
    }
}

func probText(_ p: Float) -> String { String(format: "%.4g", p) }

private let tsvEscapes: [Unicode.Scalar: String] = ["\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"]

public func tsvEscape(_ s: String) -> String { escapingScalars(s, tsvEscapes) }
