// The GEMM micro-kernel: a 6×16 tile of C held in 12 SIMD8<Float> registers, 12 FMAs per k step
// (ARCHITECTURE.md: this shape reaches ~97 GFLOP/s per core on Zen 3 with packed operands).
//
// Determinism: every C element is one FMA chain over k (in order) per KC block, added to C once per
// block in block order. That is the same whatever tile, thread or task computes it, so results do not
// depend on how work is split across threads.

/// C[0..<6, 0..<16] (row stride ldc) = acc (store) or C + acc (add), acc = Σ_k A[:,k] ⊗ B[k,:].
@inline(__always)
func gemmKernel6x16(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, add: Bool) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
    var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
    var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
    var pa = a
    var pb = UnsafeRawPointer(b)
    var k = kc
    while k > 0 {
        let b0 = pb.load(as: SIMD8<Float>.self)
        let b1 = pb.load(fromByteOffset: 32, as: SIMD8<Float>.self)
        var av = SIMD8<Float>(repeating: pa[0])
        c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[1])
        c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[2])
        c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[3])
        c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[4])
        c40 = c40.addingProduct(av, b0); c41 = c41.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[5])
        c50 = c50.addingProduct(av, b0); c51 = c51.addingProduct(av, b1)
        pa += 6
        pb += 64
        k &-= 1
    }
    storeTile(c, ldc, add, 0, c00, c01); storeTile(c, ldc, add, 1, c10, c11)
    storeTile(c, ldc, add, 2, c20, c21); storeTile(c, ldc, add, 3, c30, c31)
    storeTile(c, ldc, add, 4, c40, c41); storeTile(c, ldc, add, 5, c50, c51)
}

/// Like `gemmKernel6x16` for the first R = 2 or 4 rows of a panel (A panels keep their stride of 6):
/// the last row panel of M = 128 has 2 rows, and full-height arithmetic there would waste 3 %.
@inline(__always)
func gemmKernel4x16(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, add: Bool) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var pa = a
    var pb = UnsafeRawPointer(b)
    var k = kc
    while k > 0 {
        let b0 = pb.load(as: SIMD8<Float>.self)
        let b1 = pb.load(fromByteOffset: 32, as: SIMD8<Float>.self)
        var av = SIMD8<Float>(repeating: pa[0])
        c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[1])
        c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[2])
        c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[3])
        c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
        pa += 6
        pb += 64
        k &-= 1
    }
    storeTile(c, ldc, add, 0, c00, c01); storeTile(c, ldc, add, 1, c10, c11)
    storeTile(c, ldc, add, 2, c20, c21); storeTile(c, ldc, add, 3, c30, c31)
}

@inline(__always)
func gemmKernel2x16(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, add: Bool) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var pa = a
    var pb = UnsafeRawPointer(b)
    var k = kc
    while k > 0 {
        let b0 = pb.load(as: SIMD8<Float>.self)
        let b1 = pb.load(fromByteOffset: 32, as: SIMD8<Float>.self)
        var av = SIMD8<Float>(repeating: pa[0])
        c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: pa[1])
        c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
        pa += 6
        pb += 64
        k &-= 1
    }
    storeTile(c, ldc, add, 0, c00, c01); storeTile(c, ldc, add, 1, c10, c11)
}

@inline(__always)
func storeTile(_ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ add: Bool, _ row: Int,
               _ v0: SIMD8<Float>, _ v1: SIMD8<Float>) {
    let p = UnsafeMutableRawPointer(c + row &* ldc)
    if add {
        p.storeBytes(of: p.loadUnaligned(as: SIMD8<Float>.self) + v0, as: SIMD8<Float>.self)
        p.storeBytes(of: p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self) + v1,
                     toByteOffset: 32, as: SIMD8<Float>.self)
    } else {
        p.storeBytes(of: v0, as: SIMD8<Float>.self)
        p.storeBytes(of: v1, toByteOffset: 32, as: SIMD8<Float>.self)
    }
}

/// Any tile: full tiles straight into C; a tile cut by the edge of C (mr ≤ 6 rows, nr ≤ 16 columns)
/// through the smallest kernel that covers its rows, into a scratch tile whose valid part is then
/// copied or added — the same arithmetic per element as a full tile.
@inline(__always)
func gemmTile(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
              _ c: UnsafeMutablePointer<Float>, _ ldc: Int, add: Bool, mr: Int, nr: Int) {
    if nr == gemmNR {
        if mr == 6 { gemmKernel6x16(kc, a, b, c, ldc, add: add); return }
        if mr == 4 { gemmKernel4x16(kc, a, b, c, ldc, add: add); return }
        if mr == 2 { gemmKernel2x16(kc, a, b, c, ldc, add: add); return }
    }
    gemmKernelEdge(kc, a, b, c, ldc, add: add, mr: mr, nr: nr)
}

@inline(never)
func gemmKernelEdge(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, add: Bool, mr: Int, nr: Int) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmMR * gemmNR) { t in
        let tp = t.baseAddress!
        if mr <= 2 { gemmKernel2x16(kc, a, b, tp, gemmNR, add: false) }
        else if mr <= 4 { gemmKernel4x16(kc, a, b, tp, gemmNR, add: false) }
        else { gemmKernel6x16(kc, a, b, tp, gemmNR, add: false) }
        for i in 0..<mr {
            let src = tp + i * gemmNR, dst = c + i * ldc
            if add { for j in 0..<nr { dst[j] = dst[j] + src[j] } } else { for j in 0..<nr { dst[j] = src[j] } }
        }
    }
}
