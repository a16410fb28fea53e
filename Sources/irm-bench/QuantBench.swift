// Quantized weights kept in their ggml blocks (`--dtype auto`) against the same file widened to fp16
// (`--dtype f16`): SmolLM2 Q4_1 prefill (128 tokens) and decode, the two models measured in alternation in
// one process (best of the rounds), and the resident memory each one added.
import Foundation
import Numerics
import Llama
import Training

func benchQuant(_ o: BenchOptions) {
    var models: [(name: String, model: LlamaModel, rss: Int)] = []
    for storage in [WeightStorage.auto, .f16] {
        let before = residentMemory() ?? 0
        guard let m = try? LlamaModel.load(path: o.smolPath, storage: storage) else {
            print("{\"error\": \"cannot load \(o.smolPath): run make model\"}"); return
        }
        let s = m.makeState(capacity: 256)
        _ = try! m.forward((0..<128).map { Int32($0) }, state: s)  // touches every weight
        models.append((storage.rawValue, m, (residentMemory() ?? 0) - before))
    }
    var rng = Rng(seed: 1)
    let prompt = (0..<128).map { _ in Int32(rng.int(models[0].model.config.vocabSize)) }
    var prefill = [Double](repeating: .infinity, count: models.count), decode = prefill
    for _ in 0..<5 {
        for (i, m) in models.enumerated() {
            let state = m.model.makeState(capacity: 256)
            prefill[i] = min(
                prefill[i],
                bestTime(reps: 1) {
                    state.reset(); _ = try! m.model.forward(prompt, state: state)
                })
            decode[i] = min(
                decode[i],
                bestTime(reps: 1) {
                    state.truncate(to: 128)
                    for t in 0..<32 { _ = try! m.model.forward([prompt[t]], state: state) }
                } / 32)
        }
    }
    for (i, m) in models.enumerated() {
        let extra: [String: Any] = [
            "weights_bytes": m.model.weights.byteCount, "resident_bytes_added": m.rss,
            "note": "Q4_1 file, interleaved with the other --dtype, best of 5 rounds"
        ]
        emit("smollm2_q4_1_prefill_128_\(m.name)", 128 / prefill[i], unit: "tok/s", extra: extra)
        emit("smollm2_q4_1_decode_\(m.name)", 1 / decode[i], unit: "tok/s", extra: extra)
    }
}

/// Where the quantized GEMV (which decodes W once per x row) stops beating the packed GEMM (which decodes
/// it once): time per product for a few M, both paths interleaved.
func benchQuantCrossover() {
    var rng = Rng(seed: 3)
    let saved = gemvMaxRowsQuantized
    defer { gemvMaxRowsQuantized = saved }
    for type in [WeightType.q4_1, .q8_0, .q4_K] {
        let (N, K) = (1536, 4096)
        let W = randomWeight(rows: N, cols: K, type: type, rng: &rng)
        let x = FloatBuffer(count: 16 * K), y = FloatBuffer(count: 16 * N)
        for i in 0..<x.count { x[i] = rng.normal() }
        for M in [1, 2, 3, 4, 6, 8, 16] {
            var best = [Double.infinity, .infinity]
            for _ in 0..<3 {
                for (i, rows) in [Int.max, 0].enumerated() {
                    gemvMaxRowsQuantized = rows
                    best[i] = min(best[i], bestTime(reps: 3) { matmul(x.ptr, M, W, y.ptr) })
                }
            }
            emit(
                "quant_matmul_\(type.rawValue)_\(N)x\(K)_M\(M)", best[0] / best[1], unit: "gemv/gemm time",
                extra: ["gemv_us": (best[0] * 1e6).rounded(), "gemm_us": (best[1] * 1e6).rounded()])
        }
    }
}
