// GEMM/GEMV throughput on the model's shapes, against the fp32 FMA peak measured in this process
// (ARCHITECTURE.md "How speed is shown": the machine is shared, so ratios to an in-process peak are the
// figures to compare; every time is the best of several repetitions).
import Foundation
import Numerics

/// GFLOP/s of a register-only FMA loop (12 independent chains, as the micro-kernel) in the registers of the
/// kernel path in use (ymm on avx2, zmm on avx512), on `threads` threads.
func peakFMA(threads: Int, iters: Int = 4_000_000, reps: Int = 5) -> Double {
    let sink = UnsafeMutablePointer<Float>.allocate(capacity: 16)
    defer { sink.deallocate() }
    sink.initialize(repeating: 1, count: 16)
    let out = SendablePointer(sink)
    let path = kernelPath
    var flops = 0.0
    let saved = numThreads
    numThreads = threads
    defer { numThreads = saved }
    let t = bestTime(reps: reps) {
        parallelFor(threads) { i in
            let r = fmaPeakLoop(path, iters: iters, seed: out.p[0])
            out.p[1 + i % 8] = r.value
            if i == 0 { flops = r.flops }
        }
    }
    return Double(threads) * flops / t / 1e9
}

private func randomWeight(rows: Int, cols: Int, type: WeightType, rng: inout Rng) -> Weight {
    let n = rows * cols
    let buf = ByteBuffer(byteCount: n * type.byteSize)
    for i in 0..<n {
        let v = rng.normal() * 0.05
        switch type {
        case .f32: buf.ptr.storeBytes(of: v, toByteOffset: i * 4, as: Float.self)
        case .f16: buf.ptr.storeBytes(of: Float16(v), toByteOffset: i * 2, as: Float16.self)
        case .bf16: buf.ptr.storeBytes(of: floatToBF16(v), toByteOffset: i * 2, as: UInt16.self)
        default: preconditionFailure("float types only")
        }
    }
    return Weight(rows: rows, cols: cols, type: type, base: UnsafeRawPointer(buf.ptr), owner: buf)
}

private func randomBuffer(_ n: Int, rng: inout Rng) -> FloatBuffer {
    let b = FloatBuffer(count: n)
    for i in 0..<n { b[i] = rng.normal() }
    return b
}

/// Best time of `body` and the best peak-FMA GFLOP/s measured in alternation with it, so that the
/// ratio compares two figures taken under the same load from the other users of the machine.
private func timeWithPeak(flops: Double, threads: Int, _ body: () -> Void) -> (seconds: Double, peak: Double) {
    var best = Double.infinity, peak = 0.0
    for _ in 0..<3 {
        peak = max(peak, peakFMA(threads: threads, iters: 1_000_000, reps: 2))
        best = min(best, bestTime(reps: max(1, reps(flops: flops) / 3), body))
    }
    return (best, peak)
}

/// Repetitions so one measurement takes roughly a quarter of a second.
private func reps(flops: Double) -> Int { max(3, min(30, Int(2.5e10 / flops))) }

func benchGEMM(_ o: BenchOptions) {
    // Tuning overrides for experiments: IRM_GEMM_KC / _MC / _NC / IRM_GEMV_MAX_ROWS.
    let env = ProcessInfo.processInfo.environment
    if let v = env["IRM_GEMM_KC"].flatMap(Int.init) { gemmTuning.kc = v }
    if let v = env["IRM_GEMM_MC"].flatMap(Int.init) { gemmTuning.mc = v }
    if let v = env["IRM_GEMM_NC"].flatMap(Int.init) { gemmTuning.nc = v }
    if let v = env["IRM_GEMV_MAX_ROWS"].flatMap(Int.init) { gemvMaxRows = v }
    let threads = numThreads
    // The FMA peak of every path this CPU has (one thread), then the path in use's on 1 and N threads.
    let inUse = kernelPath
    for path in CPUInfo.current.paths where path != .portable {
        kernelPath = path
        emit(
            "gemm.peak_fma.\(path.rawValue).1t", peakFMA(threads: 1), unit: "GFLOP/s",
            extra: ["threads": 1, "path": path.rawValue, "in_use": path == inUse])
    }
    kernelPath = inUse
    let peak1 = peakFMA(threads: 1)
    let peakN = peakFMA(threads: threads)
    emit(
        "gemm.peak_fma.1t", peak1, unit: "GFLOP/s",
        extra: ["threads": 1, "path": inUse.rawValue, "compare": "ARCHITECTURE.md: 102"])
    emit("gemm.peak_fma", peakN, unit: "GFLOP/s", extra: ["threads": threads, "compare": "ARCHITECTURE.md: 204 on 2"])

    var rng = Rng(seed: 42)
    let M = env["IRM_GEMM_M"].flatMap(Int.init) ?? 128
    let shapes: [(String, Int, Int)] = [
        ("smollm2", 576, 576), ("smollm2", 576, 192), ("smollm2", 576, 1536), ("smollm2", 1536, 576),
        ("smollm2", 576, 49152),
        ("llama7b", 4096, 4096), ("llama7b", 4096, 11008), ("llama7b", 11008, 4096)
    ]
    for (model, K, N) in shapes where o.wants(model) {
        let x = randomBuffer(M * K, rng: &rng), y = FloatBuffer(count: M * N)
        for type in [WeightType.f32, .f16] {
            let W = randomWeight(rows: N, cols: K, type: type, rng: &rng)
            let flops = 2.0 * Double(M) * Double(N) * Double(K)
            let (t, p) = timeWithPeak(flops: flops, threads: threads) { matmul(x.ptr, M, W, y.ptr) }
            let g = flops / t / 1e9
            emit(
                "gemm.matmul.\(model).\(K)x\(N).\(type.rawValue)", g, unit: "GFLOP/s",
                extra: [
                    "M": M, "K": K, "N": N, "threads": threads, "peak_now": (p * 10).rounded() / 10,
                    "vs_peak": (g / p * 1000).rounded() / 1000
                ])
        }
    }

    // Decode: one token, weight streaming.
    for (model, K, N, type) in [("llama7b", 4096, 11008, WeightType.f16), ("smollm2", 576, 1536, .f32)]
    where o.wants(model) {
        let W = randomWeight(rows: N, cols: K, type: type, rng: &rng)
        let x = randomBuffer(K, rng: &rng), y = FloatBuffer(count: N)
        let t = bestTime(reps: 20) { matmul(x.ptr, 1, W, y.ptr) }
        emit(
            "gemv.matmul.\(K)x\(N).\(type.rawValue)", Double(W.byteCount) / t / 1e9, unit: "GB/s",
            extra: [
                "M": 1, "K": K, "N": N, "threads": threads, "compare": "ARCHITECTURE.md: 36 GB/s memory read on 2 cores"
            ])
    }

    // Training forms on the up-projection shape.
    if o.wants("llama7b") {
        let K = 4096, N = 11008
        let flops = 2.0 * Double(M) * Double(N) * Double(K)
        let dy = randomBuffer(M * N, rng: &rng), x = randomBuffer(M * K, rng: &rng)
        let dx = FloatBuffer(count: M * K), dW = FloatBuffer(count: N * K)
        for type in [WeightType.f32, .f16] {
            let W = randomWeight(rows: N, cols: K, type: type, rng: &rng)
            let (t, p) = timeWithPeak(flops: flops, threads: threads) { matmulBackward(dy.ptr, M, W, dx.ptr) }
            let g = flops / t / 1e9
            emit(
                "gemm.matmulBackward.\(K)x\(N).\(type.rawValue)", g, unit: "GFLOP/s",
                extra: [
                    "M": M, "K": K, "N": N, "threads": threads, "peak_now": (p * 10).rounded() / 10,
                    "vs_peak": (g / p * 1000).rounded() / 1000
                ])
        }
        let (t, p) = timeWithPeak(flops: flops, threads: threads) {
            matmulWeightGrad(dy.ptr, x.ptr, M: M, N: N, K: K, dW.ptr)
        }
        let g = flops / t / 1e9
        emit(
            "gemm.matmulWeightGrad.\(K)x\(N)", g, unit: "GFLOP/s",
            extra: [
                "M": M, "K": K, "N": N, "threads": threads, "peak_now": (p * 10).rounded() / 10,
                "vs_peak": (g / p * 1000).rounded() / 1000
            ])
    }
}
