// Training speed: one full step (forward with the IRM injecting, backward to the lowest injection layer,
// IRM backward, Adam) against one forward pass of the same batch, side by side in this process.
// DESIGN's floor: a step is about 3 forwards (forward, activation backward, IRM forward/backward).
import Foundation
import Numerics
import Llama
import IRM

func benchTrain(_ o: BenchOptions) {
    if o.wants("smollm2") { benchSmolTrain(o) }
    if o.wants("llama7b") { benchLlama7BTrain() }
}

private func benchSmolTrain(_ o: BenchOptions) {
    guard let model = try? LlamaModel.load(path: o.smolPath) else { print("{\"error\": \"run make model\"}"); return }
    let c = model.config
    var rng = Rng(seed: 3)
    let B = 8, T = 128, N = B * T
    let tokens = (0..<N).map { _ in Int32(rng.int(c.vocabSize)) }
    // Loss on the second half of each sequence (a response), as in QA training.
    let targets = (0..<N).map { i in i % T >= T / 2 ? Int32(rng.int(c.vocabSize)) : -1 }
    let irmCfg = IRMConfig(hidden: c.dim, layers: Array(0..<c.nLayers))
    let net = IRMNetwork(config: irmCfg, seed: 1)
    let inj = IRMInjector(net: net, capacity: N)
    let adam = Adam(config: AdamConfig(), count: net.params.count)
    let arena = TrainingArena(config: c, B: B, T: T)

    let tForward = bestTime(reps: 3) {
        try! model.trainingForward(tokens, arena: arena)
        _ = model.trainingLoss(targets: targets, arena: arena)
    }
    let tStep = bestTime(reps: 3) {
        try! model.trainingForward(tokens, arena: arena, intervention: inj)
        net.zeroGrad(); inj.zeroOutputGradient()
        model.trainingBackward(targets: targets, arena: arena, receiver: inj, stopLayer: 0, intervention: inj)
        inj.backward()
        adam.update(params: net.params, grads: net.grads, lr: 1e-4)
    }
    // The FMA peak of this many threads, measured now (the machine is shared): what the GFLOP/s compare with.
    let peak = peakFMA(threads: numThreads, iters: 1_000_000, reps: 3)
    let flops = trainingFLOPs(
        c, B: B, T: T, targetRows: targets.filter { $0 >= 0 }.count, irmParams: irmCfg.parameterCount)
    emit(
        "train_smollm2_reference_irm_tokens_per_s", Double(N) / tStep, unit: "tok/s",
        extra: ["batch": "8x128", "irm_params": irmCfg.parameterCount, "step_s": tStep, "threads": numThreads])
    emit(
        "train_step_over_forward_smollm2", tStep / tForward, unit: "ratio",
        extra: ["forward_s": tForward, "step_s": tStep, "target": 3.5, "floor": "about 3"])
    for (what, f, t) in [("step", flops.step, tStep), ("forward", flops.forward, tForward)] {
        let g = f / t / 1e9
        emit(
            "train_smollm2_\(what)_gflops", g, unit: "GFLOP/s",
            extra: [
                "gflop": (f / 1e8).rounded() / 10, "peak_fma": (peak * 10).rounded() / 10,
                "vs_peak": (g / peak * 1000).rounded() / 1000, "threads": numThreads, "path": kernelPath.rawValue,
                "note": "matmul and attention FLOPs (trainingFLOPs), against a register-only FMA loop run just before"
            ])
    }
}

/// FLOPs of the matrix products and attention in one training forward of B×T tokens (the layers, and the LM
/// head on the rows with a target) and in one step: that forward with the IRM, the activation backward
/// down to layer 0 (dx = dy·W for every Linear, twice the attention's forward; layer 0 stops at its
/// afterAttention site), and the IRM's backward (dx and dW). Elementwise work (norms, SwiGLU, softmax) is
/// left out: it is a few percent.
func trainingFLOPs(_ c: LlamaConfig, B: Int, T: Int, targetRows: Int, irmParams: Int) -> (forward: Double, step: Double)
{
    let N = Double(B * T), dim = Double(c.dim), L = Double(c.nLayers)
    let attnLinear = 2 * N * (dim * Double(c.qDim) * 2 + dim * Double(c.kvDim) * 2)
    let mlpLinear = 2 * N * 3 * dim * Double(c.hiddenDim)
    let attention = Double(B * c.nHeads) * 2 * Double(T * (T + 1)) * Double(c.headDim)  // q·kᵀ and p·v, causal
    let head = 2 * Double(targetRows) * dim * Double(c.vocabSize)
    let forward = L * (attnLinear + mlpLinear + attention) + head
    let irm = 2 * N * Double(irmParams)
    let backward = head + L * mlpLinear + (L - 1) * (attnLinear + 2 * attention) + 2 * irm
    return (forward, forward + irm + backward)
}

private func benchLlama7BTrain() {
    let B = 8, T = 128, N = B * T
    // Llama-2-7B-shaped layers (random fp16): a 1-layer and a 2-layer model, so the difference is one
    // layer's forward + activation backward and the rest is the embedding + LM head; extrapolated to 32.
    func time7B(_ layers: Int) -> (forward: Double, step: Double) {
        var cfg = LlamaConfig.llama2_7b
        cfg.nLayers = layers
        let m = LlamaModel.random(cfg, seed: 7, type: .f16)
        let a = TrainingArena(config: cfg, B: B, T: T)
        var r = Rng(seed: 4)
        let tok = (0..<N).map { _ in Int32(r.int(cfg.vocabSize)) }
        let tgt = (0..<N).map { i in i % T >= T / 2 ? Int32(r.int(cfg.vocabSize)) : -1 }
        let f = bestTime(reps: 1) {
            try! m.trainingForward(tok, arena: a); _ = m.trainingLoss(targets: tgt, arena: a)
        }
        let s = bestTime(reps: 1) {
            try! m.trainingForward(tok, arena: a)
            m.trainingBackward(targets: tgt, arena: a, receiver: nil, stopLayer: 0)
        }
        return (f, s)
    }
    let one = time7B(1), two = time7B(2)
    let layerF = two.forward - one.forward, layerS = two.step - one.step
    let f32 = one.forward - layerF + 32 * layerF, s32 = one.step - layerS + 32 * layerS
    emit(
        "train_llama2_7b_layer_forward_backward_s", layerS, unit: "s/layer",
        extra: ["forward_s_per_layer": layerF, "batch": "8x128", "ratio": layerS / layerF])
    emit(
        "train_llama2_7b_model_backward_extrapolated", Double(N) / s32, unit: "tok/s",
        extra: [
            "seconds_per_step": s32, "forward_seconds": f32, "step_over_forward": s32 / f32,
            "note":
                "32 layers + LM head, forward and activation backward without an IRM; the reference IRM (2.1 B parameters, 34 GB with Adam) does not fit this machine"
        ])
}
