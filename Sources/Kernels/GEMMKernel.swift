// The GEMM micro-kernel: a 6×NR tile of C held in 12 vector registers V (NR = 2·|V|: 6×16 with SIMD8 on AVX2
// and the portable path, 6×32 with SIMD16 on AVX-512), 12 FMAs per k step. Written once over V; each
// instruction-set target (KernelsAVX2, KernelsAVX512, KernelsPortable) instantiates it with its own
// `-target-cpu` (ARCHITECTURE.md: the 6×16 shape reaches ~97 GFLOP/s per core on Zen 3 with packed operands).
//
// Determinism: every C element is one FMA chain over k (in order) per KC block, added to C once per
// block in block order. That is the same whatever tile, thread or task computes it, so results do not
// depend on how work is split across threads. (Paths differ in KC and in the vector width, so they agree
// within rounding, not bit for bit.)

/// The vector register a path computes in: SIMD8<Float> (AVX2, portable) or SIMD16<Float> (AVX-512).
public protocol KernelVector: SIMD where Scalar == Float {}
extension SIMD8: KernelVector where Scalar == Float {}
extension SIMD16: KernelVector where Scalar == Float {}

/// An instruction-set path: each Kernels* target declares its own (`ISA`, a type of that module) with its vector
/// type. Every generic kernel takes it as a type parameter, even where V alone would do, so that each target's
/// specialisations have names of their own: two targets specialising `f<SIMD8<Float>>` would emit one symbol
/// twice, compiled for two CPUs, and the linker would keep either (an AVX-512 copy could then run on an AVX2-only
/// CPU). KernelsTests checks that the targets' objects define no symbol in common.
public protocol KernelISA {
    associatedtype V: KernelVector
}

/// C[0..<R, 0..<NR] (row stride ldc) = acc (store) or C + acc (add), acc = Σ_k A[:,k] ⊗ B[k,:], for R = 6, 4
/// or 2 rows of a packed A panel (stride 6 per k). The last row panel of M = 128 has 2 rows, and full-height
/// arithmetic there would waste 3 %. Rows past R are neither computed nor stored.
@inlinable @inline(__always)
public func gemmKernel<I: KernelISA>(
    _ isa: I.Type, rows R: Int, _ kc: Int, _ a: UnsafePointer<Float>,
    _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
    add: Bool
) {
    // R is a constant at every call site after inlining, so the untaken rows fold away.
    typealias V = I.V
    var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
    var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
    let w = V.scalarCount * 4
    var pa = a
    var pb = UnsafeRawPointer(b)
    var k = kc
    while k > 0 {
        let b0 = pb.load(as: V.self)
        let b1 = pb.load(fromByteOffset: w, as: V.self)
        var av = V(repeating: pa[0])
        c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
        av = V(repeating: pa[1])
        c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
        if R > 2 {
            av = V(repeating: pa[2])
            c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
            av = V(repeating: pa[3])
            c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
        }
        if R > 4 {
            av = V(repeating: pa[4])
            c40 = c40.addingProduct(av, b0); c41 = c41.addingProduct(av, b1)
            av = V(repeating: pa[5])
            c50 = c50.addingProduct(av, b0); c51 = c51.addingProduct(av, b1)
        }
        pa += 6
        pb += 2 * w
        k &-= 1
    }
    storeTile(I.self, c, ldc, add, 0, c00, c01); storeTile(I.self, c, ldc, add, 1, c10, c11)
    if R > 2 { storeTile(I.self, c, ldc, add, 2, c20, c21); storeTile(I.self, c, ldc, add, 3, c30, c31) }
    if R > 4 { storeTile(I.self, c, ldc, add, 4, c40, c41); storeTile(I.self, c, ldc, add, 5, c50, c51) }
}

@inlinable @inline(__always)
func storeTile<I: KernelISA>(
    _ isa: I.Type, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool, _ row: Int,
    _ v0: I.V, _ v1: I.V
) {
    typealias V = I.V
    let p = UnsafeMutableRawPointer(c + row &* ldc), w = V.scalarCount * 4
    if add {
        p.storeBytes(of: p.loadUnaligned(as: V.self) + v0, as: V.self)
        p.storeBytes(of: p.loadUnaligned(fromByteOffset: w, as: V.self) + v1, toByteOffset: w, as: V.self)
    } else {
        p.storeBytes(of: v0, as: V.self)
        p.storeBytes(of: v1, toByteOffset: w, as: V.self)
    }
}

/// Any tile: full tiles straight into C; a tile cut by the edge of C (mr ≤ 6 rows, nr ≤ NR columns)
/// through the smallest kernel that covers its rows, into a scratch tile whose valid part is then
/// copied or added — the same arithmetic per element as a full tile.
@inlinable @inline(__always)
public func gemmTile<I: KernelISA>(
    _ isa: I.Type, _ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, add: Bool, mr: Int, nr: Int
) {
    if nr == 2 * I.V.scalarCount {
        if mr == 6 { gemmKernel(I.self, rows: 6, kc, a, b, c, ldc, add: add); return }
        if mr == 4 { gemmKernel(I.self, rows: 4, kc, a, b, c, ldc, add: add); return }
        if mr == 2 { gemmKernel(I.self, rows: 2, kc, a, b, c, ldc, add: add); return }
    }
    gemmKernelEdge(I.self, kc, a, b, c, ldc, add: add, mr: mr, nr: nr)
}

@inlinable @inline(never)
func gemmKernelEdge<I: KernelISA>(
    _ isa: I.Type, _ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, add: Bool, mr: Int, nr: Int
) {
    let NR = 2 * I.V.scalarCount
    withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmMR * NR) { t in
        let tp = t.baseAddress!
        if mr <= 2 {
            gemmKernel(I.self, rows: 2, kc, a, b, tp, NR, add: false)
        } else if mr <= 4 {
            gemmKernel(I.self, rows: 4, kc, a, b, tp, NR, add: false)
        } else {
            gemmKernel(I.self, rows: 6, kc, a, b, tp, NR, add: false)
        }
        for i in 0..<mr {
            let src = tp + i * NR, dst = c + i * ldc
            if add { for j in 0..<nr { dst[j] = dst[j] + src[j] } } else { for j in 0..<nr { dst[j] = src[j] } }
        }
    }
}

/// A register-only loop of 12 independent FMA chains in V (as many as the micro-kernel keeps), `iters` times:
/// 24·|V|·iters FLOPs. The FMA peak of a path is what this reaches (irm-bench measures it next to the GEMM).
@inlinable
public func fmaPeakLoop<I: KernelISA>(_ isa: I.Type, iters: Int, seed: Float) -> Float {
    typealias V = I.V
    let a = V(repeating: seed * 0.999), b = V(repeating: seed * 1e-7)
    var c0 = a, c1 = a + 1, c2 = a + 2, c3 = a + 3, c4 = a + 4, c5 = a + 5
    var c6 = a + 6, c7 = a + 7, c8 = a + 8, c9 = a + 9, c10 = a + 10, c11 = a + 11
    for _ in 0..<iters {
        c0 = c0.addingProduct(a, b); c1 = c1.addingProduct(a, b); c2 = c2.addingProduct(a, b)
        c3 = c3.addingProduct(a, b); c4 = c4.addingProduct(a, b); c5 = c5.addingProduct(a, b)
        c6 = c6.addingProduct(a, b); c7 = c7.addingProduct(a, b); c8 = c8.addingProduct(a, b)
        c9 = c9.addingProduct(a, b); c10 = c10.addingProduct(a, b); c11 = c11.addingProduct(a, b)
    }
    return (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11).sum()
}
