// LM-head neuron decoding speed (`irm neurons map`): the full up-projection map of SmolLM2, and one
// Llama-2-7B-shaped layer (11008 rows × 4096, vocab 32000, random fp16 weights) extrapolated to 32 layers.
// Each figure is reported with the plain GEMM of the same shape measured alongside (the decoder's ceiling).
import Foundation
import Numerics
import Llama
import Figures
import Analysis

func benchNeurons(_ o: BenchOptions) {
    let quick = ProcessInfo.processInfo.environment["IRM_BENCH_QUICK"] != nil

    // Parts of one block: the GEMM [256, dim]·W_Uᵀ, and the softmax/top-K pass over its [256, vocab] logits.
    @discardableResult
    func parts(_ name: String, head: Weight) -> Double {
        let B = 256, D = head.cols, V = head.rows
        var rng = Rng(seed: 4)
        let x = FloatBuffer(count: B * D), y = FloatBuffer(count: B * V)
        for i in 0..<(B * D) { x.ptr[i] = rng.normal() }
        let tG = bestTime(reps: 3) { matmul(x.ptr, B, head, y.ptr) }
        emit(
            "\(name)_block_gemm", 2 * Double(B) * Double(V) * Double(D) / tG / 1e9, unit: "GFLOP/s",
            extra: ["ms": tG * 1000, "shape": "\(B)x\(D) · \(V)x\(D)ᵀ"])
        let tS = bestTime(reps: 3) { _ = selectSoftmaxRows(y.ptr, rows: B, vocab: V, k: 10, bottomK: 10) }
        emit(
            "\(name)_block_select", Double(B) / tS, unit: "rows/s",
            extra: ["ms": tS * 1000, "note": "top/bottom-10 + softmax stats"])
        return 2 * Double(B) * Double(V) * Double(D) / tG / 1e9
    }

    if o.wants("smollm2"), let model = try? LlamaModel.load(path: o.smolPath, storage: .auto) {
        let c = model.config
        let gemm = parts("smollm2_neurons", head: model.weights.output)
        if !quick {
            let t = min(
                timeOnce {
                    _ = NeuronMap.build(model: model, tokens: [], kind: .up, norm: .final, topK: 10, bottomK: 10)
                },
                timeOnce {
                    _ = NeuronMap.build(model: model, tokens: [], kind: .up, norm: .final, topK: 10, bottomK: 10)
                })
            let flop = 2 * Double(c.nLayers * c.hiddenDim) * Double(c.vocabSize) * Double(c.dim)
            let gf: Double = (flop / t / 1e8).rounded() / 10
            emit(
                "smollm2_neuron_map_up", t, unit: "s",
                extra: [
                    "gflops": gf, "vs_block_gemm": (gf / gemm * 100).rounded() / 100,
                    "neurons": c.nLayers * c.hiddenDim,
                    "compare": "best of 2",
                    "note": "30 layers × 1536 up rows, vocab 49152, top/bottom-10"
                ])
        }
    } else if o.wants("smollm2") {
        print("{\"error\": \"cannot load \(o.smolPath): run make model\"}")
    }

    // Llama-2-7B shape, random fp16: one layer's 11008 up rows against a 32000 × 4096 head.
    guard o.wants("llama7b") else { return }
    var rng = Rng(seed: 9)
    let head = randomWeight(rows: 32000, cols: 4096, type: .f16, rng: &rng, scale: 1 / 64)
    let up = randomWeight(rows: quick ? 1024 : 11008, cols: 4096, type: .f16, rng: &rng)
    let gain = [Float](repeating: 1, count: 4096)
    let gemm7 = parts("llama2_7b_neurons", head: head)
    let dec = LMHeadDecoder(head: head, gain: gain)
    let t = timeOnce {
        _ = dec.decode(count: up.rows, topK: 10, bottomK: 10) { s, n, dst in
            for r in 0..<n { up.copyRow(s + r, into: dst + r * 4096) }
        }
    }
    let perRow: Double = t / Double(up.rows)
    let total: Double = perRow * 11008 * 32
    let rowFlop: Double = 2 * 32000 * 4096
    let gflops: Double = (rowFlop / perRow / 1e8).rounded() / 10
    emit(
        "llama2_7b_neuron_map_up_extrapolated", total / 60, unit: "min",
        extra: [
            "layer_seconds": perRow * 11008, "gflops": gflops, "vs_block_gemm": (gflops / gemm7 * 100).rounded() / 100,
            "target": 12,
            "note": "one random fp16 layer (\(up.rows) rows measured) × 32; seed paper: Llama-3.1-8B < 15 min"
        ])
}

/// Wall time of one run (for runs too long to repeat).
func timeOnce(_ body: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}
