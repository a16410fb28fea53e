// `irm-bench gemm-train`: every matrix product of one SmolLM2 training step (batch 8×128, the reference IRM) at
// its real shape, form and weight storage, timed on its own: GFLOP/s against the FMA peak of the path in use,
// and the share of the step's product time each takes (calls per step × time). Shows which product holds the
// step back, and what the GEMM reaches on the training shapes (issue: ≥ 75 % of the path's peak).
import Foundation
import Numerics

private struct TrainProduct {
    let name: String, form: String, M: Int, K: Int, N: Int, type: WeightType, perStep: Int
}

/// The products of one step: forward (x·Wᵀ) of the 30 layers and the LM head on the 512 target rows, the
/// activation backward (dy·W) of the same, the IRM's forward, input backward and weight gradients (fp32).
private func smolStepProducts(layers L: Int = 30) -> [TrainProduct] {
    let N = 1024, D = 576, KV = 192, F = 1536, V = 49152, H = 1728, out = 576 * 30
    return [
        TrainProduct(name: "q,o", form: "fwd", M: N, K: D, N: D, type: .q4_1, perStep: 2 * L),
        TrainProduct(name: "k,v", form: "fwd", M: N, K: D, N: KV, type: .q4_1, perStep: 2 * L),
        TrainProduct(name: "gate,up", form: "fwd", M: N, K: D, N: F, type: .q4_1, perStep: 2 * L),
        TrainProduct(name: "down", form: "fwd", M: N, K: F, N: D, type: .q4_1, perStep: L),
        TrainProduct(name: "head", form: "fwd", M: 512, K: D, N: V, type: .q8_0, perStep: 1),
        TrainProduct(name: "q,o", form: "bwd", M: N, K: D, N: D, type: .q4_1, perStep: 2 * (L - 1)),
        TrainProduct(name: "k,v", form: "bwd", M: N, K: D, N: KV, type: .q4_1, perStep: 2 * (L - 1)),
        TrainProduct(name: "gate,up", form: "bwd", M: N, K: D, N: F, type: .q4_1, perStep: 2 * L),
        TrainProduct(name: "down", form: "bwd", M: N, K: F, N: D, type: .q4_1, perStep: L),
        TrainProduct(name: "head", form: "bwd", M: 512, K: D, N: V, type: .q8_0, perStep: 1),
        TrainProduct(name: "irm in", form: "fwd", M: N, K: D, N: H, type: .f32, perStep: 1),
        TrainProduct(name: "irm hidden", form: "fwd", M: N, K: H, N: H, type: .f32, perStep: 3),
        TrainProduct(name: "irm out", form: "fwd", M: N, K: H, N: out, type: .f32, perStep: 1),
        TrainProduct(name: "irm hidden", form: "bwd", M: N, K: H, N: H, type: .f32, perStep: 3),
        TrainProduct(name: "irm out", form: "bwd", M: N, K: H, N: out, type: .f32, perStep: 1),
        TrainProduct(name: "irm in", form: "dW", M: N, K: D, N: H, type: .f32, perStep: 1),
        TrainProduct(name: "irm hidden", form: "dW", M: N, K: H, N: H, type: .f32, perStep: 3),
        TrainProduct(name: "irm out", form: "dW", M: N, K: H, N: out, type: .f32, perStep: 1)
    ]
}

func benchGEMMTrain(_ o: BenchOptions) {
    let threads = numThreads
    var rng = Rng(seed: 5)
    var total = 0.0
    var rows: [(TrainProduct, Double)] = []
    for p in smolStepProducts() {
        // W is [N, K] in the forward and the backward (dx = dy·W reads it [N, K] too); dW's "W" is x [M, K].
        let w = FloatBuffer(count: p.N * p.K)
        for i in 0..<w.count { w[i] = rng.normal() * 0.05 }
        let W: Weight
        if let f = p.type.blockFormat {
            let bytes = ByteBuffer(byteCount: p.N * p.type.rowBytes(p.K))
            quantizeBlocks(f, w.ptr, bytes.ptr, p.N * p.K)
            W = Weight(rows: p.N, cols: p.K, type: p.type, base: UnsafeRawPointer(bytes.ptr), owner: bytes)
        } else {
            W = Weight(rows: p.N, cols: p.K, buffer: w)
        }
        let x = FloatBuffer(count: p.M * max(p.K, p.N)), y = FloatBuffer(count: p.M * max(p.K, p.N))
        for i in 0..<x.count { x[i] = rng.normal() }
        let dW = FloatBuffer(count: p.form == "dW" ? p.N * p.K : 1)
        let body: () -> Void
        switch p.form {
        case "fwd": body = { matmul(x.ptr, p.M, W, y.ptr) }
        case "bwd": body = { matmulBackward(x.ptr, p.M, W, y.ptr) }
        default: body = { matmulWeightGrad(x.ptr, y.ptr, M: p.M, N: p.N, K: p.K, dW.ptr, accumulate: true) }
        }
        let flops = 2.0 * Double(p.M) * Double(p.N) * Double(p.K)
        let t = bestTime(reps: max(3, min(20, Int(2e10 / flops)))) { body() }
        total += t * Double(p.perStep)
        rows.append((p, t))
    }
    // The peak after the products, with the pool's threads running: measured first (a few ms, while the workers
    // were still being started) it ranged over 90–220 GFLOP/s on one machine.
    let peak = peakFMA(threads: threads, iters: 4_000_000, reps: 5)
    for (p, t) in rows {
        let g = 2.0 * Double(p.M) * Double(p.N) * Double(p.K) / t / 1e9
        emit(
            "gemm_train.\(p.form).\(p.name.replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: ",", with: "+"))",
            g, unit: "GFLOP/s",
            extra: [
                "M": p.M, "K": p.K, "N": p.N, "weights": p.type.rawValue, "per_step": p.perStep,
                "path": kernelPath.rawValue,
                "vs_peak": (g / peak * 1000).rounded() / 1000,
                "share_of_products": (t * Double(p.perStep) / total * 1000).rounded() / 1000,
                "threads": threads
            ])
    }
    emit(
        "gemm_train.products_per_step", total, unit: "s",
        extra: ["peak_fma": (peak * 10).rounded() / 10, "path": kernelPathDescription, "threads": threads])
}
