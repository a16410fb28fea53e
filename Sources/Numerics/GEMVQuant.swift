// y[M,N] (+)= x[M,K]·Wᵀ for a few rows (decode) with W in a ggml block format, dequantizing in registers:
// 4 W rows at a time share each x vector, as in GEMV.swift.
//
// Per group of weights that share a scale d and a min m (32 weights, 16 for Q6_K) the dot product is
// factored as d·Σ q·x + m·Σx: the integers q are multiplied by x in an FMA chain and the scale is applied
// once per group, and Σx per group is computed once per call. The result differs from the dot product of
// x with the dequantized row only by float reassociation: within 1e-5 · Σ(|q·d| + |m|)·|x| (GEMMTests).
//
// Determinism: each output element's operations depend only on K, never on its chunk or group of 4 rows.

/// Rows n0 ..< n1 of y (one task of a GEMVPlan): the group sums Σx are computed by each task (M·K adds,
/// small next to the (n1 − n0)·K weights it decodes) so that the task needs nothing prepared before the region.
func gemvQuantRows(_ x: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ n0: Int, _ n1: Int,
                   _ y: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
    struct Run: QuantVisitor {
        let x: UnsafePointer<Float>, M: Int, W: Weight, n0: Int, n1: Int, y: UnsafeMutablePointer<Float>, accumulate: Bool
        func visit<F: QuantFormat>(_ f: F.Type) { gemvQuantRows(F.self, x, M, W, n0, n1, y, accumulate) }
    }
    W.type.blockFormat!.visit(Run(x: x, M: M, W: W, n0: n0, n1: n1, y: y, accumulate: accumulate))
}

private func gemvQuantRows<F: QuantFormat>(_ f: F.Type, _ x: UnsafePointer<Float>, _ M: Int, _ W: Weight,
                                           _ n0: Int, _ n1: Int, _ y: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
    let K = W.cols, N = W.rows, G = F.groupSize, groups = K / G
    withScratch(floats: F.hasMin ? M * groups : 1) { sums in
        if F.hasMin {
            // sums[m, g] = Σ x[m, gG ..< gG+G]
            let xr = UnsafeRawPointer(x)
            for m in 0..<M { for g in 0..<groups {
                var s = SIMD8<Float>()
                for p in 0..<G / 8 { s += xr.loadUnaligned(fromByteOffset: 4 * (m * K + g * G + 8 * p), as: SIMD8<Float>.self) }
                sums[m * groups + g] = s.sum()
            } }
        }
        let w = W.base, rb = W.rowBytes
        for m in 0..<M {
            let xm = x + m * K, sm = UnsafePointer(sums) + m * groups, ym = y + m * N
            var n = n0
            while n < n1 {
                let valid = min(4, n1 - n)
                let r1 = min(n + 1, n1 - 1), r2 = min(n + 2, n1 - 1), r3 = min(n + 3, n1 - 1)
                let s = gemvQ1x4(F.self, xm, sm, K, w + n * rb, w + r1 * rb, w + r2 * rb, w + r3 * rb)
                store(ym, n, s.0, accumulate)
                if valid > 1 { store(ym, r1, s.1, accumulate) }
                if valid > 2 { store(ym, r2, s.2, accumulate) }
                if valid > 3 { store(ym, r3, s.3, accumulate) }
                n += 4
            }
        }
    }
}

/// Dot products of one x row (with its group sums) with 4 quantized W rows (w0..w3 point at their first block).
@inline(__always)
private func gemvQ1x4<F: QuantFormat>(_ f: F.Type, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ K: Int,
                                      _ w0: UnsafeRawPointer, _ w1: UnsafeRawPointer, _ w2: UnsafeRawPointer,
                                      _ w3: UnsafeRawPointer) -> (Float, Float, Float, Float) {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
    let xr = UnsafeRawPointer(x)
    let G = F.groupSize, P = G / 8, perBlock = F.blockElements / G
    for blk in 0..<K / F.blockElements {
        let off = blk * F.blockBytes
        let b0 = w0 + off, b1 = w1 + off, b2 = w2 + off, b3 = w3 + off
        for gi in 0..<perBlock {
            let e = blk * F.blockElements + gi * G
            var t0 = SIMD8<Float>(), t1 = SIMD8<Float>(), t2 = SIMD8<Float>(), t3 = SIMD8<Float>()
            for p in 0..<P {
                let j = gi * P + p
                let xv = xr.loadUnaligned(fromByteOffset: 4 * (e + 8 * p), as: SIMD8<Float>.self)
                t0 = t0.addingProduct(F.quants(b0, j), xv); t1 = t1.addingProduct(F.quants(b1, j), xv)
                t2 = t2.addingProduct(F.quants(b2, j), xv); t3 = t3.addingProduct(F.quants(b3, j), xv)
            }
            let c0 = F.scale(b0, gi), c1 = F.scale(b1, gi), c2 = F.scale(b2, gi), c3 = F.scale(b3, gi)
            a0 = a0.addingProduct(t0, SIMD8(repeating: c0.d)); a1 = a1.addingProduct(t1, SIMD8(repeating: c1.d))
            a2 = a2.addingProduct(t2, SIMD8(repeating: c2.d)); a3 = a3.addingProduct(t3, SIMD8(repeating: c3.d))
            if F.hasMin {
                let xs = sums[e / G]
                s0 = s0.addingProduct(c0.m, xs); s1 = s1.addingProduct(c1.m, xs)
                s2 = s2.addingProduct(c2.m, xs); s3 = s3.addingProduct(c3.m, xs)
            }
        }
    }
    return (a0.sum() + s0, a1.sum() + s1, a2.sum() + s2, a3.sum() + s3)
}
