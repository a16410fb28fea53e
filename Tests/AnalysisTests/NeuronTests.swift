import XCTest
import Foundation
@testable import Analysis
import Llama
import Numerics
import TestSupport

private func mutableFloats(_ w: Weight) -> UnsafeMutablePointer<Float> {
    precondition(w.type == .f32)
    return UnsafeMutableRawPointer(mutating: w.base).assumingMemoryBound(to: Float.self)
}

/// A tiny model built so that neuron (layer 1, index 5) means token 42 (" Dog"): its up-projection row is
/// 4·e/g (so the LM head reads g⊙w = 4e), the LM head's row 42 is 4·e, and its down-projection column is
/// e/g, so clamping it pushes the residual towards e and the logits towards token 42.
func handBuiltModel() -> (LlamaModel, [String], e: [Float]) {
    let cfg = LlamaConfig(dim: 16, hiddenDim: 32, nLayers: 2, nHeads: 2, nKVHeads: 2, vocabSize: 64, maxSeqLen: 64)
    let m = LlamaModel.random(cfg, seed: 11, type: .f32)
    var rng = Rng(seed: 99)
    var e = (0..<cfg.dim).map { _ in rng.normal() }
    let norm = e.reduce(0) { $0 + $1 * $1 }.squareRoot()
    e = e.map { $0 / norm }
    let g = m.weights.outputNorm.array
    let head = mutableFloats(m.weights.output)
    for d in 0..<cfg.dim { head[42 * cfg.dim + d] = 4 * e[d] }
    let L = m.weights.layers[1]
    let up = mutableFloats(L.wUp), down = mutableFloats(L.wDown)
    for d in 0..<cfg.dim {
        up[5 * cfg.dim + d] = 4 * e[d] / g[d]
        down[d * cfg.hiddenDim + 5] = e[d] / g[d]
    }
    var tokens = (0..<cfg.vocabSize).map { "t\($0)" }
    tokens[42] = " Dog"
    tokens[7] = "dogma"
    return (m, tokens, e)
}

final class LMHeadDecoderTests: XCTestCase {
    func testExpAndSumMatchDouble() {
        var rng = Rng(seed: 3)
        let n = 1003
        let l = (0..<n).map { _ in -rng.uniform() * 86 }
        let ref = l.reduce(0.0) { $0 + exp(Double($1)) }
        let got = l.withUnsafeBufferPointer { sumExpShifted($0.baseAddress!, n, 0) }
        XCTAssertEqual(Double(got), ref, accuracy: ref * 1e-6)
        // Lane-wise accuracy of the vectorised exp, including the clamp region.
        for x: Float in [0, -1e-8, -0.3466, -0.3467, -1, -10, -50, -86.9, -87] {
            let v = expNonPositive8(SIMD8(repeating: x))[0]
            let r = exp(Double(x))
            XCTAssertEqual(Double(v), r, accuracy: r * 3e-7, "exp(\(x))")
        }
    }

    /// Top/bottom-K and probabilities against a Double softmax over the full row, f16 head, norm gain,
    /// blocks that do not divide the count.
    func testDecodeMatchesNaiveSoftmax() {
        var rng = Rng(seed: 5)
        let vocab = 301, dim = 40, count = 11, K = 7
        let head = randomWeight(rows: vocab, cols: dim, type: .f16, rng: &rng, scale: 1)
        let g = (0..<dim).map { _ in 0.5 + rng.uniform() }
        let vecs = (0..<count * dim).map { _ in rng.normal() }
        let dec = LMHeadDecoder(head: head, gain: g)
        dec.blockRows = 4
        let r = vecs.withUnsafeBufferPointer { dec.decode(vectors: $0.baseAddress!, count: count, topK: K, bottomK: K) }
        for i in 0..<count {
            var logits = [Double](repeating: 0, count: vocab)
            for t in 0..<vocab {
                for d in 0..<dim { logits[t] += Double(head.value(t, d)) * Double(g[d] * vecs[i * dim + d]) }
            }
            let m = logits.max()!
            let z = logits.reduce(0) { $0 + exp($1 - m) }
            let order = (0..<vocab).sorted { logits[$0] > logits[$1] }
            for j in 0..<K {
                XCTAssertEqual(Int(r.topIds[i * K + j]), order[j], "row \(i) top \(j)")
                let pt = exp(logits[order[j]] - m) / z
                XCTAssertEqual(Double(r.topProbs[i * K + j]), pt, accuracy: 1e-7 + 1e-4 * pt)
                XCTAssertEqual(Int(r.bottomIds[i * K + j]), order[vocab - 1 - j], "row \(i) bottom \(j)")
                let pb = exp(logits[order[vocab - 1 - j]] - m) / z
                XCTAssertEqual(Double(r.bottomProbs[i * K + j]), pb, accuracy: pb * 1e-3)
            }
        }
    }

    /// Rows whose logits spread over more than 87 nats take the scalar path; probabilities stay exact.
    func testWideRow() {
        var l = (0..<100).map { Float($0) * 1.5 - 40 }  // spread 148.5
        l[17] = 200
        var ti = [Int32](repeating: 0, count: 2), tp = [Float](repeating: 0, count: 2)
        var bi = [Int32](repeating: 0, count: 1), bp = [Float](repeating: 0, count: 1)
        selectSoftmax(l, 100, k: 2, kb: 1, topIds: &ti, topProbs: &tp, botIds: &bi, botProbs: &bp)
        XCTAssertEqual(ti, [17, 99]); XCTAssertEqual(bi, [0])
        XCTAssertEqual(tp[0], 1, accuracy: 1e-6)
        XCTAssertEqual(Double(tp[1]), exp(Double(l[99] - 200)), accuracy: exp(Double(l[99] - 200)) * 1e-4)
        XCTAssertEqual(bp[0], 0)
    }

    func testResidualIndexIsHeadColumnRanking() {
        var rng = Rng(seed: 8)
        let head = randomWeight(rows: 50, cols: 8, type: .f32, rng: &rng, scale: 1)
        let dec = LMHeadDecoder(head: head, gain: nil)
        let r = dec.decodeResidualIndex(3, scale: 10, topK: 3)
        let order = (0..<50).sorted { head.value($0, 3) > head.value($1, 3) }
        XCTAssertEqual(r.top.map { Int($0.id) }, Array(order.prefix(3)))
    }
}

final class NeuronMapTests: XCTestCase {
    func testByteTokensReadAsHex() {
        XCTAssertEqual(displayText([0xE2]), "<0xE2>")  // first byte of a 3-byte character
        XCTAssertEqual(displayText([0x41, 0xFF, 0x42]), "A<0xFF>B")
        XCTAssertEqual(displayText(Array(" café".utf8)), " café")
        XCTAssertEqual(displayText([0xC3, 0x28]), "<0xC3>(")  // lead byte without its continuation
        XCTAssertEqual(displayText([0xED, 0xA0, 0x80]), "<0xED><0xA0><0x80>")  // an encoded surrogate is not UTF-8
        let texts = tokenTexts(count: 3) { [[0x80], Array("dog".utf8), [0xF0, 0x9F, 0x90, 0xB6]][Int($0)] }
        XCTAssertEqual(texts, ["<0x80>", "dog", "🐶"])
    }

    func testMapFindsHandBuiltNeuron() throws {
        let (m, tokens, _) = handBuiltModel()
        let map = NeuronMap.build(model: m, tokens: tokens, topK: 5)
        let e = try XCTUnwrap(map.entry(layer: 1, index: 5))
        XCTAssertEqual(map.decoded.topIds[e * 5], 42)
        XCTAssertGreaterThan(map.decoded.topProbs[e * 5], 0.9)
        // find: any casing, with or without the space marker; "dogma" does not match the word.
        for q in ["dog", "Dog", " DOG", "Ġdog", "▁dog"] {
            let hits = map.find(q)
            XCTAssertEqual(hits.first?.layer, 1, q); XCTAssertEqual(hits.first?.index, 5, q)
            XCTAssertTrue(hits.allSatisfy { h in h.tokens.allSatisfy { $0.id == 42 } })
        }
        if map.decoded.topIds.contains(7) {
            XCTAssertTrue(map.find("dog", substring: true).flatMap { $0.tokens.map(\.id) }.contains(7))
        }
        XCTAssertTrue(map.find("cat").isEmpty)
    }

    func testAllKindsAndNoNorm() throws {
        let (m, tokens, _) = handBuiltModel()
        for kind in NeuronKind.allCases {
            for norm in DecodeNorm.allCases {
                let map = NeuronMap.build(
                    model: m, tokens: tokens, kind: kind, norm: norm, layers: [1], topK: 3, bottomK: 2)
                // Entry 5 against decoding that neuron's vector alone.
                let v = NeuronVectors(model: m, kind: kind).vector(layer: 1, index: 5)
                let single = LMHeadDecoder(model: m, norm: norm).decode(v, topK: 3, bottomK: 2)
                XCTAssertEqual(map.decoded.top(5).map(\.id), single.top.map(\.id), "\(kind) \(norm)")
                XCTAssertEqual(map.decoded.bottom(5).map(\.id), single.bottom.map(\.id), "\(kind) \(norm)")
            }
        }
        // The down kind decodes W_down's column: column 5 was built as e/g, so with the norm it reads as 42 too.
        let down = NeuronMap.build(model: m, tokens: tokens, kind: .down, layers: [1], topK: 1)
        XCTAssertEqual(down.decoded.topIds[5], 42)
        // And the transposed gather agrees with W_down's column elementwise.
        let col = NeuronVectors(model: m, kind: .down).vector(layer: 1, index: 9)
        for d in 0..<16 { XCTAssertEqual(col[d], m.weights.layers[1].wDown.value(d, 9)) }
    }

    func testClampRaisesConceptProbability() throws {
        let (m, _, _) = handBuiltModel()
        let prompt: [Int32] = [1, 2, 3, 4]
        let base = try greedyProbe(model: m, prompt: prompt, maxTokens: 4, watch: 42)
        let clamp = NeuronClamp(layer: 1, index: 5, value: 30, hiddenDim: m.config.hiddenDim)
        let clamped = try greedyProbe(model: m, prompt: prompt, maxTokens: 4, watch: 42, intervention: clamp)
        XCTAssertLessThan(base[0].watchedProb, 0.2)
        XCTAssertGreaterThan(clamped[0].watchedProb, 0.9)
        XCTAssertTrue(clamped.allSatisfy { $0.token == 42 })
        let sweep = try clampSweep(
            model: m, prompt: prompt, layer: 1, index: 5, values: [0, 10, 30], watch: 42, steps: 2)
        XCTAssertLessThan(sweep[0].first, sweep[1].first)
        XCTAssertLessThan(sweep[1].first, sweep[2].first)
    }

    /// The z-score of a token's logit against one computed here in Double from the head's rows: the hand-built
    /// neuron's down column writes e, which the head reads as token 42's logit 4, far above the rest.
    func testZScoreOfTheWatchedToken() throws {
        let (m, _, _) = handBuiltModel()
        let down = NeuronVectors(model: m, kind: .down).vector(layer: 1, index: 5)
        let g = m.weights.outputNorm.array, V = m.config.vocabSize, D = m.config.dim
        let head = m.weights.output
        let logits = (0..<V).map { v in
            (0..<D).reduce(0.0) { $0 + Double(head.value(v, $1)) * Double(g[$1] * down[$1]) }
        }
        let mean = logits.reduce(0, +) / Double(V)
        let sd = (logits.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(V)).squareRoot()
        let dec = LMHeadDecoder(model: m, norm: .final)
        for t: Int32 in [42, 0, 7] {
            XCTAssertEqual(Double(dec.zScore(down, token: t)), (logits[Int(t)] - mean) / sd, accuracy: 1e-4, "\(t)")
        }
        XCTAssertGreaterThan(dec.zScore(down, token: 42), 5)
        XCTAssertEqual(dec.zScore([Float](repeating: 0, count: D), token: 3), 0)
    }

    /// The mention rule (case-insensitive, at a word start) and the exact McNemar p-value against binomial sums
    /// worked by hand: 2·(1/32) for a 0–5 split, 2·(1+10)/1024 for 1–9, and 1 (capped) for an even split.
    func testMentionsAndMcNemar() {
        XCTAssertTrue(mentions("Dogs are loyal.", word: " dog"))
        XCTAssertTrue(mentions("I love my dog's bark", word: "dog"))
        XCTAssertTrue(mentions("a hotdog, then a dog", word: "dog"))
        XCTAssertFalse(mentions("a hotdog stand", word: "dog"))
        XCTAssertFalse(mentions("cats", word: "dog"))
        XCTAssertFalse(mentions("anything", word: "  "))
        XCTAssertTrue(mentions("Visit CALIFORNIA!", word: "California"))
        XCTAssertEqual(mcNemarExactP(b: 0, c: 5), 0.0625, accuracy: 1e-12)
        XCTAssertEqual(mcNemarExactP(b: 9, c: 1), 22.0 / 1024, accuracy: 1e-12)
        XCTAssertEqual(mcNemarExactP(b: 3, c: 3), 1)
        XCTAssertEqual(mcNemarExactP(b: 0, c: 0), 1)
        XCTAssertEqual(mcNemarExactP(b: 0, c: 60), 2 * pow(0.5, 60), accuracy: 1e-25)
    }

    func testCompareSelfAndPermuted() throws {
        let cfg = LlamaConfig(dim: 16, hiddenDim: 40, nLayers: 2, nHeads: 2, nKVHeads: 2, vocabSize: 50, maxSeqLen: 16)
        let a = LlamaModel.random(cfg, seed: 21, type: .f16)
        let tokens = (0..<cfg.vocabSize).map { "t\($0)" }
        let mapA = NeuronMap.build(model: a, tokens: tokens, topK: 1, bottomK: 0)
        XCTAssertEqual(try compareTop1(mapA, mapA).share, 1)
        // B: up rows permuted within each layer: the first half fixed, the second half rotated by a layer-dependent step.
        let H = cfg.hiddenDim
        func perm(_ l: Int, _ i: Int) -> Int { i < H / 2 ? i : H / 2 + (i - H / 2 + 3 + l) % (H - H / 2) }
        var layers: [LayerWeights] = []
        for (l, L) in a.weights.layers.enumerated() {
            let rowBytes = L.wUp.cols * 2
            let buf = ByteBuffer(byteCount: L.wUp.byteCount)
            for i in 0..<H {
                (buf.ptr + i * rowBytes).copyMemory(from: L.wUp.base + perm(l, i) * rowBytes, byteCount: rowBytes)
            }
            var L2 = L
            L2.wUp = Weight(rows: H, cols: L.wUp.cols, type: .f16, base: UnsafeRawPointer(buf.ptr), owner: buf)
            layers.append(L2)
        }
        let b = LlamaModel(
            config: cfg,
            weights: LlamaWeights(
                tokenEmbedding: a.weights.tokenEmbedding, layers: layers,
                outputNorm: a.weights.outputNorm, output: a.weights.output))
        let mapB = NeuronMap.build(model: b, tokens: tokens, topK: 1, bottomK: 0)
        let got = try compareTop1(mapA, mapB)
        for s in 0..<2 {
            var expected = 0
            for i in 0..<H where mapA.decoded.topIds[s * H + perm(s, i)] == mapA.decoded.topIds[s * H + i] {
                expected += 1
            }
            XCTAssertEqual(got.perLayer[s].agree, expected)
            XCTAssertGreaterThanOrEqual(expected, H / 2)
            XCTAssertLessThan(expected, H)
        }
    }

    func testFileRoundTripAndErrors() throws {
        let (m, tokens, _) = handBuiltModel()
        var toks = tokens
        toks[3] = "tab\there\nnew\\line"
        let map = NeuronMap.build(
            model: m, tokens: toks, kind: .gate, norm: .none, layers: [1, 0], topK: 4, bottomK: 3, modelName: "tiny")
        let dir = try tempDir()
        let path = dir + "/m.nmap"
        try map.write(to: path)
        let r = try NeuronMap.read(path: path)
        XCTAssertEqual(r.kind, .gate); XCTAssertEqual(r.norm, DecodeNorm.none); XCTAssertEqual(r.layers, [1, 0])
        XCTAssertEqual(r.modelName, "tiny"); XCTAssertEqual(r.tokens, toks)
        XCTAssertEqual(r.decoded.topIds, map.decoded.topIds); XCTAssertEqual(r.decoded.topProbs, map.decoded.topProbs)
        XCTAssertEqual(r.decoded.bottomIds, map.decoded.bottomIds);
        XCTAssertEqual(r.decoded.bottomProbs, map.decoded.bottomProbs)
        XCTAssertEqual(r.decoded.topLogits, map.decoded.topLogits)
        XCTAssertEqual(r.decoded.bottomLogits, map.decoded.bottomLogits)
        XCTAssertFalse(map.decoded.topLogits.contains { $0.isNaN })
        XCTAssertEqual(r.entry(layer: 0, index: 0), 32)
        let tsv = map.tsvText().split(separator: "\n")
        XCTAssertEqual(tsv.count, 1 + 64)
        XCTAssertTrue(
            tsv.allSatisfy { $0.split(separator: "\t", omittingEmptySubsequences: false).count == 2 + 2 * 4 + 2 * 3 })
        XCTAssertEqual(tsvEscape(toks[3]), "tab\\there\\nnew\\\\line")

        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        func expectError(_ bytes: Data, _ part: String) throws {
            let p = dir + "/bad.nmap"
            try bytes.write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try NeuronMap.read(path: p)) { e in
                let s = "\(e)"
                XCTAssertTrue(s.hasPrefix(p) && s.contains(part) && !s.contains("\n"), s)
            }
        }
        try expectError(data.prefix(data.count - 1), "truncated")
        try expectError(data.prefix(30), "truncated")
        try expectError(data + Data([0, 0, 0, 0]), "trailing")
        var bad = data; bad[0] = 0x58
        try expectError(bad, "magic")
        // A version-1 file (no logits) still reads, its logits unknown (NaN).
        let logitBytes = 4 * 64 * (4 + 3)
        var v1 = data.prefix(data.count - logitBytes)
        v1[8] = 1
        let p1 = dir + "/v1.nmap"
        try v1.write(to: URL(fileURLWithPath: p1))
        let r1 = try NeuronMap.read(path: p1)
        XCTAssertEqual(r1.decoded.topIds, map.decoded.topIds);
        XCTAssertEqual(r1.decoded.bottomProbs, map.decoded.bottomProbs)
        XCTAssertTrue(r1.decoded.topLogits.allSatisfy { $0.isNaN })
        var v3 = data; v3[8] = 3
        try expectError(v3, "version 3")
        XCTAssertThrowsError(try NeuronMap.read(path: dir + "/none.nmap")) {
            XCTAssertTrue("\($0)".contains("no such map file"))
        }
    }
}

/// On SmolLM2 itself: two layers of the up map against a copy whose up rows are permuted within each layer
/// agree on exactly the share the permutation predicts from the first map (about 60 %: the unmoved neurons
/// plus moved ones whose new row happens to share the old top-1 token).
final class SmolNeuronCompareTests: XCTestCase {
    func testPermutedSmolLM2() throws {
        let path = smolPath  // TestSupport: the file `make model` fetches
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("SmolLM2 not present: make model") }
        let a = try LlamaModel.load(path: path)
        let H = a.config.hiddenDim, layers = [0, 29]
        var rng = Rng(seed: 77)
        var perms: [[Int]] = []
        var newLayers = a.weights.layers
        for l in layers {
            // Shuffle a random 40 % of the neurons among themselves; the rest keep their rows.
            var p = Array(0..<H)
            var moved = (0..<H).filter { _ in rng.uniform() < 0.4 }
            let from = moved
            for i in stride(from: moved.count - 1, to: 0, by: -1) { moved.swapAt(i, rng.int(i + 1)) }
            for (src, dst) in zip(from, moved) { p[dst] = src }
            perms.append(p)
            let w = a.weights.layers[l].wUp
            let rowBytes = w.rowBytes  // Q4_1 blocks: --dtype auto keeps them
            let buf = ByteBuffer(byteCount: w.byteCount)
            for i in 0..<H { (buf.ptr + i * rowBytes).copyMemory(from: w.base + p[i] * rowBytes, byteCount: rowBytes) }
            newLayers[l].wUp = Weight(rows: H, cols: w.cols, type: w.type, base: UnsafeRawPointer(buf.ptr), owner: buf)
        }
        let b = LlamaModel(
            config: a.config,
            weights: LlamaWeights(
                tokenEmbedding: a.weights.tokenEmbedding, layers: newLayers,
                outputNorm: a.weights.outputNorm, output: a.weights.output))
        let mapA = NeuronMap.build(model: a, tokens: [], layers: layers, topK: 1, bottomK: 0)
        let mapB = NeuronMap.build(model: b, tokens: [], layers: layers, topK: 1, bottomK: 0)
        XCTAssertEqual(try compareTop1(mapA, mapA).share, 1)
        let r = try compareTop1(mapA, mapB)
        for s in 0..<layers.count {
            var expected = 0
            for i in 0..<H where mapA.decoded.topIds[s * H + perms[s][i]] == mapA.decoded.topIds[s * H + i] {
                expected += 1
            }
            XCTAssertEqual(r.perLayer[s].agree, expected, "layer \(layers[s])")
            XCTAssertGreaterThan(expected, H / 2); XCTAssertLessThan(expected, H)
            print("SmolLM2 layer \(layers[s]) permuted: \(expected)/\(H) expected, \(r.perLayer[s].agree) measured")
        }
    }
}
