// y[M,N] (+)= x[M,K]·Wᵀ for a few rows (decode: M = 1): stream W once, 4 rows at a time, widening
// fp16/bf16 in the loop (ARCHITECTURE.md: the GEMM path runs at 3–6 GFLOP/s here; this one runs at the
// memory bandwidth). Parallel over N in chunks that are multiples of 4 rows.
//
// Determinism: each output element's operations depend only on K (and on whether M == 1), never on
// which chunk or group of 4 its row falls in: an incomplete group repeats its last row.

func gemv(_ x: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ y: UnsafeMutablePointer<Float>, accumulate: Bool) {
    let plan = GEMVPlan(x, M, W, y, accumulate: accumulate)
    parallelFor(plan.chunks, plan.run)
}

/// One GEMV cut into chunks of rows (multiples of 4); each chunk is one task of a parallel region, so that
/// several GEMVs on the same input (q, k, v) can share one region (matmul(_:_:_:) in GEMM.swift).
struct GEMVPlan {
    let x: UnsafePointer<Float>, M: Int, W: Weight, y: UnsafeMutablePointer<Float>, accumulate: Bool
    let chunk: Int, chunks: Int

    init(_ x: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        self.x = x; self.M = M; self.W = W; self.y = y; self.accumulate = accumulate
        let N = W.rows
        let threads = W.byteCount * M < (1 << 17) ? 1 : max(1, numThreads)
        // One contiguous slice per thread for a single row (each thread reads one long sequential stream, which
        // the prefetcher follows best); finer chunks balance the load when there are several rows.
        let pieces = M == 1 ? threads : threads * 8
        chunk = threads == 1 ? N : max(16, ((N + pieces - 1) / pieces + 3) & ~3)
        chunks = (N + chunk - 1) / chunk
    }

    func run(_ ci: Int) {
        let n0 = ci * chunk, n1 = min(W.rows, n0 + chunk)
        switch W.type {
        case .f32: gemvRows(SrcF32.self, x, M, W, n0, n1, y, accumulate)
        case .f16: gemvRows(SrcF16.self, x, M, W, n0, n1, y, accumulate)
        case .bf16: gemvRows(SrcBF16.self, x, M, W, n0, n1, y, accumulate)
        default: gemvQuantRows(x, M, W, n0, n1, y, accumulate)
        }
    }
}

@inline(__always)
private func gemvRows<S: WidenSource>(
    _ s: S.Type, _ x: UnsafePointer<Float>, _ M: Int, _ W: Weight,
    _ n0: Int, _ n1: Int, _ y: UnsafeMutablePointer<Float>, _ accumulate: Bool
) {
    let K = W.cols, N = W.rows, w = W.base
    if M == 1 && K < 2048 {
        // Short rows, one after another: the weights are read as a single sequential stream, which the
        // hardware prefetcher follows better than 4 interleaved short row streams (cold 576×1536 fp16,
        // `irm-bench gemv-cold`: 15.6 vs 12.1 GB/s on one core, 22.2 vs 19.7 on two). Long rows keep the
        // 4-row kernel, which reuses each x vector 4 times (4096×11008: 23.1 vs 16.2 GB/s on one core).
        for r in n0..<n1 { store(y, r, gemv1x1(S.self, x, K, w, r * K), accumulate) }
        return
    }
    var n = n0
    while n < n1 {
        let valid = min(4, n1 - n)
        let r0 = n, r1 = min(n + 1, n1 - 1), r2 = min(n + 2, n1 - 1), r3 = min(n + 3, n1 - 1)
        if M == 1 {
            let s = gemv1x4(S.self, x, K, w, r0 * K, r1 * K, r2 * K, r3 * K)
            store(y, r0, s.0, accumulate)
            if valid > 1 { store(y, r1, s.1, accumulate) }
            if valid > 2 { store(y, r2, s.2, accumulate) }
            if valid > 3 { store(y, r3, s.3, accumulate) }
        } else {
            var m = 0
            while m < M {
                let ma = m, mb = min(m + 1, M - 1)
                let s = gemv2x4(S.self, x + ma * K, x + mb * K, K, w, r0 * K, r1 * K, r2 * K, r3 * K)
                let ya = y + ma * N, yb = y + mb * N
                store(ya, r0, s.0, accumulate)
                if valid > 1 { store(ya, r1, s.1, accumulate) }
                if valid > 2 { store(ya, r2, s.2, accumulate) }
                if valid > 3 { store(ya, r3, s.3, accumulate) }
                if mb != ma {
                    store(yb, r0, s.4, accumulate)
                    if valid > 1 { store(yb, r1, s.5, accumulate) }
                    if valid > 2 { store(yb, r2, s.6, accumulate) }
                    if valid > 3 { store(yb, r3, s.7, accumulate) }
                }
                m += 2
            }
        }
        n += 4
    }
}

@inline(__always)
func store(_ y: UnsafeMutablePointer<Float>, _ i: Int, _ v: Float, _ accumulate: Bool) {
    y[i] = accumulate ? y[i] + v : v
}

/// Dot product of x with one W row (element offset o): four accumulators.
@inline(__always)
private func gemv1x1<S: WidenSource>(_ s: S.Type, _ x: UnsafePointer<Float>, _ K: Int, _ w: UnsafeRawPointer, _ o: Int)
    -> Float
{
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    let xr = UnsafeRawPointer(x)
    var k = 0
    while k + 32 <= K {
        a0 = a0.addingProduct(S.load8(w, o + k), xr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
        a1 = a1.addingProduct(
            S.load8(w, o + k + 8), xr.loadUnaligned(fromByteOffset: k * 4 + 32, as: SIMD8<Float>.self))
        a2 = a2.addingProduct(
            S.load8(w, o + k + 16), xr.loadUnaligned(fromByteOffset: k * 4 + 64, as: SIMD8<Float>.self))
        a3 = a3.addingProduct(
            S.load8(w, o + k + 24), xr.loadUnaligned(fromByteOffset: k * 4 + 96, as: SIMD8<Float>.self))
        k += 32
    }
    while k + 8 <= K {
        a0 = a0.addingProduct(S.load8(w, o + k), xr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
        k += 8
    }
    var s = ((a0 + a1) + (a2 + a3)).sum()
    while k < K { s = s.addingProduct(S.load1(w, o + k), x[k]); k += 1 }
    return s
}

/// Dot products of one x row with 4 W rows (element offsets o0..o3): two accumulators per row.
@inline(__always)
private func gemv1x4<S: WidenSource>(
    _ s: S.Type, _ x: UnsafePointer<Float>, _ K: Int, _ w: UnsafeRawPointer,
    _ o0: Int, _ o1: Int, _ o2: Int, _ o3: Int
) -> (Float, Float, Float, Float) {
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
    let xr = UnsafeRawPointer(x)
    var k = 0
    while k + 16 <= K {
        let x0 = xr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
        let x1 = xr.loadUnaligned(fromByteOffset: k * 4 + 32, as: SIMD8<Float>.self)
        a00 = a00.addingProduct(S.load8(w, o0 + k), x0); a01 = a01.addingProduct(S.load8(w, o0 + k + 8), x1)
        a10 = a10.addingProduct(S.load8(w, o1 + k), x0); a11 = a11.addingProduct(S.load8(w, o1 + k + 8), x1)
        a20 = a20.addingProduct(S.load8(w, o2 + k), x0); a21 = a21.addingProduct(S.load8(w, o2 + k + 8), x1)
        a30 = a30.addingProduct(S.load8(w, o3 + k), x0); a31 = a31.addingProduct(S.load8(w, o3 + k + 8), x1)
        k += 16
    }
    if k + 8 <= K {
        let x0 = xr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
        a00 = a00.addingProduct(S.load8(w, o0 + k), x0)
        a10 = a10.addingProduct(S.load8(w, o1 + k), x0)
        a20 = a20.addingProduct(S.load8(w, o2 + k), x0)
        a30 = a30.addingProduct(S.load8(w, o3 + k), x0)
        k += 8
    }
    var s0 = (a00 + a01).sum(), s1 = (a10 + a11).sum(), s2 = (a20 + a21).sum(), s3 = (a30 + a31).sum()
    while k < K {
        let xv = x[k]
        s0 = s0.addingProduct(S.load1(w, o0 + k), xv)
        s1 = s1.addingProduct(S.load1(w, o1 + k), xv)
        s2 = s2.addingProduct(S.load1(w, o2 + k), xv)
        s3 = s3.addingProduct(S.load1(w, o3 + k), xv)
        k += 1
    }
    return (s0, s1, s2, s3)
}

/// Dot products of two x rows with 4 W rows: 8 accumulators, each W vector widened once for both rows.
@inline(__always)
private func gemv2x4<S: WidenSource>(
    _ s: S.Type, _ xa: UnsafePointer<Float>, _ xb: UnsafePointer<Float>, _ K: Int,
    _ w: UnsafeRawPointer, _ o0: Int, _ o1: Int, _ o2: Int, _ o3: Int
)
    -> (Float, Float, Float, Float, Float, Float, Float, Float)
{
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
    let xar = UnsafeRawPointer(xa), xbr = UnsafeRawPointer(xb)
    var k = 0
    while k + 8 <= K {
        let xav = xar.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
        let xbv = xbr.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
        let w0 = S.load8(w, o0 + k), w1 = S.load8(w, o1 + k), w2 = S.load8(w, o2 + k), w3 = S.load8(w, o3 + k)
        a0 = a0.addingProduct(w0, xav); b0 = b0.addingProduct(w0, xbv)
        a1 = a1.addingProduct(w1, xav); b1 = b1.addingProduct(w1, xbv)
        a2 = a2.addingProduct(w2, xav); b2 = b2.addingProduct(w2, xbv)
        a3 = a3.addingProduct(w3, xav); b3 = b3.addingProduct(w3, xbv)
        k += 8
    }
    var s = (a0.sum(), a1.sum(), a2.sum(), a3.sum(), b0.sum(), b1.sum(), b2.sum(), b3.sum())
    while k < K {
        let xav = xa[k], xbv = xb[k]
        let w0 = S.load1(w, o0 + k), w1 = S.load1(w, o1 + k), w2 = S.load1(w, o2 + k), w3 = S.load1(w, o3 + k)
        s.0 = s.0.addingProduct(w0, xav); s.4 = s.4.addingProduct(w0, xbv)
        s.1 = s.1.addingProduct(w1, xav); s.5 = s.5.addingProduct(w1, xbv)
        s.2 = s.2.addingProduct(w2, xav); s.6 = s.6.addingProduct(w2, xbv)
        s.3 = s.3.addingProduct(w3, xav); s.7 = s.7.addingProduct(w3, xbv)
        k += 1
    }
    return s
}
