// Decode-shaped GEMV with cold weights: many distinct small matrices in turn (as a model's layers are),
// so nothing stays in cache. Reports the weight-streaming rate in GB/s, for fp16 and for the block formats
// kept quantized (both decode arithmetics), next to the rate at which one and two cores read memory.
import Numerics
import Llama

func benchGEMVCold() {
    var rng = Rng(seed: 5)
    let cases: [(WeightType, QuantizedDot)] = [
        (.f16, .exact), (.q4_1, .exact), (.q4_1, .int8), (.q8_0, .exact),
        (.q8_0, .int8), (.q4_K, .exact), (.q4_K, .int8), (.q6_K, .exact),
        (.q6_K, .int8)
    ].filter { $0.1 == .exact || QuantizedDot.int8Available }
    // About 50–120 MB of weights per case: far past the caches.
    for (K, N, count) in [(576, 1536, 90), (4096, 11008, 4)] {
        for (type, dot) in cases {
            let ws = (0..<count).map { _ in randomWeight(rows: N, cols: K, type: type, rng: &rng) }
            let x = FloatBuffer(count: K), y = FloatBuffer(count: N)
            for i in 0..<K { x.ptr[i] = rng.uniform() - 0.5 }
            let bytes = Double(ws.reduce(0) { $0 + $1.byteCount })
            let name = type.isQuantized ? "\(type.rawValue).\(dot.rawValue)" : type.rawValue
            for threads in [1, 2] {
                let (savedThreads, savedDot) = (numThreads, quantizedDot)
                (numThreads, quantizedDot) = (threads, dot)
                let t = bestTime(reps: 5) { for w in ws { matmul(x.ptr, 1, w, y.ptr) } }
                (numThreads, quantizedDot) = (savedThreads, savedDot)
                emit(
                    "gemv_cold.\(K)x\(N).\(name).threads\(threads)", bytes / t / 1e9, unit: "GB/s",
                    extra: [
                        "matrices": count, "weights_per_ns": Double(count * K * N) / t / 1e9,
                        "compare":
                            "a streaming read: 9–23 GB/s on one core, 17–35 on two on the machines seen (docs/ARCHITECTURE.md)"
                    ])
            }
        }
    }
}
