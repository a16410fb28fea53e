// The blocked GEMM C[M,N] (+)= A[M,K]·B[K,N] cut into tasks (GotoBLAS loop order: NC columns → KC slice →
// pack B → MC rows → pack A → 6×NR micro-kernel), with the packing in GEMMPack.swift and the kernel in
// GEMMKernel.swift. The plan (how the product is cut) is plain data; `run(V, t)` is the body of one task,
// written once over the vector type V and compiled per instruction set by the Kernels* targets. Numerics'
// `gemm` makes the plan with the blocking of the path in use and runs its tasks on the worker pool.
//
// Determinism: the K dimension is never split across threads, and the KC slices depend on K and the path's
// KC only, so on one path every output element is computed by the same operations whatever the thread count.

/// Left operand A [M, K]: row-major (A[i,p] = a[i*ld + p]) or stored transposed (A[i,p] = a[p*ld + i]).
public enum GEMMLeft: @unchecked Sendable {
    case rowMajor(UnsafePointer<Float>, ld: Int)
    case transposed(UnsafePointer<Float>, ld: Int)
}
/// Right operand B [K, N] from a Weight: B[p,j] = W[j,p] (transposed) or B[p,j] = W[p,j] (direct).
public enum GEMMRight: @unchecked Sendable {
    case transposed(Weight)
    case direct(Weight)
}

/// The blocking of one path. NR is two vector registers of the path; KC fixes the reduction order, so it is a
/// constant of the path (never of the thread count or the machine); MC and NC only change which data sits in
/// which cache level, and come from the CPU's cache sizes (Numerics' KernelPath.swift).
public struct GEMMBlocking: Sendable, Equatable {
    /// Columns of a micro-tile and of a packed B panel: 16 (SIMD8) or 32 (SIMD16).
    public var nr: Int
    /// Depth of a K slice: a packed B panel (KC × NR floats) stays in L1 while the A panels stream past it.
    public var kc: Int
    /// Rows of a packed A block (a multiple of 6): KC × MC floats stay in L2.
    public var mc: Int
    /// Widest column block a task packs at once (a multiple of NR).
    public var nc: Int
    public init(nr: Int, kc: Int, mc: Int, nc: Int) { self.nr = nr; self.kc = kc; self.mc = mc; self.nc = nc }
}

/// Packs B's panels through the widening source of its storage type (the visitors below pick it).
@usableFromInline
struct PackRight<I: KernelISA>: SourceVisitor {
    @usableFromInline let b: GEMMRight, nr: Int, n0: Int, nc: Int, k0: Int, kc: Int, out: UnsafeMutablePointer<Float>
    @inlinable init(b: GEMMRight, nr: Int, n0: Int, nc: Int, k0: Int, kc: Int, out: UnsafeMutablePointer<Float>) {
        self.b = b; self.nr = nr; self.n0 = n0; self.nc = nc; self.k0 = k0; self.kc = kc; self.out = out
    }
    @inlinable @inline(__always) func visit<S: WidenSource>(_ s: S.Type) {
        switch b {
        case .transposed(let w):
            packBTransposed(
                I.self, S.self, nr: nr, w.base, ldw: w.cols, rows: w.rows, n0: n0, nc: nc, k0: k0, kc: kc, out)
        case .direct(let w):
            packBDirect(I.self, S.self, nr: nr, w.base, ldw: w.cols, cols: w.cols, n0: n0, nc: nc, k0: k0, kc: kc, out)
        }
    }
}

/// The same for a quantized W read transposed: each panel's rows dequantized once, then transposed.
@usableFromInline
struct PackRightQuant<I: KernelISA>: QuantVisitor {
    @usableFromInline let w: Weight, nr: Int, n0: Int, nc: Int, k0: Int, kc: Int, out: UnsafeMutablePointer<Float>
    @inlinable init(w: Weight, nr: Int, n0: Int, nc: Int, k0: Int, kc: Int, out: UnsafeMutablePointer<Float>) {
        self.w = w; self.nr = nr; self.n0 = n0; self.nc = nc; self.k0 = k0; self.kc = kc; self.out = out
    }
    @inlinable @inline(__always) func visit<F: QuantFormat>(_ f: F.Type) {
        packBTransposedQuant(
            I.self, F.self, nr: nr, w.base, rowBytes: w.rowBytes, rows: w.rows, n0: n0, nc: nc, k0: k0,
            kc: kc, out)
    }
}

@inlinable @inline(__always)
func packRight<I: KernelISA>(
    _ isa: I.Type, _ b: GEMMRight, nr: Int, n0: Int, nc: Int, k0: Int, kc: Int, _ out: UnsafeMutablePointer<Float>
) {
    switch b {
    case .transposed(let w):
        if let f = w.type.blockFormat {
            f.visit(PackRightQuant<I>(w: w, nr: nr, n0: n0, nc: nc, k0: k0, kc: kc, out: out))
            return
        }
        w.type.visit(PackRight<I>(b: b, nr: nr, n0: n0, nc: nc, k0: k0, kc: kc, out: out))
    case .direct(let w): w.type.visit(PackRight<I>(b: b, nr: nr, n0: n0, nc: nc, k0: k0, kc: kc, out: out))
    }
}

@inlinable @inline(__always)
func packLeft<I: KernelISA>(
    _ isa: I.Type, _ a: GEMMLeft, rows: Int, m0: Int, mc: Int, k0: Int, kc: Int, _ out: UnsafeMutablePointer<Float>
) {
    switch a {
    case .rowMajor(let p, let ld): packARowMajor(I.self, p, lda: ld, rows: rows, m0: m0, mc: mc, k0: k0, kc: kc, out)
    case .transposed(let p, let ld):
        packATransposed(I.self, p, lda: ld, rows: rows, m0: m0, mc: mc, k0: k0, kc: kc, out)
    }
}

/// One GEMM cut into tasks (blocks of columns, and of rows when there are too few columns to go round);
/// each task is one chunk of a parallel region. Needs M, N, K > 0.
public struct GEMMPlan: @unchecked Sendable {
    public let M: Int, N: Int, K: Int, a: GEMMLeft, b: GEMMRight, c: UnsafeMutablePointer<Float>, ldc: Int
    public let accumulate: Bool
    public let nr: Int, nK: Int, kcStep: Int, nChunks: Int, nc: Int, mChunk: Int, mcBlock: Int, fused: Bool
    public let tasks: Int
    /// Too little work to be worth a second thread.
    public let serial: Bool
    /// A packed once for all tasks (see `sharePackedA`), or nil: each task packs its own A blocks.
    /// Layout: K slice kb at kb·kcStep·mPadded floats; in it, the 6-row panel p at p·6·kc (as `packLeft` writes).
    public var packedA: UnsafePointer<Float>? = nil

    public init(
        M: Int, N: Int, K: Int, a: GEMMLeft, b: GEMMRight, c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool, blocking: GEMMBlocking, threads: Int
    ) {
        self.M = M; self.N = N; self.K = K; self.a = a; self.b = b; self.c = c; self.ldc = ldc
        self.accumulate = accumulate
        let nr = blocking.nr
        self.nr = nr
        let mcMax = max(6, blocking.mc / 6 * 6)
        let ncMax = max(nr, blocking.nc / nr * nr)
        (nK, kcStep) = GEMMPlan.kSlices(K: K, kc: blocking.kc)

        // Tasks: column chunks, about 4 per thread so that the pool can rebalance when another process
        // takes a core for a while (the machine is shared), but at least 2 panels wide; row chunks as well
        // when there are too few columns to go round the threads evenly.
        let work = 2.0 * Double(M) * Double(N) * Double(K)
        let threads = work < 3e6 ? 1 : max(1, threads)
        serial = threads == 1
        var nChunks = (N + ncMax - 1) / ncMax
        if threads > 1 { nChunks = max(nChunks, 4 * threads) }
        nChunks = max(1, min(nChunks, (N + 2 * nr - 1) / (2 * nr)))
        nc = ((N + nChunks - 1) / nChunks + nr - 1) / nr * nr
        nChunks = (N + nc - 1) / nc
        self.nChunks = nChunks
        var mChunks = 1
        if nChunks < threads {
            mChunks = (threads + nChunks - 1) / nChunks
        } else if nChunks < 4 * threads && nChunks % threads != 0 {
            // Few column chunks that do not go round evenly (N = 192 on AVX-512: 3 chunks of 2 panels on 2
            // threads, one thread idle for a third of the product): rows split too, so that the tasks are a
            // multiple of the threads. B is then packed once per row chunk.
            var a = nChunks, b = threads
            while b != 0 { (a, b) = (b, a % b) }
            mChunks = threads / a
        }
        mChunks = max(1, min(mChunks, (M + gemmMR - 1) / gemmMR))
        mChunk = ((M + mChunks - 1) / mChunks + gemmMR - 1) / gemmMR * gemmMR
        mChunks = (M + mChunk - 1) / mChunk
        mcBlock = min(mcMax, mChunk)
        tasks = nChunks * mChunks
        // When a task's rows fit one MC block (prefill of up to ~132 tokens), each NR-column B panel is
        // packed right before its use and is still in L1 when the kernels read it; otherwise the whole
        // KC×NC block is packed once and reused across the MC blocks.
        fused = mChunk <= mcBlock
    }

    /// The K slices of a product of depth K with blocking KC: `count` slices of `step` (the last one shorter), as
    /// even as possible and a multiple of 8 long; a function of K and the path alone. Every C element is one FMA
    /// chain per slice, the slices added in order (GEMMKernel.swift), so this fixes the order of its sums.
    public static func kSlices(K: Int, kc: Int) -> (count: Int, step: Int) {
        let kcMax = max(8, kc & ~7)
        guard K > 0 else { return (0, kcMax) }
        let n = (K + kcMax - 1) / kcMax
        return (n, ((K + n - 1) / n + 7) & ~7)
    }

    // MARK: A packed once, shared by the tasks
    //
    // Every column task reads all of its rows of A, so when a product is cut into several column chunks each
    // of them packed the same A blocks again (9 times for a 1024×576 · 576×576 product on 2 threads: 7 % of a
    // training step). Instead, a first parallel region packs A once (`packATask`), and the tasks read their
    // blocks from it. Packing only moves values, so the results are the same bits either way.

    /// M rounded up to whole 6-row panels.
    public var mPadded: Int { (M + gemmMR - 1) / gemmMR * gemmMR }
    /// Floats of the shared packed A: every K slice of every panel.
    public var packedAFloats: Int { mPadded * K }
    /// Whether plans reading one A (the same left operand, M, K and path) save work by packing it once: more
    /// than one column chunk packs A blocks (a fused task packs its A blocks once anyway), and the packed copy
    /// stays under 256 MiB.
    public static func sharePackedA(_ plans: [GEMMPlan]) -> Bool {
        guard let p = plans.first, p.packedAFloats <= 64 << 20 else { return false }
        return plans.reduce(0) { $0 + ($1.fused ? 0 : $1.nChunks) } > 1
    }
    /// Tasks of the packing region: one per K slice and block of MC rows.
    public var packATasks: Int { nK * ((M + mcBlock - 1) / mcBlock) }

    /// Packing task t of the shared A into `out` (`packedAFloats` floats), on path I.
    @inlinable
    public func packATask<I: KernelISA>(_ isa: I.Type, _ t: Int, into out: UnsafeMutablePointer<Float>) {
        let blocks = (M + mcBlock - 1) / mcBlock
        let kb = t / blocks, m0 = (t % blocks) * mcBlock
        let k0 = kb * kcStep, kc = min(kcStep, K - k0)
        packLeft(I.self, a, rows: M, m0: m0, mc: min(mcBlock, M - m0), k0: k0, kc: kc, out + packedAOffset(kb, m0))
    }

    /// Where the panel of row i (a multiple of 6) of K slice kb starts in the shared packed A.
    @inlinable
    public func packedAOffset(_ kb: Int, _ i: Int) -> Int {
        kb * kcStep * mPadded + i * min(kcStep, K - kb * kcStep)
    }

    /// The rows and columns of C that task t writes.
    public func block(_ t: Int) -> (rows: Range<Int>, cols: Range<Int>) {
        let n0 = (t % nChunks) * nc, m0 = (t / nChunks) * mChunk
        return (m0..<min(M, m0 + mChunk), n0..<min(N, n0 + nc))
    }

    /// Task t, computed on path I (whose vectors must be NR / 2 wide).
    @inlinable
    public func run<I: KernelISA>(_ isa: I.Type, _ t: Int) {
        precondition(nr == 2 * I.V.scalarCount, "GEMMPlan: planned for another vector width")
        let n0 = (t % nChunks) * nc, n1 = min(N, n0 + nc)
        let m0 = (t / nChunks) * mChunk, m1 = min(M, m0 + mChunk)
        let bFloats = fused ? kcStep * nr : kcStep * nc
        let aFloats = packedA == nil || fused ? kcStep * mcBlock : 0
        withScratch(floats: bFloats + aFloats) { buf in
            let bp = buf, ap = buf + bFloats
            let nPanels = (n1 - n0 + nr - 1) / nr
            for kb in 0..<nK {
                let k0 = kb * kcStep, kc = min(kcStep, K - k0)
                let add = accumulate || kb > 0
                if fused {
                    let mc = m1 - m0
                    packLeft(I.self, a, rows: m1, m0: m0, mc: mc, k0: k0, kc: kc, ap)
                    let mPanels = (mc + gemmMR - 1) / gemmMR
                    for jp in 0..<nPanels {
                        let j = n0 + jp * nr, nrj = min(nr, n1 - j)
                        packRight(I.self, b, nr: nr, n0: j, nc: nrj, k0: k0, kc: kc, bp)
                        for ip in 0..<mPanels {
                            let i = m0 + ip * gemmMR
                            gemmTile(
                                I.self, kc, ap + ip * kc * gemmMR, bp, c + i * ldc + j, ldc, add: add,
                                mr: min(gemmMR, m1 - i), nr: nrj)
                        }
                    }
                    continue
                }
                packRight(I.self, b, nr: nr, n0: n0, nc: n1 - n0, k0: k0, kc: kc, bp)
                var ic = m0
                while ic < m1 {
                    let mc = min(mcBlock, m1 - ic)
                    let aBlock: UnsafePointer<Float>
                    if let shared = packedA {
                        aBlock = shared + packedAOffset(kb, ic)
                    } else {
                        packLeft(I.self, a, rows: m1, m0: ic, mc: mc, k0: k0, kc: kc, ap)
                        aBlock = UnsafePointer(ap)
                    }
                    let mPanels = (mc + gemmMR - 1) / gemmMR
                    for jp in 0..<nPanels {
                        let j = n0 + jp * nr, nrj = min(nr, n1 - j)
                        let bpp = bp + jp * kc * nr
                        for ip in 0..<mPanels {
                            let i = ic + ip * gemmMR
                            gemmTile(
                                I.self, kc, aBlock + ip * kc * gemmMR, bpp, c + i * ldc + j, ldc, add: add,
                                mr: min(gemmMR, ic + mc - i), nr: nrj)
                        }
                    }
                    ic += mc
                }
            }
        }
    }
}
