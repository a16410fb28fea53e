// Forward-pass speed: SmolLM2 prefill (a 128-token prompt) and decode (64 tokens after it), each also on one
// thread in alternation with the N-thread run, so the scaling ratio compares figures taken under the same
// load; and a Llama-2-7B-shaped layer extrapolated to 32 layers.
import Foundation
import Numerics
import Llama

func benchForward(_ o: BenchOptions) {
    if o.wants("smollm2") { benchSmolForward(o) }
    if o.wants("llama7b") { benchLlama7BLayer() }
}

private func benchSmolForward(_ o: BenchOptions) {
    let threads = numThreads
    for dtype in o.dtypes where dtype != "int8" || QuantizedDot.int8Available {
        // int8: the file's blocks as auto keeps them, decoded with 8-bit activations (`irm generate --int8-dot`).
        let storage = dtype == "int8" ? WeightStorage.auto : WeightStorage(rawValue: dtype)!
        quantizedDot = dtype == "int8" ? .int8 : .exact
        defer { quantizedDot = .exact }
        guard let model = try? LlamaModel.load(path: o.smolPath, storage: storage) else {
            print("{\"error\": \"cannot load \(o.smolPath): run make model\"}"); return
        }
        var rng = Rng(seed: 1)
        let prompt = (0..<128).map { _ in Int32(rng.int(model.config.vocabSize)) }
        let state = model.makeState(capacity: 256)
        let prefill = {
            state.reset(); _ = try! model.forward(prompt, state: state)
        }
        let decode = {
            state.truncate(to: 128)
            for i in 0..<64 { _ = try! model.forward([prompt[i]], state: state) }
        }
        prefill()
        // Fork/joins and context switches (all threads of the process) of one decode run, per token.
        let regions0 = parallelRegionCount, switches0 = contextSwitches()
        decode()
        let regions = Double(parallelRegionCount - regions0) / 64, switches = Double(contextSwitches() - switches0) / 64
        let p = alternate(threads: threads, rounds: 5, prefill)
        let d = alternate(threads: threads, rounds: 3, decode)
        let name = dtype == "auto" ? "auto" : dtype
        let weights = model.weights.layers[0].wq.type.rawValue
        emit(
            "smollm2_prefill_128_\(name)", 128 / p.n, unit: "tok/s",
            extra: [
                "threads": threads, "weights": weights, "one_thread": rounded(128 / p.one),
                "speedup_over_one_thread": rounded(p.one / p.n)
            ])
        emit(
            "smollm2_decode_\(name)", 64 / d.n, unit: "tok/s",
            extra: [
                "threads": threads, "weights": weights, "one_thread": rounded(64 / d.one),
                "speedup_over_one_thread": rounded(d.one / d.n), "regions_per_token": regions,
                "context_switches_per_token": switches, "note": "64 tokens after a 128-token prompt"
            ])
    }
}

/// Best times of `body` on `threads` threads and on one, measured in alternating rounds (one warm-up each).
private func alternate(threads: Int, rounds: Int, _ body: () -> Void) -> (n: Double, one: Double) {
    var n = Double.infinity, one = Double.infinity
    for _ in 0..<rounds {
        n = min(n, bestTime(reps: 1, body))
        if threads == 1 { continue }
        numThreads = 1
        one = min(one, bestTime(reps: 1, body))
        numThreads = threads
    }
    return (n, threads == 1 ? n : one)
}

/// Voluntary and involuntary context switches of this process so far.
private func contextSwitches() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return u.ru_nvcsw + u.ru_nivcsw
}

private func rounded(_ v: Double) -> Double { (v * 1000).rounded() / 1000 }

/// One Llama-2-7B layer with random fp16 weights; the LM head (32000×4096) measured with it.
private func benchLlama7BLayer() {
    var cfg = LlamaConfig.llama2_7b
    cfg.nLayers = 1
    let layer = LlamaModel.random(cfg, seed: 7, type: .f16)
    var rng = Rng(seed: 2)
    let prompt = (0..<128).map { _ in Int32(rng.int(cfg.vocabSize)) }
    let st = layer.makeState(capacity: 256)
    let tP = bestTime(reps: 2) {
        st.reset(); _ = try! layer.forward(prompt, state: st)
    }
    let tD = bestTime(reps: 3) {
        st.truncate(to: 128); _ = try! layer.forward([1], state: st)
    }
    // Split off the LM head (run once per token, not per layer) by timing it alone.
    let x = FloatBuffer(count: 128 * cfg.dim), y = FloatBuffer(count: 128 * cfg.vocabSize)
    let tHead = bestTime(reps: 2) { matmul(x.ptr, 1, layer.weights.output, y.ptr) }
    let prefill32 = (tP - tHead) * 32 + tHead, decode32 = (tD - tHead) * 32 + tHead
    emit("llama2_7b_layer_prefill_128_f16", (tP - tHead) * 1000, unit: "ms/layer")
    emit(
        "llama2_7b_prefill_128_f16_extrapolated", 128 / prefill32, unit: "tok/s",
        extra: ["note": "32 × one random fp16 layer + LM head, 128-token prompt", "seconds": prefill32])
    emit(
        "llama2_7b_decode_f16_extrapolated", 1 / decode32, unit: "tok/s",
        extra: ["note": "32 × one random fp16 layer + LM head, at position 128", "ms_per_token": decode32 * 1000])
}
