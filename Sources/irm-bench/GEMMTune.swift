// `irm-bench gemm-tune`: GEMM vs GEMV on one thread, timed by thread CPU time (CLOCK_THREAD_CPUTIME_ID),
// which a shared machine disturbs much less than wall time. Used to choose `gemvMaxRows` and the
// blocking sizes. Shapes from SHAPES="M,K,N;M,K,N" (default 128,4096,4096). Plain text, not JSON.
import Foundation
import Numerics

private func cpuTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
private func bestCPU(_ reps: Int, _ f: () -> Void) -> Double {
    f()
    var b = Double.infinity
    for _ in 0..<reps { let t0 = cpuTime(); f(); b = min(b, cpuTime() - t0) }
    return b
}

func tuneGEMM() {
    let savedThreads = numThreads, savedRows = gemvMaxRows
    defer { numThreads = savedThreads; gemvMaxRows = savedRows }
    numThreads = 1
    var rng = Rng(seed: 1)
    let env = ProcessInfo.processInfo.environment
    let shapes = (env["SHAPES"] ?? "128,4096,4096").split(separator: ";").map {
        $0.split(separator: ",").compactMap { Int($0) }
    }
    for s in shapes where s.count == 3 {
        let (M, K, N) = (s[0], s[1], s[2])
        let x = FloatBuffer(count: M * K), y = FloatBuffer(count: M * N), dx = FloatBuffer(count: M * K)
        for i in 0..<M * K { x[i] = rng.normal() }
        for type in [WeightType.f32, .f16, .bf16] {
            let buf = ByteBuffer(byteCount: N * K * type.byteSize)
            let W = Weight(rows: N, cols: K, type: type, base: UnsafeRawPointer(buf.ptr), owner: buf)
            let fl = 2.0 * Double(M * N * K)
            gemvMaxRows = 0
            let tg = bestCPU(5) { matmul(x.ptr, M, W, y.ptr) }
            gemvMaxRows = Int.max
            let tv = bestCPU(5) { matmul(x.ptr, M, W, y.ptr) }
            let tb = bestCPU(5) { matmulBackward(y.ptr, M, W, dx.ptr) }
            print(
                "M=\(M) K=\(K) N=\(N) \(type): matmul gemm \(Int(fl / tg / 1e9)) gemv \(Int(fl / tv / 1e9)), "
                    + "matmulBackward \(Int(fl / tb / 1e9)) GFLOP/s (1 thread, CPU time)")
        }
    }
}
