// Forward-pass speed: SmolLM2 prefill and decode, and a Llama-2-7B-shaped layer extrapolated to 32 layers.
import Foundation
import Numerics
import Llama

let smolPath = "Models/SmolLM2-135M-Instruct.Q4_1.gguf"

func benchForward() {
    for storage in [WeightStorage.f32, .f16] {
        guard let model = try? LlamaModel.load(path: smolPath, storage: storage) else {
            print("{\"error\": \"cannot load \(smolPath): run make model\"}"); return
        }
        var rng = Rng(seed: 1)
        let prompt = (0..<128).map { _ in Int32(rng.int(model.config.vocabSize)) }
        let state = model.makeState(capacity: 256)
        let tPrefill = bestTime(reps: 5) { state.reset(); _ = try! model.forward(prompt, state: state) }
        emit("smollm2_prefill_128_\(storage.rawValue)", 128 / tPrefill, unit: "tok/s",
             extra: ["compare": "llama.cpp 2 threads: 501 (F32) / 589 (F16)", "target": 600])
        // Decode: 64 single-token steps after the 128-token prompt.
        let tDecode = bestTime(reps: 3) {
            state.truncate(to: 128)
            for i in 0..<64 { _ = try! model.forward([prompt[i]], state: state) }
        }
        emit("smollm2_decode_\(storage.rawValue)", 64 / tDecode, unit: "tok/s",
             extra: ["compare": "llama.cpp 2 threads: 58 (F32) / 99 (F16) / 166 (Q4_1)", "target": 100])
    }

    // One Llama-2-7B layer with random fp16 weights; the LM head (32000×4096) measured with it.
    var cfg = LlamaConfig.llama2_7b
    cfg.nLayers = 1
    let layer = LlamaModel.random(cfg, seed: 7, type: .f16)
    var rng = Rng(seed: 2)
    let prompt = (0..<128).map { _ in Int32(rng.int(cfg.vocabSize)) }
    let st = layer.makeState(capacity: 256)
    let tP = bestTime(reps: 2) { st.reset(); _ = try! layer.forward(prompt, state: st) }
    let tD = bestTime(reps: 3) { st.truncate(to: 128); _ = try! layer.forward([1], state: st) }
    // Split off the LM head (run once per token, not per layer) by timing it alone.
    let x = FloatBuffer(count: 128 * cfg.dim), y = FloatBuffer(count: 128 * cfg.vocabSize)
    let tHeadP = bestTime(reps: 2) { matmul(x.ptr, 1, layer.weights.output, y.ptr) }
    let tHeadD = tHeadP
    let prefill32 = (tP - tHeadP) * 32 + tHeadP, decode32 = (tD - tHeadD) * 32 + tHeadD
    emit("llama2_7b_layer_prefill_128_f16", (tP - tHeadP) * 1000, unit: "ms/layer")
    emit("llama2_7b_prefill_128_f16_extrapolated", 128 / prefill32, unit: "tok/s",
         extra: ["note": "32 × one random fp16 layer + LM head, 128-token prompt", "seconds": prefill32])
    emit("llama2_7b_decode_f16_extrapolated", 1 / decode32, unit: "tok/s",
         extra: ["note": "32 × one random fp16 layer + LM head, at position 128", "ms_per_token": decode32 * 1000])
}
