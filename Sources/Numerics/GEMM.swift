// Matrix products in the three forms a frozen model with a trained adapter needs.
// All activations are fp32 row-major [tokens, features]; W is a `Weight` [N, K] (PyTorch [out, in]) in
// fp32, fp16, bf16 or a ggml block format, widened or dequantized to fp32 while B is packed.
//
//   matmul(x, W)         y[M,N]  = x[M,K] · Wᵀ         forward of a Linear
//   matmulBackward(dy,W) dx[M,K] (+)= dy[M,N] · W      gradient wrt the Linear's input
//   matmulWeightGrad     dW[N,K] (+)= dyᵀ[N,M] · x[M,K] gradient wrt the Linear's weight (fp32 only)
//
// All three run on one blocked GEMM (Kernels/GEMMPlan.swift: the plan, and the body of a task written once
// over the vector width), whose tasks run on the worker pool through the kernel path in use
// (KernelPath.swift: AVX-512, AVX2 or portable, chosen once from the CPU). The forward with a few rows
// (decode) goes to the weight-streaming GEMV in GEMV.swift instead.
//
// Determinism: the K dimension is never split across threads, and the KC blocking depends on K and the
// path only, so on one path every output element is computed by the same operations whatever `numThreads` is.
/// Forward products with at most this many rows use the GEMV path. Measured on Zen 3 (one thread,
/// 4096→11008): the GEMV beats the packed GEMM up to M ≈ 16–24 (f16: 74 vs 50 GFLOP/s at 16), because
/// packing W costs about as much as 16 rows of compute.
nonisolated(unsafe) public var gemvMaxRows = 16
/// The same for quantized weights, whose GEMV decodes W once per row of x while the GEMM decodes it once
/// while packing: `irm-bench quant` (1536×4096, 2 threads, a loaded machine) has the GEMV ahead up to
/// M = 4 (0.83× the GEMM's time for Q4_1, 0.48× Q8_0, 0.93× Q4_K) and Q4_K's behind from M = 6 (1.9×).
nonisolated(unsafe) public var gemvMaxRowsQuantized = 4

/// Whether a forward product of M rows with W takes the GEMV (the one rule `matmul` and the shared regions use).
@inline(__always) func usesGEMV(_ M: Int, _ W: Weight) -> Bool {
    M <= (W.type.isQuantized ? gemvMaxRowsQuantized : gemvMaxRows)
}

/// y[M,N] = x[M,K] · Wᵀ (+ y if accumulate).
public func matmul(
    _ x: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ y: UnsafeMutablePointer<Float>,
    accumulate: Bool = false
) {
    let N = W.rows, K = W.cols
    if M <= 0 || N <= 0 { return }
    if usesGEMV(M, W) {
        gemv(x, M, W, y, accumulate: accumulate)
    } else {
        gemm(M: M, N: N, K: K, a: .rowMajor(x, ld: K), b: .transposed(W), c: y, ldc: N, accumulate: accumulate)
    }
}

/// y[M,N] = x[M,K] · Wᵀ through the blocked GEMM whatever M (never the GEMV): every element is the GEMM's
/// FMA order (`gemmRowElements` recomputes any one of them alone, bit for bit). The neuron map's exact path.
public func matmulGEMM(_ x: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ y: UnsafeMutablePointer<Float>) {
    gemm(
        M: M, N: W.rows, K: W.cols, a: .rowMajor(x, ld: W.cols), b: .transposed(W), c: y, ldc: W.rows, accumulate: false
    )
}

/// y_i[M,N_i] = x[M,K] · W_iᵀ for several weights that read the same input (q, k, v; gate, up), in one
/// parallel region: a decode step then forks once for the three attention projections instead of three
/// times. The results are those of separate `matmul` calls (the chunking never splits K).
public func matmul(_ x: UnsafePointer<Float>, _ M: Int, _ products: [(W: Weight, y: UnsafeMutablePointer<Float>)]) {
    if M <= 0 { return }
    withSharedPackedA(products.map { MatmulPlan(x, M, $0.W, $0.y) }) { plans in
        var starts = [Int](), total = 0
        for p in plans { starts.append(total); total += p.tasks }
        let serial = plans.allSatisfy(\.serial)
        let body = { (t: Int) in
            var i = plans.count - 1
            while starts[i] > t { i -= 1 }
            plans[i].run(t - starts[i])
        }
        runTasks(total, serial: serial, body)
    }
}

/// y1 = x·W1ᵀ and y2 = x·W2ᵀ for two weights of one shape (and, for the fused path, one type), then `combine(rows, cols)` on each block
/// of the outputs as soon as both products of that block are written, in one parallel region: SwiGLU's gate and
/// up, whose activation is then computed by the thread that has just written them instead of serially after.
public func matmulPair(
    _ x: UnsafePointer<Float>, _ M: Int, _ w1: Weight, _ y1: UnsafeMutablePointer<Float>,
    _ w2: Weight, _ y2: UnsafeMutablePointer<Float>, combine: (Range<Int>, Range<Int>) -> Void
) {
    if M <= 0 || w1.rows <= 0 { return }
    guard w1.rows == w2.rows && w1.cols == w2.cols && w1.type == w2.type else {
        // Mixed quantizations (a Q4_K_M file may store gate and up in different block types): the plans'
        // blocks differ, so both products first, then one combine over the whole output.
        matmul(x, M, [(w1, y1), (w2, y2)])
        combine(0..<M, 0..<min(w1.rows, w2.rows))
        return
    }
    // Equal shapes give equal plans: task t of each covers the same block of its output.
    withSharedPackedA([MatmulPlan(x, M, w1, y1), MatmulPlan(x, M, w2, y2)]) { plans in
        let p1 = plans[0], p2 = plans[1]
        func body(_ t: Int) {
            p1.run(t)
            p2.run(t)
            let b = p1.block(t)
            combine(b.rows, b.cols)
        }
        runTasks(p1.tasks, serial: p1.serial, body)
    }
}

/// Runs `body` with the plans after packing their common A once (GEMMPlan's "A packed once"), when
/// `GEMMPlan.sharePackedA` says it saves work; the GEMV plans are left as they are.
private func withSharedPackedA<R>(_ plans: [MatmulPlan], _ body: ([MatmulPlan]) -> R) -> R {
    let gemms = plans.compactMap { if case .gemm(let p) = $0 { p } else { nil } }
    return withSharedPackedA(gemms) { packed in
        var next = packed.makeIterator()
        return body(plans.map { if case .gemm = $0 { .gemm(next.next()!) } else { $0 } })
    }
}

/// The same for GEMM plans reading one A (the same left operand, M, K, made on the path in use).
func withSharedPackedA<R>(_ plans: [GEMMPlan], _ body: ([GEMMPlan]) -> R) -> R {
    guard GEMMPlan.sharePackedA(plans) else { return body(plans) }
    let p0 = plans[0]
    return withScratch(floats: p0.packedAFloats) { buf in
        let out = SendablePointer(buf)
        runTasks(p0.packATasks, serial: p0.serial) { t in runGEMMPackATask(p0, t, out.p) }
        return body(
            plans.map {
                var p = $0; p.packedA = UnsafePointer(buf); return p
            })
    }
}

/// Tasks 0..<n on this thread (a product too small for a second one) or on the worker pool.
@inline(__always) private func runTasks(_ n: Int, serial: Bool, _ body: (Int) -> Void) {
    if serial { for t in 0..<n { body(t) } } else { parallelFor(n, body) }
}

/// A forward product's tasks, GEMV or GEMM as `matmul` would choose.
private enum MatmulPlan {
    case gemv(GEMVPlan), gemm(GEMMPlan)

    init(_ x: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ y: UnsafeMutablePointer<Float>) {
        if usesGEMV(M, W) { self = .gemv(GEMVPlan(x, M, W, y, accumulate: false)); return }
        self = .gemm(
            gemmPlan(
                M: M, N: W.rows, K: W.cols, a: .rowMajor(x, ld: W.cols), b: .transposed(W), c: y,
                ldc: W.rows, accumulate: false))
    }
    var tasks: Int {
        switch self {
        case .gemv(let p): p.chunks;
        case .gemm(let p): p.tasks
        }
    }
    var serial: Bool {
        switch self {
        case .gemv(let p): p.chunks == 1;
        case .gemm(let p): p.serial
        }
    }
    func run(_ t: Int) {
        switch self {
        case .gemv(let p): p.run(t);
        case .gemm(let p): runGEMMTask(p, t)
        }
    }
    /// The rows and columns of the output that task t writes.
    func block(_ t: Int) -> (rows: Range<Int>, cols: Range<Int>) {
        switch self {
        case .gemv(let p):
            return (0..<p.M, t * p.chunk..<min(p.W.rows, (t + 1) * p.chunk))
        case .gemm(let p):
            return p.block(t)
        }
    }
}

/// dx[M,K] = dy[M,N] · W (+ dx if accumulate).
public func matmulBackward(
    _ dy: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ dx: UnsafeMutablePointer<Float>,
    accumulate: Bool = false
) {
    let N = W.rows, K = W.cols
    gemm(M: M, N: K, K: N, a: .rowMajor(dy, ld: N), b: .direct(W), c: dx, ldc: K, accumulate: accumulate)
}

/// dW[N,K] = dyᵀ[N,M] · x[M,K] (+ dW if accumulate).
public func matmulWeightGrad(
    _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, M: Int, N: Int, K: Int,
    _ dW: UnsafeMutablePointer<Float>, accumulate: Bool = false
) {
    let xw = Weight(rows: M, cols: K, type: .f32, base: UnsafeRawPointer(x), owner: nil)
    gemm(M: N, N: K, K: M, a: .transposed(dy, ld: N), b: .direct(xw), c: dW, ldc: K, accumulate: accumulate)
}

// MARK: the blocked GEMM

/// A plan for C[M,N] (ldc) = A[M,K]·B[K,N] (+ C if accumulate) with the blocking of the path in use.
func gemmPlan(
    M: Int, N: Int, K: Int, a: GEMMLeft, b: GEMMRight, c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
) -> GEMMPlan {
    GEMMPlan(
        M: M, N: N, K: K, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate,
        blocking: gemmBlocking(kernelPath), threads: numThreads)
}

/// C[M,N] (ldc) = A[M,K]·B[K,N] (+ C if accumulate).
func gemm(
    M: Int, N: Int, K: Int, a: GEMMLeft, b: GEMMRight, c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
) {
    if M <= 0 || N <= 0 { return }
    if K <= 0 {
        if !accumulate { for i in 0..<M { (c + i * ldc).update(repeating: 0, count: N) } }
        return
    }
    withSharedPackedA([gemmPlan(M: M, N: N, K: K, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate)]) { plans in
        let plan = plans[0]
        runTasks(plan.tasks, serial: plan.serial) { t in runGEMMTask(plan, t) }
    }
}
