import XCTest
@testable import Llama
import Numerics

/// Finite-difference checks of every backward op and of the whole frozen model's input-to-loss gradient.
/// Each op is checked through a scalar L = Σ r ⊙ op(x) with random r, so dL/dout = r.
final class GradientCheckTests: XCTestCase {
    var rng = Rng(seed: 1234)
    func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in (rng.uniform() * 2 - 1) * scale } }

    /// Central difference of L at x along coordinate i.
    func fd(_ x: inout [Float], _ i: Int, eps: Float = 1e-2, _ L: ([Float]) -> Double) -> Double {
        let x0 = x[i]
        x[i] = x0 + eps; let lp = L(x)
        x[i] = x0 - eps; let lm = L(x)
        x[i] = x0
        return (lp - lm) / Double(2 * eps)
    }

    func testRMSNormBackward() {
        let T = 3, C = 16
        var x = randoms(T * C), w = randoms(C), r = randoms(T * C)
        for i in 0..<C { w[i] += 1.5 }
        func L(_ x: [Float]) -> Double {
            var y = [Float](repeating: 0, count: T * C)
            rmsnormForward(&y, nil, x, w, rows: T, C: C, eps: 1e-5)
            return zip(y, r).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        var y = [Float](repeating: 0, count: T * C), rstd = [Float](repeating: 0, count: T)
        rmsnormForward(&y, &rstd, x, w, rows: T, C: C, eps: 1e-5)
        var dx = [Float](repeating: 0.5, count: T * C)
        rmsnormBackward(&dx, r, x, w, rstd, rows: T, C: C, accumulate: true)  // accumulate onto 0.5
        for i in 0..<T * C { assertClose(Double(dx[i] - 0.5), fd(&x, i, eps: 1e-3, L), "rmsnorm dx[\(i)]") }
    }

    func testSwiGLUBackward() {
        let n = 40
        var g = randoms(n, scale: 3), u = randoms(n, scale: 2)
        let r = randoms(n)
        func L(_ g: [Float], _ u: [Float]) -> Double {
            var h = [Float](repeating: 0, count: n)
            swigluForward(&h, g, u, n)
            return zip(h, r).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        var dg = [Float](repeating: 0, count: n), du = dg
        swigluBackward(&dg, &du, r, g, u, n)
        let u0 = u, g0 = g
        for i in 0..<n {
            assertClose(Double(dg[i]), fd(&g, i, eps: 1e-3) { L($0, u0) }, "swiglu dgate[\(i)]")
            assertClose(Double(du[i]), fd(&u, i, eps: 1e-3) { L(g0, $0) }, "swiglu dup[\(i)]")
        }
    }

    func testRoPEBackwardIsTheInverseRotation() {
        let T = 4, H = 2, hd = 8
        let table = RopeTable(positions: 3, count: T, headDim: hd, theta: 10000)
        var x = randoms(T * H * hd)
        let r = randoms(T * H * hd)
        func L(_ x: [Float]) -> Double {
            var y = x
            ropeForward(&y, T: T, nHeads: H, headDim: hd, table)
            return zip(y, r).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        var dx = r
        ropeBackward(&dx, T: T, nHeads: H, headDim: hd, table)
        for i in 0..<x.count { assertClose(Double(dx[i]), fd(&x, i, eps: 1e-3, L), "rope dx[\(i)]") }
    }

    func testAttentionBackward() {
        let T = 5, H = 4, KV = 2, hd = 8
        var q = randoms(T * H * hd), k = randoms(T * KV * hd), v = randoms(T * KV * hd)
        let r = randoms(T * H * hd)
        func L(_ q: [Float], _ k: [Float], _ v: [Float]) -> Double {
            var o = [Float](repeating: 0, count: T * H * hd)
            attentionForward(&o, q, k, v, T: T, pos0: 0, nHeads: H, nKVHeads: KV, headDim: hd)
            return zip(o, r).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        var o = [Float](repeating: 0, count: T * H * hd), probs = [Float](repeating: 0, count: H * T * T)
        attentionForward(&o, q, k, v, T: T, pos0: 0, nHeads: H, nKVHeads: KV, headDim: hd, probs: &probs)
        var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count), dv = dk
        var ds = [Float](repeating: 0, count: H * T * T)
        attentionBackward(
            dq: &dq, dk: &dk, dv: &dv, dout: r, q: q, k: k, v: v, probs: probs, ds: &ds,
            T: T, nHeads: H, nKVHeads: KV, headDim: hd)
        let q0 = q, k0 = k, v0 = v
        for i in 0..<q.count {
            assertClose(Double(dq[i]), fd(&q, i, eps: 1e-3) { L($0, k0, v0) }, "attention dq[\(i)]")
        }
        for i in 0..<k.count {
            assertClose(Double(dk[i]), fd(&k, i, eps: 1e-3) { L(q0, $0, v0) }, "attention dk[\(i)]")
        }
        for i in 0..<v.count {
            assertClose(Double(dv[i]), fd(&v, i, eps: 1e-3) { L(q0, k0, $0) }, "attention dv[\(i)]")
        }
    }

    func testCrossEntropyBackward() {
        let N = 4, dim = 8, V = 11
        var rngW = Rng(seed: 3)
        let head = randomWeight(rows: V, cols: dim, type: .f32, rng: &rngW, scale: 1)
        var xn = randoms(N * dim)
        let targets: [Int32] = [3, -1, 10, 0]
        func L(_ x: [Float]) -> Double { crossEntropy(xn: x, targets: targets, head: head, dim: dim, dxn: nil).mean }
        var dxn = [Float](repeating: 0, count: N * dim)
        let res = crossEntropy(xn: xn, targets: targets, head: head, dim: dim, dxn: &dxn, chunk: 2)
        XCTAssertEqual(res.count, 3)
        for i in 0..<N * dim { assertClose(Double(dxn[i]), fd(&xn, i, eps: 1e-3, L), "cross-entropy dxn[\(i)]") }
        for i in dim..<2 * dim { XCTAssertEqual(dxn[i], 0) }  // the row without a target gets no gradient
        // The loss and the next-token entropy, −Σ p log p, of the rows with a target, directly in Double.
        var loss = 0.0, entropy = 0.0
        for n in 0..<N where targets[n] >= 0 {
            let logits = (0..<V).map { v in
                (0..<dim).reduce(0.0) { $0 + Double(xn[n * dim + $1]) * Double(head.value(v, $1)) }
            }
            let m = logits.max()!, z = logits.reduce(0.0) { $0 + exp($1 - m) }
            let p = logits.map { exp($0 - m) / z }
            loss -= log(p[Int(targets[n])])
            entropy -= p.reduce(0.0) { $0 + $1 * log($1) }
        }
        XCTAssertEqual(res.sum, loss, accuracy: 1e-5)
        XCTAssertEqual(res.entropySum, entropy, accuracy: 1e-5)
        XCTAssertEqual(res.meanEntropy, entropy / 3, accuracy: 1e-5)
    }

    /// The whole frozen model: d loss / d embeddings against central differences along random directions,
    /// with GQA, several sequences, masked positions, and both the stored and the recomputed activations.
    /// Also with Llama 3.1's RoPE scaling: head dim 8 has pairs of wavelength 6.3, 63, 628 and 6283, which with an
    /// original context of 64 are kept, blended, divided and divided.
    func testWholeModelInputGradient() throws {
        for scaling in [nil, RopeScaling.llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 64)] {
            try wholeModelInputGradient(scaling)
        }
    }

    func wholeModelInputGradient(_ scaling: RopeScaling?) throws {
        let cfg = LlamaConfig(
            dim: 32, hiddenDim: 48, nLayers: 3, nHeads: 4, nKVHeads: 2, vocabSize: 37,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 16, tiedEmbeddings: false, ropeScaling: scaling)
        let model = LlamaModel.random(cfg, seed: 5)
        let B = 2, T = 6, N = B * T
        let tokens = (0..<N).map { _ in Int32(rng.int(cfg.vocabSize)) }
        var targets = (0..<N).map { _ in Int32(rng.int(cfg.vocabSize)) }
        targets[0] = -1; targets[7] = -1; targets[11] = -1
        let emb = randoms(N * cfg.dim)
        for recompute in [false, true] {
            let a = TrainingArena(config: cfg, B: B, T: T, recompute: recompute)
            func L(_ e: [Float]) -> Double {
                try! model.trainingForward(tokens, arena: a, embeddings: e)
                return model.trainingLoss(targets: targets, arena: a).mean
            }
            try model.trainingForward(tokens, arena: a, embeddings: emb)
            model.trainingBackward(targets: targets, arena: a, receiver: nil, inputGradient: true)
            let g = Array(UnsafeBufferPointer(start: a.dX, count: N * cfg.dim))
            for trial in 0..<4 {
                let u = randoms(N * cfg.dim)
                let eps: Float = 1e-2
                let lp = L(zip(emb, u).map { $0 + eps * $1 }), lm = L(zip(emb, u).map { $0 - eps * $1 })
                let numeric = (lp - lm) / Double(2 * eps)
                let analytic = zip(g, u).reduce(0.0) { $0 + Double($1.0 * $1.1) }
                assertClose(
                    analytic, numeric, rel: 1e-2, abs: 1e-4,
                    "model input gradient (scaling \(scaling.map(\.description) ?? "none"), recompute \(recompute), trial \(trial))"
                )
            }
        }
    }

    /// Gradients delivered at the afterAttention sites equal finite differences of an added perturbation there.
    func testHookSiteGradients() throws {
        let cfg = LlamaConfig(
            dim: 16, hiddenDim: 24, nLayers: 3, nHeads: 2, nKVHeads: 1, vocabSize: 19,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 8, tiedEmbeddings: true)
        let model = LlamaModel.random(cfg, seed: 8)
        let B = 1, T = 5, N = B * T
        let tokens: [Int32] = [1, 5, 7, 2, 18], targets: [Int32] = [-1, 3, 4, 9, 0]
        let a = TrainingArena(config: cfg, B: B, T: T)
        final class Capture: GradientReceiver {
            var grads: [Int: [Float]] = [:]
            func afterAttentionGradient(layer: Int, grad: UnsafePointer<Float>, N: Int) {
                grads[layer] = Array(UnsafeBufferPointer(start: grad, count: N * 16))
            }
        }
        final class Add: Intervention {
            var layer = 0, delta: [Float] = []
            func afterAttention(layer: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {
                if layer == self.layer { for i in 0..<delta.count { x[i] += delta[i] } }
            }
        }
        let cap = Capture()
        try model.trainingForward(tokens, arena: a)
        model.trainingBackward(targets: targets, arena: a, receiver: cap, stopLayer: 1)
        XCTAssertEqual(Set(cap.grads.keys), [1, 2])  // stops at layer 1's site
        let add = Add()
        for layer in [1, 2] {
            add.layer = layer
            let u = randoms(N * cfg.dim)
            let eps: Float = 1e-2
            add.delta = u.map { $0 * eps }
            try model.trainingForward(tokens, arena: a, intervention: add)
            let lp = model.trainingLoss(targets: targets, arena: a).mean
            add.delta = u.map { -$0 * eps }
            try model.trainingForward(tokens, arena: a, intervention: add)
            let lm = model.trainingLoss(targets: targets, arena: a).mean
            let analytic = zip(cap.grads[layer]!, u).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            assertClose(analytic, (lp - lm) / Double(2 * eps), rel: 1e-2, abs: 1e-4, "site gradient layer \(layer)")
        }
    }

    /// The training forward computes the same logits as the inference forward.
    func testTrainingForwardMatchesInference() throws {
        let cfg = LlamaConfig(
            dim: 32, hiddenDim: 48, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: 37,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 16, tiedEmbeddings: true)
        let model = LlamaModel.random(cfg, seed: 6)
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6, 7, 8]
        let a = TrainingArena(config: cfg, B: 2, T: 4)
        try model.trainingForward(tokens, arena: a)
        // Loss of predicting token t+1 from the 2nd sequence's positions vs the inference logits.
        let inf = try model.forward(Array(tokens[4...]), state: model.makeState(capacity: 8), allLogits: true)
        var targets = [Int32](repeating: -1, count: 8)
        targets[6] = 9
        let loss = model.trainingLoss(targets: targets, arena: a)
        let row = Array(inf[2 * 37..<3 * 37])
        let mx = row.max()!
        let lse = log(row.reduce(0.0) { $0 + exp(Double($1 - mx)) }) + Double(mx)
        XCTAssertEqual(loss.mean, lse - Double(row[9]), accuracy: 1e-4)
    }
}

final class TrainingArenaTests: XCTestCase {
    /// An arena re-shaped to a smaller batch gives the same loss as one allocated for that shape.
    func testSetShapeReusesStorage() throws {
        let cfg = LlamaConfig(
            dim: 32, hiddenDim: 48, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: 37,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 16, tiedEmbeddings: true)
        let model = LlamaModel.random(cfg, seed: 2)
        let tokens: [Int32] = [3, 4, 5, 6, 7, 8], targets: [Int32] = [4, 5, -1, 7, 8, -1]
        let big = TrainingArena(config: cfg, B: 4, T: 10)
        try model.trainingForward(Array(repeating: 1, count: 40), arena: big)  // dirty it first
        big.setShape(B: 2, T: 3)
        try model.trainingForward(tokens, arena: big)
        let fresh = TrainingArena(config: cfg, B: 2, T: 3)
        try model.trainingForward(tokens, arena: fresh)
        XCTAssertEqual(
            model.trainingLoss(targets: targets, arena: big).sum, model.trainingLoss(targets: targets, arena: fresh).sum
        )
    }

    let cfg = LlamaConfig(
        dim: 32, hiddenDim: 48, nLayers: 3, nHeads: 4, nKVHeads: 2, vocabSize: 37,
        normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 16, tiedEmbeddings: true)

    /// Every view of `a` sits where a walk of its table for the current shape puts it, inside the storage.
    func assertCarvedByTable(_ a: TrainingArena, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let table = TrainingArena.table(a.config, B: a.B, T: a.T, recompute: a.recompute)
        var offset = 0
        for r in table.regions {
            for v in r.views {
                XCTAssertEqual(a[keyPath: v]! - a.storage.ptr, offset, "\(what): \(v)", file: file, line: line)
            }
            offset += r.floats
        }
        XCTAssertEqual(a.extent, offset, what, file: file, line: line)
        XCTAssertLessThanOrEqual(a.extent, a.storage.count, what, file: file, line: line)
    }

    /// The table's sum is the byte count and the carved extent, and matches the layout written out by hand.
    func testTableSumIsTheCarvedExtent() {
        let c = cfg, H = c.nHeads
        for (B, T, recompute) in [
            (1, 1, false), (2, 3, false), (4, 10, false), (1, 1, true), (2, 3, true), (3, 7, true)
        ] {
            let a = TrainingArena(config: c, B: B, T: T, recompute: recompute)
            let what = "B \(B) T \(T) recompute \(recompute)"
            assertCarvedByTable(a, what)
            XCTAssertEqual(a.extent, a.storage.count, what)
            XCTAssertEqual(TrainingArena.byteCount(c, B: B, T: T, recompute: recompute), 4 * a.extent, what)
            let N = B * T
            let input = N * c.dim
            let rest = N + N * c.qDim + 2 * N * c.kvDim + B * H * T * T + N * c.dim + N + 2 * N * c.hiddenDim
            let final = 2 * N * c.dim + N
            let scratch =
                2 * N * c.dim + N * c.qDim + 3 * N * c.hiddenDim + N * c.qDim + 2 * N * c.kvDim + H * T * T + 2 * N
                * c.dim
            // The LM head's chunk: logits and its input and input gradient, for min(N, …) rows.
            let chunk = crossEntropyChunkRows(vocab: c.vocabSize, rows: N)
            XCTAssertEqual(chunk, N, what)  // a tiny vocabulary: every row in one chunk
            let head = chunk * c.vocabSize + 2 * chunk * c.dim
            let layers = recompute ? c.nLayers * input + rest : c.nLayers * (input + rest)
            XCTAssertEqual(a.extent, layers + final + scratch + head, what)
        }
        // Recomputing shares one layer's worth: every layer's q is the same region, each xIn its own.
        let r = TrainingArena(config: c, B: 2, T: 3, recompute: true)
        XCTAssertEqual(Set(r.layers.map { $0.q }).count, 1)
        XCTAssertEqual(Set(r.layers.map { $0.xIn }).count, c.nLayers)
    }

    /// A smaller batch shape is re-carved by the same table, within the storage allocated for the largest.
    func testSetShapeStaysWithinStorage() {
        for recompute in [false, true] {
            let a = TrainingArena(config: cfg, B: 4, T: 10, recompute: recompute)
            let full = a.storage.count
            for (B, T) in [(2, 3), (4, 1), (1, 10), (3, 9), (4, 10)] {
                a.setShape(B: B, T: T)
                assertCarvedByTable(a, "B \(B) T \(T) recompute \(recompute)")
                XCTAssertEqual(4 * a.extent, TrainingArena.byteCount(cfg, B: B, T: T, recompute: recompute))
                XCTAssertEqual(a.storage.count, full)
            }
        }
    }

    /// A batch whose token count is not B·T is refused, naming both counts.
    func testTrainingForwardRefusesAWrongTokenCount() {
        let model = LlamaModel.random(cfg, seed: 2)
        let a = TrainingArena(config: cfg, B: 2, T: 3)
        XCTAssertThrowsError(try model.trainingForward([1, 2, 3, 4, 5], arena: a)) { e in
            guard case .tokenCount(5, expected: 6)? = e as? LlamaError else { return XCTFail("\(e)") }
            XCTAssertEqual("\(e)", "5 tokens given for a batch of 6 positions")
        }
    }
}
