// Decode-shaped GEMV with cold weights: many distinct small matrices in turn (as a model's layers are),
// so nothing stays in cache. Reports the weight-streaming rate in GB/s.
import Numerics
import Llama

func benchGEMVCold() {
    var rng = Rng(seed: 5)
    for (K, N, count) in [(576, 1536, 90), (4096, 11008, 4)] {
        let ws = (0..<count).map { _ in randomWeight(rows: N, cols: K, type: .f16, rng: &rng) }
        let x = FloatBuffer(count: K), y = FloatBuffer(count: N)
        for threads in [1, 2] {
            let saved = numThreads
            numThreads = threads
            let t = bestTime(reps: 5) { for w in ws { matmul(x.ptr, 1, w, y.ptr) } }
            numThreads = saved
            let bytes = Double(ws.reduce(0) { $0 + $1.byteCount })
            emit("gemv_cold.\(K)x\(N).f16.threads\(threads)", bytes / t / 1e9, unit: "GB/s",
                 extra: ["matrices": count, "compare": "memory read about 23 GB/s on one core, 35 on two"])
        }
    }
}
