import XCTest
import Foundation
@testable import Analysis
@testable import Llama
import IRM
import ModelIO
import Numerics
import Datasets
import Training
import TestSupport

/// Striation statistics on planted matrices, through the recorder and the IRM's output layout.
final class StriationStatisticsTests: XCTestCase {
    let L = 6, h = 200
    var rng = Rng(seed: 5)
    func noise(_ scale: Double) -> Double { Double(rng.uniform() * 2 - 1) * scale }

    func testPlantedVerticalStripes() {
        let planted = [17, 140, 3], strength = [3.0, -2.0, 1.5]
        var m = [Double](repeating: 0, count: L * h)
        for j in 0..<L { for i in 0..<h { m[j * h + i] = noise(0.02) } }
        for (i, s) in zip(planted, strength) { for j in 0..<L { m[j * h + i] += s } }
        let v = varianceShares(m, layers: L, hidden: h)
        print("stripes: index \(v.index) layer \(v.layer) residual \(v.residual)")
        XCTAssertGreaterThan(v.index, 0.98)
        XCTAssertLessThan(v.layer, 0.01)
        XCTAssertEqual(v.index + v.layer + v.residual, 1, accuracy: 1e-12)
        let top = strongestIndices(mean: m, magnitude: m.map(abs), layers: L, hidden: h, count: 5)
        XCTAssertEqual(top.prefix(3).map(\.index), planted)
        // The top 1 % of 200 indices is 2 per layer: 17 and 140 in every layer, the third never.
        XCTAssertEqual(top[0].layersInTopPercent, L)
        XCTAssertEqual(top[1].layersInTopPercent, L)
        XCTAssertEqual(top[2].layersInTopPercent, 0)  // third strongest: never in a layer's top 2
        XCTAssertEqual(topPercentCount(hidden: h), 2)
        let absSum = (0..<h).reduce(0.0) { s, i in s + abs((0..<L).reduce(0.0) { $0 + m[$1 * h + i] } / Double(L)) }
        XCTAssertEqual(top[0].share, abs(top[0].columnMean) / absSum, accuracy: 1e-12)
        XCTAssertEqual(top[0].columnMean, 3, accuracy: 0.02)
    }

    func testPlantedLayerBands() {
        var m = [Double](repeating: 0, count: L * h)
        for j in 0..<L { let band = Double(j) - 2.5; for i in 0..<h { m[j * h + i] = band + noise(0.02) } }
        let v = varianceShares(m, layers: L, hidden: h)
        print("bands: index \(v.index) layer \(v.layer) residual \(v.residual)")
        XCTAssertLessThan(v.index, 0.01)
        XCTAssertGreaterThan(v.layer, 0.98)
        XCTAssertEqual(v.grandMean, 0, accuracy: 0.01)
        // A constant matrix has nothing to explain.
        XCTAssertEqual(
            varianceShares([Double](repeating: 2, count: 12), layers: 3, hidden: 4),
            VarianceShares(index: 0, layer: 0, residual: 0, total: 0, grandMean: 2))
    }

    /// Rows in the IRM's layout (i·L + j) through the recorder: the mean matrix is [L, h], stripes are found,
    /// and each token's strongest index is counted.
    func testRecorderReadsTheIRMLayout() {
        let rec = StriationRecorder(hidden: h, slots: L)
        var rows = [Float](repeating: 0, count: 3 * h * L)
        for t in 0..<3 {
            for i in 0..<h { for j in 0..<L { rows[t * h * L + i * L + j] = Float(noise(0.01)) } }
            for j in 0..<L { rows[t * h * L + 42 * L + j] += t == 2 ? 0.1 : 2 }  // token 2's strongest is index 9
            for j in 0..<L { rows[t * h * L + 9 * L + j] += t == 2 ? 1 : 0 }
            rows[t * h * L + 100 * L + 1] += 0.5  // one cell: layer slot 1 only
        }
        rows.withUnsafeBufferPointer { rec.add($0.baseAddress!, count: 3) }
        XCTAssertEqual(rec.tokens, 3)
        XCTAssertEqual(
            rec.mean[1 * h + 100], Double((0..<3).map { rows[$0 * h * L + 100 * L + 1] }.reduce(0, +)) / 3,
            accuracy: 1e-7)
        let r = rec.report()
        XCTAssertEqual(r.dominantIndex, 42)
        XCTAssertEqual(r.topIndices[1].index, 9)
        XCTAssertEqual(r.dominantTokenShare, 2.0 / 3, accuracy: 1e-12)
        XCTAssertGreaterThan(r.signed.index, 0.9)
        XCTAssertEqual(r.topIndices.count, 16)
        let p = r.point(step: 50)
        XCTAssertEqual(p.step, 50); XCTAssertEqual(p.dominantIndex, 42); XCTAssertEqual(p.indexShare, r.signed.index)
    }

    func testStriationCSVRoundTripAndErrors() throws {
        let dir = try tempDir("striationcsv")
        let run = RunFolder(dir)
        let a = StriationPoint(
            step: 50, indexShare: 0.25, layerShare: 0.001, absIndexShare: 0.3, dominantIndex: 372, dominantShare: 0.007,
            tokens: 161)
        var b = a; b.step = 100; b.dominantIndex = 12
        try run.appendCSVRow(run.striationPath, header: striationCSVHeader, striationCSVRow(a))
        try run.appendCSVRow(run.striationPath, header: striationCSVHeader, striationCSVRow(b))
        XCTAssertEqual(try readStriationCSV(run.striationPath), [a, b])
        try run.truncateCSV(run.striationPath, afterStep: 60)
        XCTAssertEqual(try readStriationCSV(run.striationPath), [a])
        XCTAssertEqual(try readStriationCSV(dir + "/none.csv"), [])
        try (striationCSVHeader + "\n50,0.2,0.1,0.3,7,0.01,10\n60,0.2,x,0.3,7,0.01,10\n").write(
            toFile: run.striationPath, atomically: true, encoding: .utf8)
        let e = thrown(FileError.self) { try readStriationCSV(run.striationPath) }
        XCTAssertEqual(e?.description, "\(run.striationPath):3: shares must be numbers in 0...1")
        try "step,other\n".write(toFile: run.striationPath, atomically: true, encoding: .utf8)
        XCTAssertTrue(
            thrown(FileError.self) { try readStriationCSV(run.striationPath) }?.description.contains(
                ":1: expected the header") == true)
        // The chart draws and decodes.
        try writeStriationChart([a, b], title: "t", path: dir + "/s.png")
        XCTAssertGreaterThan(try decodeWithPython(dir + "/s.png").width, 100)
    }
}

/// The probe set: drawn from the questions Datasets/*.csv share, the default test split first.
final class ProbeSetTests: XCTestCase {
    func testDefaultProbeIsTheDefaultTestSplit() throws {
        let p = try selectProbeQuestions(datasetsDir: datasetsDir)
        let test = DatasetSplit.make(count: 637, seed: 0).testIndices
        XCTAssertEqual(test.count, 32)
        XCTAssertEqual(p.rows, test)
        XCTAssertTrue(p.heldOutByDefault.allSatisfy { $0 })
        let neutral = try loadExamples(path: datasetsDir + "/neutral.csv")
        XCTAssertEqual(p.questions, test.map { neutral[$0].prompt })
        // More than the held-out part: all of it, then others; the same every time.
        let q = try selectProbeQuestions(datasetsDir: datasetsDir, count: 40)
        XCTAssertEqual(q.rows.count, 40)
        XCTAssertEqual(q.heldOutByDefault.filter { $0 }.count, 32)
        XCTAssertEqual(try selectProbeQuestions(datasetsDir: datasetsDir, count: 40).rows, q.rows)
        XCTAssertNotEqual(try selectProbeQuestions(datasetsDir: datasetsDir, count: 40, seed: 3).rows, q.rows)
        // Fewer: a subset of the held-out part.
        let s = try selectProbeQuestions(datasetsDir: datasetsDir, count: 5)
        XCTAssertEqual(s.rows.count, 5)
        XCTAssertTrue(Set(s.rows).isSubset(of: Set(test)))
        XCTAssertTrue(
            thrown(FileError.self) { try selectProbeQuestions(datasetsDir: "/nonexistent") }?.description.contains(
                "/nonexistent/anger.csv") == true)
    }
}

/// A tiny random model and three validation rows: what the intervention tests (ablations, knob scans) measure.
enum TinyValidation {
    static let config = LlamaConfig(
        dim: 16, hiddenDim: 24, nLayers: 4, nHeads: 4, nKVHeads: 2, vocabSize: 23, maxSeqLen: 32)
    static let examples = [
        TokenizedExample(ids: [1, 2, 3, 4, 5, 6], responseStart: 3),
        TokenizedExample(ids: [7, 8, 9, 10], responseStart: 1),
        TokenizedExample(ids: [11, 12, 13, 14, 15, 16, 17], responseStart: 4)
    ]
    static func model() -> LlamaModel { LlamaModel.random(config, seed: 9) }
}

/// The ablation conditions on a tiny random model: their validation losses against exact identities.
final class AblationTests: XCTestCase {
    let mc = TinyValidation.config
    lazy var model = TinyValidation.model()
    let examples = TinyValidation.examples

    func loss(_ i: Intervention?) throws -> LossResult {
        let a = TrainingArena(config: mc, B: 2, T: 7, recompute: true)
        return try responseLoss(model: model, examples: examples, batchSize: 2, padId: 0, arena: a, intervention: i)
    }

    func testZeroAllIsFrozenKeepAllIsTheIRM() throws {
        let net = IRMNetwork(config: IRMConfig(hidden: 16, layers: [0, 2, 3], widthMultiplier: 2, depth: 3), seed: 4)
        let shared = IRMInjector(net: net)
        let frozen = try loss(nil), irm = try loss(IRMInjector(net: net))
        XCTAssertNotEqual(frozen.sum, irm.sum)
        XCTAssertEqual(try loss(EditedIRM(shared, zeroing: Array(0..<16))).sum, frozen.sum)  // exactly
        XCTAssertEqual(try loss(EditedIRM(shared, keeping: Array(0..<16))).sum, irm.sum)  // exactly
        XCTAssertEqual(try loss(EditedIRM(shared, zeroing: [])).sum, irm.sum)
        let zero3 = try loss(EditedIRM(shared, zeroing: [3])).sum
        XCTAssertNotEqual(zero3, irm.sum); XCTAssertNotEqual(zero3, frozen.sum)
        // Zeroing {3} and keeping all but {3} are the same edit; the edits sharing one injector do not leak into
        // each other (the zero-all edit ran last on `shared` above, then a plain edit).
        XCTAssertEqual(try loss(EditedIRM(shared, keeping: (0..<16).filter { $0 != 3 })).sum, zero3)
        XCTAssertEqual(frozen.count, 3 + 3 + 3)
    }

    /// The edit reaches the injection: zeroing index 5 leaves the residual's coordinate 5 as the frozen model's.
    func testZeroedIndexIsNotInjected() {
        let net = IRMNetwork(config: IRMConfig(hidden: 4, layers: [1], widthMultiplier: 1, depth: 1), seed: 1)
        for i in 0..<4 { net.bias(0)[i] = Float(i + 1) }
        net.weight(0).update(repeating: 0, count: 16)
        let e = EditedIRM(IRMInjector(net: net), zeroing: [2])
        var x = [Float](repeating: 10, count: 4)
        e.afterAttention(layer: 0, residual: &x, T: 1, pos0: 0, replay: false)
        e.afterAttention(layer: 1, residual: &x, T: 1, pos0: 0, replay: false)
        XCTAssertEqual(x, [11, 12, 10, 14])
    }

    /// The mean-vector condition against a hand computation: the mean of the IRM's output rows averaged by
    /// hand, put into an IRM whose last layer outputs that constant (W = 0, b = mean), injected by the IRM's
    /// own injector. Same loss exactly; and the control-vector site after a block differs from it.
    func testMeanVectorEqualsConstantIRM() throws {
        let cfg = IRMConfig(hidden: 16, layers: [1, 3], widthMultiplier: 2, depth: 3)
        let net = IRMNetwork(config: cfg, seed: 8)
        let rec = StriationRecorder(hidden: 16, slots: 2)
        let inj = IRMInjector(net: net)
        var byHand = [Double](repeating: 0, count: cfg.outputDim), rows = 0
        inj.onOutput = { p, n in
            rec.add(p, count: n)
            for r in 0..<n { for k in 0..<cfg.outputDim { byHand[k] += Double(p[r * cfg.outputDim + k]) } }
            rows += n
        }
        let state = model.makeState(capacity: 8)
        for ids in [[1, 2, 3, 4] as [Int32], [5, 6, 7, 8, 9]] {
            state.reset(); try model.forward(ids, state: state, intervention: inj)
        }
        XCTAssertEqual(rows, 9); XCTAssertEqual(rec.tokens, 9)
        for i in 0..<16 {
            for j in 0..<2 { XCTAssertEqual(rec.mean[j * 16 + i], byHand[i * 2 + j] / 9, accuracy: 1e-9) }
        }
        let vectors = meanInjectionVectors(mean: rec.mean, layers: cfg.layers, hidden: 16)
        XCTAssertEqual(vectors.keys.sorted(), [1, 3])
        let constant = IRMNetwork(config: cfg, seed: 8)
        let last = constant.linearCount - 1
        constant.weight(last).update(repeating: 0, count: cfg.outputDim * cfg.width)
        for i in 0..<16 { for j in 0..<2 { constant.bias(last)[i * 2 + j] = vectors[cfg.layers[j]]![i] } }
        let steering = try loss(SteeringVectors(site: .afterAttention, vectors: vectors))
        XCTAssertEqual(steering.sum, try loss(IRMInjector(net: constant)).sum)
        XCTAssertNotEqual(steering.sum, try loss(nil).sum)
        XCTAssertNotEqual(try loss(SteeringVectors(site: .afterLayer, vectors: vectors)).sum, steering.sum)
        // constant-on-massive's edit: every index replaced by its mean is the mean vector exactly; some of them,
        // neither the mean vector nor the IRM.
        let fresh = IRMInjector(net: net)
        XCTAssertEqual(try loss(EditedIRM(fresh, constantOn: Array(0..<16), mean: rec.mean)).sum, steering.sum)
        let some = try loss(EditedIRM(fresh, constantOn: [0, 5, 9], mean: rec.mean)).sum
        XCTAssertNotEqual(some, steering.sum)
        XCTAssertNotEqual(some, try loss(EditedIRM(fresh, zeroing: [])).sum)
    }

    /// TopIndex.constantShare: Σ_j M[j,i]² / Σ_j mean_t o[t,j,i]², by hand on two tokens.
    func testConstantShare() {
        let rec = StriationRecorder(hidden: 3, slots: 2)
        // Layout i·L + j. Index 0: slot 0 takes 1 then 3 (mean 2, mean square 5), slot 1 takes 2 twice (4, 4):
        // (4 + 4) / (5 + 4). Index 1: 0 always. Index 2: −1 at every token in both slots: 1.
        let rows: [Float] = [1, 2, 0, 0, -1, -1, 3, 2, 0, 0, -1, -1]
        rows.withUnsafeBufferPointer { rec.add($0.baseAddress!, count: 2) }
        XCTAssertEqual(rec.constantShares[0], 8.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(rec.constantShares[1], 0)
        XCTAssertEqual(rec.constantShares[2], 1, accuracy: 1e-12)
        // The split: constant part M[j,i] plus the token-dependent rest o − M gives the output back, and the two
        // parts' mean squares add up to the output's (so the share is what the constant part accounts for).
        for i in 0..<3 {
            var constant = 0.0, rest = 0.0, all = 0.0
            for j in 0..<2 {
                let m = rec.mean[j * 3 + i]
                for t in 0..<2 {
                    let o = Double(rows[t * 6 + i * 2 + j]), r = o - m
                    XCTAssertEqual(m + r, o)
                    constant += m * m / 2; rest += r * r / 2; all += o * o / 2
                }
            }
            XCTAssertEqual(constant + rest, all, accuracy: 1e-12)
            XCTAssertEqual(rec.constantShares[i], all > 0 ? constant / all : 0, accuracy: 1e-12)
        }
        let top = rec.report(top: 3).topIndices
        XCTAssertEqual(top.map(\.index), [0, 2, 1])
        XCTAssertEqual(top.map { $0.constantShare! }, [rec.constantShares[0], rec.constantShares[2], 0])
    }

    /// afterLayer adds to the block's output: after the last block that is the final norm's input, in both the
    /// training forward (xFinal) and the inference forward (its last-position logits).
    func testAfterLayerSite() throws {
        var rng = Rng(seed: 2)
        let v = (0..<16).map { _ in rng.uniform() - 0.5 }
        let tokens: [Int32] = [3, 1, 4, 1, 5]
        let a = TrainingArena(config: mc, B: 1, T: 5)
        try model.trainingForward(tokens, arena: a)
        let plain = Array(UnsafeBufferPointer(start: a.xFinal, count: 5 * 16))
        try model.trainingForward(tokens, arena: a, intervention: SteeringVectors(site: .afterLayer, vectors: [3: v]))
        let steered = Array(UnsafeBufferPointer(start: a.xFinal, count: 5 * 16))
        for k in 0..<(5 * 16) { XCTAssertEqual(steered[k], plain[k] + v[k % 16]) }
        // Inference: logits = head(rmsnorm(x + v)·g) at the last position, by hand from the training forward's xFinal.
        let logits = try model.forward(
            tokens, state: model.makeState(capacity: 8),
            intervention: SteeringVectors(site: .afterLayer, vectors: [3: v]))
        let x = Array(steered[(4 * 16)...]), g = model.weights.outputNorm.array
        let rms = (x.reduce(0) { $0 + $1 * $1 } / 16 + mc.normEps).squareRoot()
        for t in 0..<mc.vocabSize {
            let ref = (0..<16).reduce(Float(0)) { $0 + model.weights.output.value(t, $1) * x[$1] / rms * g[$1] }
            XCTAssertEqual(logits[t], ref, accuracy: 1e-4)
        }
    }

    func testRandomControlIndices() {
        let r = randomIndices(count: 16, hidden: 100, excluding: Array(0..<16), seed: 7)
        XCTAssertEqual(r.count, 16); XCTAssertEqual(Set(r).count, 16)
        XCTAssertTrue(r.allSatisfy { $0 >= 16 && $0 < 100 })
        XCTAssertEqual(randomIndices(count: 4, hidden: 100, excluding: Array(0..<16), seed: 7), Array(r.prefix(4)))
        XCTAssertEqual(
            randomIndices(count: 16, hidden: 20, excluding: Array(0..<16), seed: 7).sorted(), [16, 17, 18, 19])
    }
}

/// The frozen model's residual statistics and norm ranks against a direct computation.
final class ResidualStatsTests: XCTestCase {
    func testRMSAndRanksMatchDirectComputation() throws {
        let mc = LlamaConfig(dim: 16, hiddenDim: 24, nLayers: 3, nHeads: 4, nKVHeads: 2, vocabSize: 23, maxSeqLen: 32)
        let model = LlamaModel.random(mc, seed: 13)
        // A massive first-token dimension: token 1's embedding is huge at index 6 (every prompt starts with it).
        let emb = UnsafeMutableRawPointer(mutating: model.weights.tokenEmbedding.base).assumingMemoryBound(
            to: Float.self)
        emb[1 * 16 + 6] = 80
        // attn_norm: index 3 has the largest gain in every layer.
        for l in 0..<3 { model.weights.layers[l].attnNorm.ptr[3] = 2 + Float(l) }
        let prompts: [[Int32]] = [[1, 5, 7, 2], [1, 9, 9, 3, 4, 8], [1, 11]]
        let s = try measureResidualStats(model: model, prompts: prompts)
        XCTAssertEqual(s.tokens, 12); XCTAssertEqual(s.firstTokens, 3)
        // Direct: the training forward keeps the residual after each attention add (xMid) of every position.
        var sq = [Double](repeating: 0, count: 3 * 16), sqNo = sq, sign = sq, sum = sq
        for p in prompts {
            let a = TrainingArena(config: mc, B: 1, T: p.count)
            try model.trainingForward(p, arena: a)
            for l in 0..<3 {
                for t in 0..<p.count {
                    for i in 0..<16 {
                        let v = Double(a.layers[l].xMid[t * 16 + i])
                        sq[l * 16 + i] += v * v
                        if t > 0 { sqNo[l * 16 + i] += v * v; sign[l * 16 + i] += v > 0 ? 1 : -1; sum[l * 16 + i] += v }
                    }
                }
            }
        }
        for k in 0..<48 {
            assertClose(Double(s.rms[k]), (sq[k] / 12).squareRoot(), rel: 1e-4, abs: 1e-5, "rms \(k)")
            assertClose(
                Double(s.rmsNoFirst[k]), (sqNo[k] / 9).squareRoot(), rel: 1e-4, abs: 1e-5, "rms without first \(k)")
            assertClose(Double(s.signConsistency[k]), abs(sign[k]) / 9, rel: 1e-6, abs: 1e-6, "sign \(k)")
            assertClose(Double(s.meanNoFirst[k]), sum[k] / 9, rel: 1e-4, abs: 1e-5, "mean \(k)")
        }
        XCTAssertEqual(topDimensions(s.rms, rows: 3, dim: 16, count: 1), [6])
        // Ranks against sorting.
        let g = normGains(model)
        for i in [3, 6, 0, 15] {
            let r = indexRank(g.attn, rows: 3, dim: 16, index: i)
            let avg = (0..<16).map { k in (0..<3).reduce(0.0) { $0 + Double(g.attn[$1 * 16 + k]) } / 3 }
            XCTAssertEqual(r.rank, avg.sorted(by: >).firstIndex(of: avg[i])! + 1)
            XCTAssertEqual(r.value, avg[i], accuracy: 1e-12)
            for l in 0..<3 {
                let row = (0..<16).map { g.attn[l * 16 + $0] }
                XCTAssertEqual(r.perLayerRank[l], row.sorted(by: >).firstIndex(of: row[i])! + 1)
            }
            let f = indexRank(g.final, rows: 1, dim: 16, index: i, perRow: false)
            XCTAssertEqual(f.rank, g.final.sorted(by: >).firstIndex(of: g.final[i])! + 1)
            XCTAssertTrue(f.perLayerRank.isEmpty)
        }
        XCTAssertEqual(indexRank(g.attn, rows: 3, dim: 16, index: 3).perLayerRank, [1, 1, 1])
        XCTAssertEqual(indexRank(s.rms, rows: 3, dim: 16, index: 6).rank, 1)
    }
}

/// The llama.cpp control vector: the mapping, and the file read back by our reader and by Python's struct.
final class ControlVectorTests: XCTestCase {
    func testMappingAndFileReadBackTwice() throws {
        let h = 8, layers = [0, 2, 3]
        let mean = (0..<(layers.count * h)).map { Double($0) * 0.5 - 3 }
        let d = try controlVectorDirections(mean: mean, layers: layers, nLayers: 5, hidden: h)
        XCTAssertEqual(d.keys.sorted(), [1, 2, 3, 4])
        XCTAssertEqual(d[1]!, (0..<h).map { Float(mean[$0]) })  // layer 0's slice, folded into 1
        XCTAssertEqual(d[2]!, (0..<h).map { Float(mean[h + $0]) })
        XCTAssertEqual(d[3]!, (0..<h).map { Float(mean[2 * h + $0]) })
        XCTAssertEqual(d[4]!, [Float](repeating: 0, count: h))
        // Layers 0 and 1 both land on direction.1.
        let both = try controlVectorDirections(mean: Array(mean.prefix(2 * h)), layers: [0, 1], nLayers: 3, hidden: h)
        XCTAssertEqual(both[1]!, (0..<h).map { Float(mean[$0] + mean[h + $0]) })
        XCTAssertNotNil(
            thrown(RunError.self) {
                try controlVectorDirections(mean: Array(mean.prefix(h)), layers: [0], nLayers: 1, hidden: h)
            })

        let path = try tempDir("cvec") + "/anger.gguf"
        try writeControlVector(d, nLayers: 5, dim: h, modelHint: "llama", path: path)
        let g = try GGUFFile(path: path)
        XCTAssertEqual(g.metadata["general.architecture"]?.string, "controlvector")
        XCTAssertEqual(g.metadata["controlvector.model_hint"]?.string, "llama")
        XCTAssertEqual(g.metadata["controlvector.layer_count"]?.int, 4)
        XCTAssertEqual(g.tensorNames, ["direction.1", "direction.2", "direction.3", "direction.4"])
        for n in 1...4 {
            let t = g.tensors["direction.\(n)"]!
            XCTAssertEqual(t.shape, [h]); XCTAssertEqual(t.type, .f32)
        }
        let py = try readGGUFWithPython(path)
        XCTAssertEqual(py.version, 3)
        XCTAssertEqual(py.tensorCount, 4)
        XCTAssertEqual(py.metadata["general.architecture"]?.value, "controlvector")
        XCTAssertEqual(py.metadata["controlvector.layer_count"]?.type, 5)  // GGUF int32, as llama.cpp writes it
        XCTAssertEqual(py.metadata["controlvector.layer_count"]?.value, "4")
        XCTAssertEqual(py.metadata["controlvector.model_hint"]?.value, "llama")
        XCTAssertEqual(py.tensors.map(\.name), ["direction.1", "direction.2", "direction.3", "direction.4"])
        for (k, t) in py.tensors.enumerated() {
            XCTAssertEqual(t.ne, [h]); XCTAssertEqual(t.type, 0)
            XCTAssertEqual(t.values, d[k + 1]!)
        }
    }
}
