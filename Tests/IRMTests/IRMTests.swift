import XCTest
import Foundation
@testable import IRM
@testable import Llama
import Numerics
import ModelIO

final class IRMTests: XCTestCase {
    var rng = Rng(seed: 77)
    func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in (rng.uniform() * 2 - 1) * scale } }

    func testReferenceShapesAndParameterCount() {
        // Llama-2-7b, all 32 layers, width 3·4096: about 2.1 B parameters (DESIGN.md, issue 3).
        let c = IRMConfig(hidden: 4096, layers: Array(0..<32))
        XCTAssertEqual(c.linearShapes.map { $0.out }, [12288, 12288, 12288, 12288, 131072])
        XCTAssertEqual(c.linearShapes.map { $0.in }, [4096, 12288, 12288, 12288, 12288])
        XCTAssertEqual(c.parameterCount, 12288 * 4096 + 12288 + 3 * (12288 * 12288 + 12288) + 131072 * 12288 + 131072)
        XCTAssertEqual(Double(c.parameterCount) / 1e9, 2.12, accuracy: 0.01)
    }

    /// The overflow-safe count agrees with the plain one, and refuses what does not fit in Int (a config from a file).
    func testCheckedParameterCountAndShapeChecks() throws {
        for depth in 1...4 {
            let c = IRMConfig(hidden: 576, layers: Array(0..<30), widthMultiplier: 3, depth: depth)
            XCTAssertEqual(c.checkedParameterCount, c.parameterCount, "depth \(depth)")
        }
        XCTAssertEqual(IRMConfig(hidden: 4096, layers: Array(0..<32)).checkedParameterCount, 2_114_109_440)
        // Depth 2 has no w×w layer: a width whose square overflows is still countable.
        let wide = IRMConfig(hidden: 8, layers: [0, 1], widthMultiplier: 1 << 40, depth: 2)
        XCTAssertEqual(wide.checkedParameterCount, (8 << 40) * 9 + 16 * ((8 << 40) + 1))
        XCTAssertNil(IRMConfig(hidden: 8, layers: [0, 1], widthMultiplier: 1 << 40, depth: 3).checkedParameterCount)
        XCTAssertNil(IRMConfig(hidden: 8, layers: [0], widthMultiplier: 0).checkedParameterCount)
        XCTAssertThrowsError(try IRMConfig(hidden: 8, layers: [0], widthMultiplier: Int.max / 4, depth: 3).checkShape())
        {
            XCTAssertEqual(
                "\($0)", "width 8 × 2305843009213693951 = more than Int holds is above the supported 16777216")
        }
        XCTAssertNoThrow(try IRMConfig(hidden: 4096, layers: [0], widthMultiplier: 4096, depth: 2).checkShape())
        XCTAssertThrowsError(try IRMConfig(hidden: 4096, layers: [0], widthMultiplier: 4097).checkShape()) {
            XCTAssertEqual("\($0)", "width 4096 × 4097 = 16781312 is above the supported 16777216")
        }
        XCTAssertThrowsError(try IRMConfig(hidden: 8, layers: [1, 1]).validate(nLayers: 4)) {
            XCTAssertEqual("\($0)", "injection layer 1 is listed twice")
        }
        XCTAssertThrowsError(try IRMConfig(hidden: 8, layers: [1]).validate(nLayers: 4, hidden: 16)) {
            XCTAssertEqual("\($0)", "the IRM reads a hidden size of 8 but the model's is 16")
        }
        XCTAssertNoThrow(try IRMConfig(hidden: 8, layers: [3, 1]).validate(nLayers: 4, hidden: 8))
    }

    /// Parameter gradients of the network alone, L = Σ r ⊙ net(u), against central differences.
    func testNetworkWeightGradients() {
        let cfg = IRMConfig(hidden: 6, layers: [0, 2], widthMultiplier: 2, depth: 3)
        let net = IRMNetwork(config: cfg, seed: 3)
        let n = 5
        let u = randoms(n * cfg.hidden), r = randoms(n * cfg.outputDim)
        let acts = IRMActivations(config: cfg, rows: n)
        func L() -> Double {
            net.forward(u, rows: n, acts)
            return (0..<n * cfg.outputDim).reduce(0.0) { $0 + Double(acts.output[$1] * r[$1]) }
        }
        _ = L()
        net.zeroGrad()
        net.backward(r, rows: n, acts)
        for i in stride(from: 0, to: net.params.count, by: 3) {
            let p0 = net.params[i], eps: Float = 1e-3
            net.params[i] = p0 + eps; let lp = L()
            net.params[i] = p0 - eps; let lm = L()
            net.params[i] = p0
            let numeric = (lp - lm) / Double(2 * eps)
            XCTAssertEqual(Double(net.grads[i]), numeric, accuracy: 1e-3 + 3e-3 * abs(numeric), "param \(i)")
        }
    }

    /// The reference layout: output index i·L + j feeds hidden index i of injection slot j.
    func testInjectionLayout() throws {
        let cfg = IRMConfig(hidden: 4, layers: [1, 3], widthMultiplier: 1, depth: 1)
        let net = IRMNetwork(config: cfg, seed: 1)
        net.weight(0).update(repeating: 0, count: 8 * 4)
        for i in 0..<4 { for j in 0..<2 { net.bias(0)[i * 2 + j] = Float(100 * j + i) } }
        let inj = IRMInjector(net: net)
        var x = [Float](repeating: 0, count: 4)
        inj.afterAttention(layer: 0, residual: &x, T: 1, pos0: 0, replay: false)  // tap
        XCTAssertEqual(x, [0, 0, 0, 0])  // layer 0 is not an injection layer
        inj.afterAttention(layer: 1, residual: &x, T: 1, pos0: 0, replay: false)
        XCTAssertEqual(x, [0, 1, 2, 3])
        x = [0, 0, 0, 0]
        inj.afterAttention(layer: 3, residual: &x, T: 1, pos0: 0, replay: false)
        XCTAssertEqual(x, [100, 101, 102, 103])
        XCTAssertEqual(inj.slice(row: 0, slot: 1), [100, 101, 102, 103])
    }

    /// Frozen model + IRM + cross-entropy + L1: d loss / d IRM parameters against central differences.
    func testWholeModelPlusIRMGradients() throws {
        let mc = LlamaConfig(
            dim: 16, hiddenDim: 24, nLayers: 4, nHeads: 4, nKVHeads: 2, vocabSize: 23,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 8, tiedEmbeddings: true)
        try checkIRMGradients(LlamaModel.random(mc, seed: 9), layers: [0, 2, 3], width: 2)
    }

    /// The same through models whose matrices stay quantized (the GEMV and GEMM forward, the backward
    /// `dy·W` dequantizing while it packs): a 32-weight type, and the K-quants at their 256-wide rows.
    func testWholeModelPlusIRMGradientsThroughQuantizedWeights() throws {
        let small = LlamaConfig(
            dim: 32, hiddenDim: 64, nLayers: 3, nHeads: 4, nKVHeads: 2, vocabSize: 23,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 8, tiedEmbeddings: true)
        for type in [WeightType.q4_1, .q8_0] {
            try checkIRMGradients(
                LlamaModel.random(small, seed: 10, type: type), layers: [0, 2], width: 1, l1: 0, "\(type)")
        }
        let wide = LlamaConfig(
            dim: 256, hiddenDim: 256, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: 23,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 8, tiedEmbeddings: false)
        for type in [WeightType.q4_K, .q6_K] {
            try checkIRMGradients(
                LlamaModel.random(wide, seed: 11, type: type), layers: [1], width: 1, l1: 0, "\(type)")
        }
    }

    /// The constant kind (one trainable vector per injection layer): every coordinate of d loss / d vector.
    func testWholeModelPlusConstantIRMGradients() throws {
        let mc = LlamaConfig(
            dim: 16, hiddenDim: 24, nLayers: 4, nHeads: 4, nKVHeads: 2, vocabSize: 23,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 8, tiedEmbeddings: true)
        try checkIRMGradients(LlamaModel.random(mc, seed: 9), layers: [0, 2, 3], width: 1, kind: .constant, "constant")
    }

    /// `l1`: the L1 penalty's kinks (outputs crossing 0) add noise to finite differences along directions
    /// of many parameters; the quantized models are checked without it.
    func checkIRMGradients(
        _ model: LlamaModel, layers: [Int], width: Int, l1: Float = 0.01, kind: IRMKind = .network,
        _ what: String = "f32", file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let mc = model.config
        rng = Rng(seed: 77)  // the same directions whatever ran before
        let cfg = IRMConfig(hidden: mc.dim, layers: layers, widthMultiplier: width, depth: 3, l1: l1, kind: kind)
        let net = IRMNetwork(config: cfg, seed: 4)
        // Keep every hidden pre-activation far from the ReLU kink (half the units clearly on, half clearly
        // off), so finite differences do not straddle a kink; the masking is still exercised.
        for k in 0..<max(0, net.linearCount - 1) {
            let s = cfg.linearShapes[k]
            for i in 0..<s.out * s.in { net.weight(k)[i] *= 0.05 }
            for i in 0..<s.out { net.bias(k)[i] = i % 2 == 0 ? 1 : -1 }
        }
        // The constant's values away from L1's kink at 0 (farther than the one-by-one step below).
        if kind == .constant {
            for i in 0..<cfg.outputDim { net.constant[i] = (i % 2 == 0 ? 1 : -1) * (0.05 + 0.01 * Float(i % 7)) }
        }
        let inj = IRMInjector(net: net)
        let B = 2, T = 4
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6, 7, 0]
        let targets: [Int32] = [-1, 7, 8, 9, -1, -1, 10, -1]
        let mask = [true, true, true, true, true, true, true, false]
        for recompute in [false, true] {
            let a = TrainingArena(config: mc, B: B, T: T, recompute: recompute)
            func loss() -> Double {
                try! model.trainingForward(tokens, arena: a, intervention: inj)
                let ce = model.trainingLoss(targets: targets, arena: a).mean
                var l1 = 0.0
                for n in 0..<B * T where mask[n] {
                    for i in 0..<cfg.outputDim { l1 += Double(abs(inj.acts.output[n * cfg.outputDim + i])) }
                }
                return ce + Double(cfg.l1) * l1 / Double(7 * cfg.outputDim)
            }
            try model.trainingForward(tokens, arena: a, intervention: inj)
            net.zeroGrad()
            inj.zeroOutputGradient()
            model.trainingBackward(targets: targets, arena: a, receiver: inj, stopLayer: 0, intervention: inj)
            _ = inj.addL1(rowMask: mask)
            inj.backward()
            // Directional derivatives along random directions in parameter space (ReLU kinks make single
            // coordinates noisy; a direction averages over many units).
            let g = net.grads.array, p0 = net.params.array
            for trial in 0..<5 {
                let u = randoms(p0.count)
                // A step of the same length in parameter space whatever the parameter count (wider models
                // would otherwise take steps where the loss is far from linear).
                let eps: Float = 2e-3 * min(1, (3200 / Float(p0.count)).squareRoot())
                for i in 0..<p0.count { net.params[i] = p0[i] + eps * u[i] }
                let lp = loss()
                for i in 0..<p0.count { net.params[i] = p0[i] - eps * u[i] }
                let lm = loss()
                for i in 0..<p0.count { net.params[i] = p0[i] }
                let numeric = (lp - lm) / Double(2 * eps)
                let analytic = zip(g, u).reduce(0.0) { $0 + Double($1.0 * $1.1) }
                // The differences' noise scales with the gradient, not with this direction's (possibly
                // small) projection of it: a term in Σ|g·u| as well.
                let terms = zip(g, u).reduce(0.0) { $0 + abs(Double($1.0 * $1.1)) }
                XCTAssertEqual(
                    analytic, numeric, accuracy: 1e-4 + 3e-3 * abs(numeric) + 3e-4 * terms,
                    "\(what): direction \(trial), recompute \(recompute)", file: file, line: line)
            }
            // And parameters of the last Linear (no ReLU after it) one by one: every 5th, at most about 100.
            let lastW = kind == .constant ? 0 : net.weight(net.linearCount - 1) - net.params.ptr
            for i in stride(from: lastW, to: p0.count, by: max(5, (p0.count - lastW) / 100)) {
                let eps: Float = 1e-2
                net.params[i] = p0[i] + eps; let lp = loss()
                net.params[i] = p0[i] - eps; let lm = loss()
                net.params[i] = p0[i]
                let numeric = (lp - lm) / Double(2 * eps)
                XCTAssertEqual(
                    Double(g[i]), numeric, accuracy: 1e-4 + 1e-2 * abs(numeric),
                    "\(what): last-layer param \(i), recompute \(recompute)", file: file, line: line)
            }
        }
    }

    /// One training step (forward with the IRM, loss, backward, IRM gradients) on every kernel path the CPU has
    /// (KernelPath.swift): the paths agree within rounding (they sum in different orders: vector width, KC), and
    /// each path gives the same bits on 1 and 2 threads. Shapes large enough for the blocked GEMM and for both
    /// threads to take part; fp32 and Q4_1 weights.
    func testTrainingStepOnEveryKernelPath() throws {
        let mc = LlamaConfig(
            dim: 128, hiddenDim: 320, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: 97,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 32, tiedEmbeddings: false)
        let savedPath = kernelPath, savedThreads = numThreads
        defer { kernelPath = savedPath; numThreads = savedThreads }
        for type in [WeightType.f32, .q4_1] {
            let model = LlamaModel.random(mc, seed: 21, type: type)
            let B = 3, T = 24
            var r = Rng(seed: 5)
            let tokens = (0..<B * T).map { _ in Int32(r.int(mc.vocabSize)) }
            let targets = (0..<B * T).map { i in i % T >= T / 3 ? Int32(r.int(mc.vocabSize)) : -1 }
            func step() throws -> (loss: Double, grads: [Float]) {
                let net = IRMNetwork(
                    config: IRMConfig(hidden: mc.dim, layers: [0, 1], widthMultiplier: 1, depth: 3), seed: 4)
                let inj = IRMInjector(net: net)
                let a = TrainingArena(config: mc, B: B, T: T)
                try model.trainingForward(tokens, arena: a, intervention: inj)
                let loss = model.trainingLoss(targets: targets, arena: a).mean
                net.zeroGrad(); inj.zeroOutputGradient()
                model.trainingBackward(targets: targets, arena: a, receiver: inj, stopLayer: 0, intervention: inj)
                inj.backward()
                return (loss, net.grads.array)
            }
            var first: (path: KernelPath, loss: Double, grads: [Float])?
            for path in KernelPath.allCases {
                guard CPUInfo.current.paths.contains(path) else {
                    print("kernel path \(path.rawValue) skipped: this CPU cannot run it"); continue
                }
                kernelPath = path
                numThreads = 1
                let one = try step()
                numThreads = 2
                let two = try step()
                XCTAssertEqual(one.loss.bitPattern, two.loss.bitPattern, "\(type) \(path): loss on 1 and 2 threads")
                XCTAssert(
                    one.grads.map(\.bitPattern) == two.grads.map(\.bitPattern),
                    "\(type) \(path): gradients on 1 and 2 threads")
                guard let f = first else { first = (path, one.loss, one.grads); continue }
                XCTAssertEqual(one.loss, f.loss, accuracy: 1e-5 * abs(f.loss), "\(type): loss on \(path) vs \(f.path)")
                let scale = f.grads.reduce(0) { max($0, abs($1)) }
                var worst: Float = 0
                for (x, y) in zip(one.grads, f.grads) { worst = max(worst, abs(x - y)) }
                XCTAssertGreaterThan(scale, 0)
                XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(type): IRM gradients on \(path) vs \(f.path)")
            }
        }
    }

    /// A replayed tap (the backward's recomputation) re-injects the output of the forward: it neither runs
    /// the network on the residual it is shown nor reports a new output.
    func testReplayReusesTheForwardOutput() {
        let cfg = IRMConfig(hidden: 4, layers: [0, 2], widthMultiplier: 2, depth: 2)
        let inj = IRMInjector(net: IRMNetwork(config: cfg, seed: 5))
        var runs = 0
        inj.onOutput = { _, _ in runs += 1 }
        var x: [Float] = [1, -2, 3, 0.5]
        let x0 = x
        inj.afterAttention(layer: 0, residual: &x, T: 1, pos0: 0, replay: false)
        let out = Array(UnsafeBufferPointer(start: inj.acts.output, count: cfg.outputDim))
        let slice = inj.slice(row: 0, slot: 0)
        for i in 0..<4 { XCTAssertEqual(x[i] - x0[i], slice[i], accuracy: 1e-6) }
        XCTAssertGreaterThan(slice.map(abs).max()!, 1e-3)
        let y0: [Float] = [9, 9, -9, 9]  // another residual: a forward would change the output
        var y = y0
        inj.afterAttention(layer: 0, residual: &y, T: 1, pos0: 0, replay: true)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: inj.acts.output, count: cfg.outputDim)), out)
        for i in 0..<4 { XCTAssertEqual(y[i] - y0[i], slice[i], accuracy: 1e-5) }
        XCTAssertEqual(runs, 1)
        inj.afterAttention(layer: 0, residual: &y, T: 1, pos0: 0, replay: false)
        XCTAssertNotEqual(Array(UnsafeBufferPointer(start: inj.acts.output, count: cfg.outputDim)), out)
        XCTAssertEqual(runs, 2)
    }

    /// With --recompute the IRM's gradients are those of the stored activations, and the network runs once
    /// per step (in the forward; the backward replays it).
    func testRecomputeStepRunsTheNetworkOnce() throws {
        let mc = LlamaConfig(
            dim: 16, hiddenDim: 24, nLayers: 4, nHeads: 4, nKVHeads: 2, vocabSize: 23,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 8, tiedEmbeddings: false)
        let model = LlamaModel.random(mc, seed: 3)
        let cfg = IRMConfig(hidden: 16, layers: [1, 3], widthMultiplier: 2, depth: 2)
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6, 7, 0], targets: [Int32] = [-1, 7, 8, 9, -1, -1, 10, -1]
        func grads(recompute: Bool) throws -> ([Float], Int) {
            let net = IRMNetwork(config: cfg, seed: 4)
            let inj = IRMInjector(net: net)
            var runs = 0
            inj.onOutput = { _, _ in runs += 1 }
            let a = TrainingArena(config: mc, B: 2, T: 4, recompute: recompute)
            try model.trainingForward(tokens, arena: a, intervention: inj)
            net.zeroGrad(); inj.zeroOutputGradient()
            model.trainingBackward(targets: targets, arena: a, receiver: inj, stopLayer: 1, intervention: inj)
            inj.backward()
            return (net.grads.array, runs)
        }
        let (stored, runsStored) = try grads(recompute: false),
            (recomputed, runsRecomputed) = try grads(recompute: true)
        XCTAssertEqual(runsStored, 1)
        XCTAssertEqual(runsRecomputed, 1)
        XCTAssertGreaterThan(stored.map(abs).max()!, 1e-4)
        for i in 0..<stored.count {
            XCTAssertEqual(recomputed[i], stored[i], accuracy: 1e-6 + 1e-5 * abs(stored[i]), "grad \(i)")
        }
    }

    func testSaveLoadRoundTripWithReferenceNames() throws {
        let cfg = IRMConfig(hidden: 8, layers: [1, 2, 5], widthMultiplier: 3, depth: 5, l1: 0.5)
        let net = IRMNetwork(config: cfg, seed: 12)
        let path = NSTemporaryDirectory() + "irm-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try net.save(path: path)
        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(
            Set(f.tensors.keys),
            Set([0, 2, 4, 6, 8].flatMap { ["basic_forward.\($0).weight", "basic_forward.\($0).bias"] }))
        XCTAssertEqual(f.tensors["basic_forward.8.weight"]?.shape, [24, 24])
        XCTAssertEqual(f.tensors["basic_forward.0.weight"]?.shape, [24, 8])
        let back = try IRMNetwork.load(path: path)
        XCTAssertEqual(back.config, cfg)
        XCTAssertEqual(back.params.array, net.params.array)
        // A config that does not match the file is refused, naming the tensor.
        XCTAssertThrowsError(try IRMNetwork.load(path: path, config: IRMConfig(hidden: 8, layers: [1, 2]))) {
            XCTAssertTrue("\($0)".contains("basic_forward.8.weight"), "\($0)")
        }
    }

    /// The constant kind: the same output at every token whatever the input, one `constant` tensor in the file,
    /// `kind` in irm_config only when it is not `network` (a network IRM's config is what it always was), and an
    /// unknown kind refused.
    func testConstantKind() throws {
        let cfg = IRMConfig(hidden: 4, layers: [1, 3], initialization: .pytorch, kind: .constant)
        XCTAssertEqual(cfg.parameterCount, 8)
        XCTAssertEqual(cfg.checkedParameterCount, 8)
        XCTAssertTrue(cfg.linearShapes.isEmpty)
        let net = IRMNetwork(config: cfg, seed: 3)
        XCTAssertEqual(net.params.count, 8)
        XCTAssertTrue((0..<8).allSatisfy { net.constant[$0] != 0 && abs(net.constant[$0]) <= 0.5 })
        XCTAssertTrue(
            IRMNetwork(
                config: IRMConfig(hidden: 4, layers: [1], initialization: .zeroOutput, kind: .constant),
                seed: 3
            ).params.array.allSatisfy { $0 == 0 })
        let acts = IRMActivations(config: cfg, rows: 3)
        let u = randoms(3 * 4)
        net.forward(u, rows: 3, acts)
        for r in 0..<3 {
            XCTAssertEqual(Array(UnsafeBufferPointer(start: acts.output + r * 8, count: 8)), net.params.array)
        }
        // d vector = Σ_rows dOut
        let dOut = (0..<24).map { Float($0) }
        net.zeroGrad()
        net.backward(dOut, rows: 3, acts)
        XCTAssertEqual(net.grads.array, (0..<8).map { Float($0 + ($0 + 8) + ($0 + 16)) })

        let path = NSTemporaryDirectory() + "irm-const-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try net.save(path: path)
        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(Array(f.tensors.keys), ["constant"])
        XCTAssertEqual(f.tensors["constant"]?.shape, [8])
        let back = try IRMNetwork.load(path: path)
        XCTAssertEqual(back.config, cfg)
        XCTAssertEqual(back.params.array, net.params.array)
        // A network config does not read a constant file, naming the missing tensor.
        XCTAssertThrowsError(try IRMNetwork.load(path: path, config: IRMConfig(hidden: 4, layers: [1, 3]))) {
            XCTAssertTrue("\($0)".contains("basic_forward.0.weight"), "\($0)")
        }

        struct Enc { func encode(_ c: IRMConfig) throws -> Data { try encodeJSON(c, .compact) } }
        let enc = Enc()
        let network = IRMConfig(hidden: 4, layers: [1, 3])
        XCTAssertEqual(
            String(decoding: try enc.encode(network), as: UTF8.self),
            #"{"depth":5,"hidden":4,"initialization":"pytorch","l1":0,"layers":[1,3],"tapLayer":0,"widthMultiplier":3}"#
        )
        XCTAssertTrue(String(decoding: try enc.encode(cfg), as: UTF8.self).contains(#""kind":"constant""#))
        XCTAssertEqual(try JSONDecoder().decode(IRMConfig.self, from: try enc.encode(network)), network)
        XCTAssertEqual(try JSONDecoder().decode(IRMConfig.self, from: try enc.encode(cfg)), cfg)
        let unknown = Data(
            #"{"depth":5,"hidden":4,"initialization":"pytorch","l1":0,"layers":[1],"tapLayer":0,"widthMultiplier":3,"kind":"lora"}"#
                .utf8)
        XCTAssertThrowsError(try JSONDecoder().decode(IRMConfig.self, from: unknown))
    }

    /// Issue 19: the constant-vector IRM finds a knob planted in the data. The targets are sampled from the
    /// tiny model's own next-token distribution with c = +2 added to one residual index after every layer's
    /// attention; trained from zero with Adam (what `--irm-kind constant` runs), the vector must put that
    /// index first, with the planted sign and about the planted size, and reach the planted knob's loss.
    func testConstantIRMTrainsAPlantedKnob() throws {
        let mc = LlamaConfig(
            dim: 16, hiddenDim: 32, nLayers: 3, nHeads: 4, nKVHeads: 2, vocabSize: 23,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 12, tiedEmbeddings: false)
        let model = LlamaModel.random(mc, seed: 11)
        let layers = [0, 1, 2], planted = 6, c: Float = 2, B = 16, T = 12
        final class PlantedKnob: Intervention {
            let index: Int, c: Float, dim: Int
            init(index: Int, c: Float, dim: Int) { self.index = index; self.c = c; self.dim = dim }
            func afterAttention(layer: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {
                for t in 0..<T { x[t * dim + index] += c }
            }
        }
        let knob = PlantedKnob(index: planted, c: c, dim: mc.dim)
        // 48 batches of B random sequences (enough samples that the other indices stay near zero); every position's target drawn from the knobbed model's softmax.
        var r = Rng(seed: 8)
        var batches: [(tokens: [Int32], targets: [Int32])] = []
        for _ in 0..<48 {
            var tokens: [Int32] = [], targets: [Int32] = []
            for _ in 0..<B {
                let seq = (0..<T).map { _ in Int32(r.int(mc.vocabSize)) }
                let logits = try model.forward(seq, state: model.makeState(), intervention: knob, allLogits: true)
                for t in 0..<T {
                    let row = logits[t * mc.vocabSize..<(t + 1) * mc.vocabSize], top = row.max()!
                    let p = row.map { Double(exp($0 - top)) }
                    var u = Double(r.uniform()) * p.reduce(0, +), k = 0
                    while k < p.count - 1, u >= p[k] { u -= p[k]; k += 1 }
                    targets.append(Int32(k))
                }
                tokens += seq
            }
            batches.append((tokens, targets))
        }
        let a = TrainingArena(config: mc, B: B, T: T)
        func meanLoss(_ intervention: Intervention?) throws -> Double {
            var sum = 0.0
            for b in batches {
                try model.trainingForward(b.tokens, arena: a, intervention: intervention)
                sum += model.trainingLoss(targets: b.targets, arena: a).mean
            }
            return sum / Double(batches.count)
        }

        let cfg = IRMConfig(hidden: mc.dim, layers: layers, initialization: .zeroOutput, kind: .constant)
        let net = IRMNetwork(config: cfg, seed: 1)
        let inj = IRMInjector(net: net)
        var ac = AdamConfig(); ac.lr = 0.05
        let adam = Adam(config: ac, count: net.params.count)
        let frozen = try meanLoss(nil), target = try meanLoss(knob)
        for step in 0..<960 {
            let b = batches[step % batches.count]
            try model.trainingForward(b.tokens, arena: a, intervention: inj)
            net.zeroGrad(); inj.zeroOutputGradient()
            model.trainingBackward(targets: b.targets, arena: a, receiver: inj, stopLayer: 0, intervention: inj)
            inj.backward()
            adam.update(params: net.params, grads: net.grads, lr: ac.lr)
        }
        let trained = try meanLoss(inj)
        // Each index's push summed over the injection layers (index i, slot j at i·L + j).
        let L = layers.count
        let sums = (0..<mc.dim).map { i in (0..<L).reduce(Float(0)) { $0 + net.constant[i * L + $1] } }
        let others = sums.enumerated().filter { $0.offset != planted }.map { abs($0.element) }.max()!
        XCTAssertGreaterThan(frozen - target, 0.15, "the planted knob changes the data")
        XCTAssertLessThan(trained - target, 0.1 * (frozen - target), "the trained vector reaches the knob's loss")
        XCTAssertEqual(sums[planted], c * Float(L), accuracy: 0.25 * c * Float(L), "the planted index and size")
        XCTAssertLessThan(others, 0.2 * sums[planted], "the other indices stay small")
    }

    /// One Adam step against the formula as PyTorch computes it.
    func testAdamMatchesPyTorchFormula() {
        var c = AdamConfig(); c.lr = 0.01
        let adam = Adam(config: c, count: 3)
        let p = FloatBuffer([1, -2, 0.5]), g = FloatBuffer([0.1, -0.3, 0])
        var m = [0.0, 0, 0], v = [0.0, 0, 0], ref = [1.0, -2, 0.5]
        for t in 1...3 {
            adam.update(params: p, grads: g, lr: 0.01)
            for i in 0..<3 {
                let gi = Double(g[i])
                m[i] = 0.9 * m[i] + 0.1 * gi; v[i] = 0.999 * v[i] + 0.001 * gi * gi
                let mh = m[i] / (1 - pow(0.9, Double(t))), vh = v[i] / (1 - pow(0.999, Double(t)))
                ref[i] -= 0.01 * mh / (vh.squareRoot() + 1e-8)
            }
        }
        for i in 0..<3 { XCTAssertEqual(Double(p[i]), ref[i], accuracy: 1e-6) }
        XCTAssertEqual(AdamConfig().learningRate(epoch: 2), 1e-4 * 0.85 * 0.85, accuracy: 1e-10)
    }
}
