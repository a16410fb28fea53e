// Matrix products in the three forms a frozen model with a trained adapter needs.
// All activations are fp32 row-major [tokens, features]; W is a `Weight` [N, K] (PyTorch [out, in]) in
// fp32, fp16, bf16 or a ggml block format, widened or dequantized to fp32 while B is packed.
//
//   matmul(x, W)         y[M,N]  = x[M,K] · Wᵀ         forward of a Linear
//   matmulBackward(dy,W) dx[M,K] (+)= dy[M,N] · W      gradient wrt the Linear's input
//   matmulWeightGrad     dW[N,K] (+)= dyᵀ[N,M] · x[M,K] gradient wrt the Linear's weight (fp32 only)
//
// All three run on one blocked GEMM (GotoBLAS loop order: NC columns → KC slice → pack B → MC rows →
// pack A → 6×16 micro-kernel, GEMMKernel.swift) with the packing in GEMMPack.swift. The forward with a
// few rows (decode) goes to the weight-streaming GEMV in GEMV.swift instead.
//
// Determinism: the K dimension is never split across threads, and the KC blocking depends on K only,
// so every output element is computed by the same sequence of operations whatever `numThreads` is.

/// Tuning knobs. KC must not depend on the thread count (it fixes the reduction order).
nonisolated(unsafe) public var gemmKC = 384
nonisolated(unsafe) public var gemmMC = 132  // multiple of 6
nonisolated(unsafe) public var gemmNC = 1024 // multiple of 16
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
public func matmul(_ x: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ y: UnsafeMutablePointer<Float>,
                   accumulate: Bool = false) {
    let N = W.rows, K = W.cols
    if M <= 0 || N <= 0 { return }
    if usesGEMV(M, W) {
        gemv(x, M, W, y, accumulate: accumulate)
    } else {
        gemm(M: M, N: N, K: K, a: .rowMajor(x, ld: K), b: .transposed(W), c: y, ldc: N, accumulate: accumulate)
    }
}

/// y_i[M,N_i] = x[M,K] · W_iᵀ for several weights that read the same input (q, k, v; gate, up), in one
/// parallel region: a decode step then forks once for the three attention projections instead of three
/// times. The results are those of separate `matmul` calls (the chunking never splits K).
public func matmul(_ x: UnsafePointer<Float>, _ M: Int, _ products: [(W: Weight, y: UnsafeMutablePointer<Float>)]) {
    if M <= 0 { return }
    let plans = products.map { MatmulPlan(x, M, $0.W, $0.y) }
    var starts = [Int](), total = 0
    for p in plans { starts.append(total); total += p.tasks }
    let serial = plans.allSatisfy(\.serial)
    let body = { (t: Int) in
        var i = plans.count - 1
        while starts[i] > t { i -= 1 }
        plans[i].run(t - starts[i])
    }
    if serial { for t in 0..<total { body(t) } } else { parallelFor(total, body) }
}

/// y1 = x·W1ᵀ and y2 = x·W2ᵀ for two weights of one shape (and, for the fused path, one type), then `combine(rows, cols)` on each block
/// of the outputs as soon as both products of that block are written, in one parallel region: SwiGLU's gate and
/// up, whose activation is then computed by the thread that has just written them instead of serially after.
public func matmulPair(_ x: UnsafePointer<Float>, _ M: Int, _ w1: Weight, _ y1: UnsafeMutablePointer<Float>,
                       _ w2: Weight, _ y2: UnsafeMutablePointer<Float>, combine: (Range<Int>, Range<Int>) -> Void) {
    if M <= 0 || w1.rows <= 0 { return }
    guard w1.rows == w2.rows && w1.cols == w2.cols && w1.type == w2.type else {
        // Mixed quantizations (a Q4_K_M file may store gate and up in different block types): the plans'
        // blocks differ, so both products first, then one combine over the whole output.
        matmul(x, M, [(w1, y1), (w2, y2)])
        combine(0..<M, 0..<min(w1.rows, w2.rows))
        return
    }
    // Equal shapes give equal plans: task t of each covers the same block of its output.
    let p1 = MatmulPlan(x, M, w1, y1), p2 = MatmulPlan(x, M, w2, y2)
    func body(_ t: Int) {
        p1.run(t)
        p2.run(t)
        let b = p1.block(t)
        combine(b.rows, b.cols)
    }
    if p1.serial { for t in 0..<p1.tasks { body(t) } } else { parallelFor(p1.tasks, body) }
}

/// A forward product's tasks, GEMV or GEMM as `matmul` would choose.
private enum MatmulPlan {
    case gemv(GEMVPlan), gemm(GEMMPlan)

    init(_ x: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ y: UnsafeMutablePointer<Float>) {
        if usesGEMV(M, W) { self = .gemv(GEMVPlan(x, M, W, y, accumulate: false)); return }
        self = .gemm(GEMMPlan(M: M, N: W.rows, K: W.cols, a: .rowMajor(x, ld: W.cols), b: .transposed(W), c: y,
                              ldc: W.rows, accumulate: false))
    }
    var tasks: Int { switch self { case .gemv(let p): p.chunks; case .gemm(let p): p.tasks } }
    var serial: Bool { switch self { case .gemv(let p): p.chunks == 1; case .gemm(let p): p.serial } }
    func run(_ t: Int) { switch self { case .gemv(let p): p.run(t); case .gemm(let p): p.run(t) } }
    /// The rows and columns of the output that task t writes.
    func block(_ t: Int) -> (rows: Range<Int>, cols: Range<Int>) {
        switch self {
        case .gemv(let p):
            return (0..<p.M, t * p.chunk ..< min(p.W.rows, (t + 1) * p.chunk))
        case .gemm(let p):
            let n0 = (t % p.nChunks) * p.nc, m0 = (t / p.nChunks) * p.mChunk
            return (m0 ..< min(p.M, m0 + p.mChunk), n0 ..< min(p.N, n0 + p.nc))
        }
    }
}

/// dx[M,K] = dy[M,N] · W (+ dx if accumulate).
public func matmulBackward(_ dy: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ dx: UnsafeMutablePointer<Float>,
                           accumulate: Bool = false) {
    let N = W.rows, K = W.cols
    gemm(M: M, N: K, K: N, a: .rowMajor(dy, ld: N), b: .direct(W), c: dx, ldc: K, accumulate: accumulate)
}

/// dW[N,K] = dyᵀ[N,M] · x[M,K] (+ dW if accumulate).
public func matmulWeightGrad(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, M: Int, N: Int, K: Int,
                             _ dW: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
    let xw = Weight(rows: M, cols: K, type: .f32, base: UnsafeRawPointer(x), owner: nil)
    gemm(M: N, N: K, K: M, a: .transposed(dy, ld: N), b: .direct(xw), c: dW, ldc: K, accumulate: accumulate)
}

// MARK: the blocked GEMM

/// Left operand A [M, K]: row-major (A[i,p] = a[i*ld + p]) or stored transposed (A[i,p] = a[p*ld + i]).
enum GEMMLeft: @unchecked Sendable {
    case rowMajor(UnsafePointer<Float>, ld: Int)
    case transposed(UnsafePointer<Float>, ld: Int)
}
/// Right operand B [K, N] from a Weight: B[p,j] = W[j,p] (transposed) or B[p,j] = W[p,j] (direct).
enum GEMMRight: @unchecked Sendable {
    case transposed(Weight)
    case direct(Weight)
}

@inline(__always)
private func packRight(_ b: GEMMRight, n0: Int, nc: Int, k0: Int, kc: Int, _ out: UnsafeMutablePointer<Float>) {
    struct Pack: SourceVisitor {
        let b: GEMMRight, n0: Int, nc: Int, k0: Int, kc: Int, out: UnsafeMutablePointer<Float>
        @inline(__always) func visit<S: WidenSource>(_ s: S.Type) {
            switch b {
            case .transposed(let w):
                packBTransposed(S.self, w.base, ldw: w.cols, rows: w.rows, n0: n0, nc: nc, k0: k0, kc: kc, out)
            case .direct(let w):
                packBDirect(S.self, w.base, ldw: w.cols, cols: w.cols, n0: n0, nc: nc, k0: k0, kc: kc, out)
            }
        }
    }
    struct PackQuant: QuantVisitor {
        let w: Weight, n0: Int, nc: Int, k0: Int, kc: Int, out: UnsafeMutablePointer<Float>
        @inline(__always) func visit<F: QuantFormat>(_ f: F.Type) {
            packBTransposedQuant(F.self, w.base, rowBytes: w.rowBytes, rows: w.rows, n0: n0, nc: nc, k0: k0, kc: kc, out)
        }
    }
    switch b {
    case .transposed(let w):
        if let f = w.type.blockFormat { f.visit(PackQuant(w: w, n0: n0, nc: nc, k0: k0, kc: kc, out: out)); return }
        w.type.visit(Pack(b: b, n0: n0, nc: nc, k0: k0, kc: kc, out: out))
    case .direct(let w): w.type.visit(Pack(b: b, n0: n0, nc: nc, k0: k0, kc: kc, out: out))
    }
}

@inline(__always)
private func packLeft(_ a: GEMMLeft, rows: Int, m0: Int, mc: Int, k0: Int, kc: Int, _ out: UnsafeMutablePointer<Float>) {
    switch a {
    case .rowMajor(let p, let ld): packARowMajor(p, lda: ld, rows: rows, m0: m0, mc: mc, k0: k0, kc: kc, out)
    case .transposed(let p, let ld): packATransposed(p, lda: ld, rows: rows, m0: m0, mc: mc, k0: k0, kc: kc, out)
    }
}

/// C[M,N] (ldc) = A[M,K]·B[K,N] (+ C if accumulate).
func gemm(M: Int, N: Int, K: Int, a: GEMMLeft, b: GEMMRight, c: UnsafeMutablePointer<Float>, ldc: Int,
          accumulate: Bool) {
    if M <= 0 || N <= 0 { return }
    if K <= 0 {
        if !accumulate { for i in 0..<M { (c + i * ldc).update(repeating: 0, count: N) } }
        return
    }
    let plan = GEMMPlan(M: M, N: N, K: K, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate)
    if plan.serial { for t in 0..<plan.tasks { plan.run(t) } } else { parallelFor(plan.tasks, plan.run) }
}

/// One GEMM cut into tasks (blocks of columns, and of rows when there are too few columns to go round);
/// each task is one chunk of a parallel region. Needs M, N, K > 0.
struct GEMMPlan {
    let M: Int, N: Int, K: Int, a: GEMMLeft, b: GEMMRight, c: UnsafeMutablePointer<Float>, ldc: Int
    let accumulate: Bool
    let nK: Int, kcStep: Int, nChunks: Int, nc: Int, mChunk: Int, mcBlock: Int, fused: Bool
    let tasks: Int
    /// Too little work to be worth a second thread.
    let serial: Bool

    init(M: Int, N: Int, K: Int, a: GEMMLeft, b: GEMMRight, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        self.M = M; self.N = N; self.K = K; self.a = a; self.b = b; self.c = c; self.ldc = ldc
        self.accumulate = accumulate
        let kcMax = max(8, gemmKC & ~7), mcMax = max(6, gemmMC / 6 * 6), ncMax = max(16, gemmNC & ~15)
        // K slices: as even as possible, a multiple of 8 long; a function of K alone.
        nK = (K + kcMax - 1) / kcMax
        kcStep = ((K + nK - 1) / nK + 7) & ~7

        // Tasks: column chunks, about 4 per thread so that the pool can rebalance when another process
        // takes a core for a while (the machine is shared), but at least 2 panels wide; row chunks only
        // when there are too few columns to go round.
        let work = 2.0 * Double(M) * Double(N) * Double(K)
        let threads = work < 3e6 ? 1 : max(1, numThreads)
        serial = threads == 1
        var nChunks = (N + ncMax - 1) / ncMax
        if threads > 1 { nChunks = max(nChunks, 4 * threads) }
        nChunks = max(1, min(nChunks, (N + 2 * gemmNR - 1) / (2 * gemmNR)))
        nc = ((N + nChunks - 1) / nChunks + gemmNR - 1) / gemmNR * gemmNR
        nChunks = (N + nc - 1) / nc
        self.nChunks = nChunks
        var mChunks = 1
        if nChunks < threads { mChunks = min((threads + nChunks - 1) / nChunks, (M + gemmMR - 1) / gemmMR) }
        mChunk = ((M + mChunks - 1) / mChunks + gemmMR - 1) / gemmMR * gemmMR
        mChunks = (M + mChunk - 1) / mChunk
        mcBlock = min(mcMax, mChunk)
        tasks = nChunks * mChunks
        // When a task's rows fit one MC block (prefill of up to ~132 tokens), each 16-column B panel is
        // packed right before its use and is still in L1 when the kernels read it; otherwise the whole
        // KC×NC block is packed once and reused across the MC blocks.
        fused = mChunk <= mcBlock
    }

    func run(_ t: Int) {
        let n0 = (t % nChunks) * nc, n1 = min(N, n0 + nc)
        let m0 = (t / nChunks) * mChunk, m1 = min(M, m0 + mChunk)
        let bFloats = fused ? kcStep * gemmNR : kcStep * nc
        let aFloats = kcStep * mcBlock
        withScratch(floats: bFloats + aFloats) { buf in
            let bp = buf, ap = buf + bFloats
            let nPanels = (n1 - n0 + gemmNR - 1) / gemmNR
            for kb in 0..<nK {
                let k0 = kb * kcStep, kc = min(kcStep, K - k0)
                let add = accumulate || kb > 0
                if fused {
                    let mc = m1 - m0
                    packLeft(a, rows: m1, m0: m0, mc: mc, k0: k0, kc: kc, ap)
                    let mPanels = (mc + gemmMR - 1) / gemmMR
                    for jp in 0..<nPanels {
                        let j = n0 + jp * gemmNR, nr = min(gemmNR, n1 - j)
                        packRight(b, n0: j, nc: nr, k0: k0, kc: kc, bp)
                        for ip in 0..<mPanels {
                            let i = m0 + ip * gemmMR
                            gemmTile(kc, ap + ip * kc * gemmMR, bp, c + i * ldc + j, ldc, add: add,
                                     mr: min(gemmMR, m1 - i), nr: nr)
                        }
                    }
                    continue
                }
                packRight(b, n0: n0, nc: n1 - n0, k0: k0, kc: kc, bp)
                var ic = m0
                while ic < m1 {
                    let mc = min(mcBlock, m1 - ic)
                    packLeft(a, rows: m1, m0: ic, mc: mc, k0: k0, kc: kc, ap)
                    let mPanels = (mc + gemmMR - 1) / gemmMR
                    for jp in 0..<nPanels {
                        let j = n0 + jp * gemmNR, nr = min(gemmNR, n1 - j)
                        let bpp = bp + jp * kc * gemmNR
                        for ip in 0..<mPanels {
                            let i = ic + ip * gemmMR
                            gemmTile(kc, ap + ip * kc * gemmMR, bpp, c + i * ldc + j, ldc, add: add,
                                     mr: min(gemmMR, ic + mc - i), nr: nr)
                        }
                    }
                    ic += mc
                }
            }
        }
    }
}
