// y[M,N] (+)= x[M,K]·Wᵀ for a few rows (decode) with W in a ggml block format, dequantizing in registers,
// one W row after another: the rows are read as one sequential stream. Interleaving 4 rows to share each x
// vector (as GEMV.swift does for long fp rows) left the quantized decode waiting on memory: a SmolLM2 row is
// 360 bytes of Q4_1, too short a stream for the prefetcher (Q4_1 decode, 2 threads: 41–43 → 62–68 tok/s).
//
// Per group of weights that share a scale d and a min m (32 weights, 16 for Q6_K) the dot product is
// factored as d·Σ q·x + m·Σx: the integers q are multiplied by x in an FMA chain and the scale is applied
// once per group, and Σx per group is computed once per call. The result differs from the dot product of
// x with the dequantized row only by float reassociation: within 1e-5 · Σ(|q·d| + |m|)·|x| (GEMMTests).
//
// Determinism: each output element's operations depend only on K, never on its chunk.

/// How the decode GEMV multiplies quantized weights with x:
/// - `exact`: dequantized in registers against fp32 x, the dot product of the stored weights with x up to
///   float reassociation (the default: logits within 1e-4 of the f32 reference on SmolLM2);
/// - `int8`: x quantized to 8 bits per 32 values (per 256 for the K-quants) and integer dot products
///   (GEMVInt8.swift, GEMVInt8K.swift), as ggml's CPU backend does: faster, and as far from exact as
///   llama.cpp's own logits (GEMVInt8.swift states the bound).
/// The GEMM (prefill, training) is exact either way.
public enum QuantizedDot: String, Sendable, CaseIterable {
    case exact, int8
    /// The 8-bit products are written with x86 intrinsics (AVX2); other CPUs have the exact product only.
    #if arch(x86_64)
    public static let int8Available = true
    #else
    public static let int8Available = false
    #endif
}
nonisolated(unsafe) public var quantizedDot = QuantizedDot.exact

/// Rows n0 ..< n1 of y (one task of a GEMVPlan), in the arithmetic `quantizedDot` names. Each task prepares
/// what it needs from x itself (group sums, or the 8-bit x: M·K values, small next to the (n1 − n0)·K weights
/// it decodes), so that it needs nothing prepared before the region.
func gemvQuantRows(
    _ x: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ n0: Int, _ n1: Int,
    _ y: UnsafeMutablePointer<Float>, _ accumulate: Bool
) {
    #if arch(x86_64)
    if quantizedDot == .int8 {
        switch W.type {
        case .q4_0: gemvInt8Rows(Q4_0.self, x, M, W, n0, n1, y, accumulate)
        case .q4_1: gemvInt8Rows(Q4_1.self, x, M, W, n0, n1, y, accumulate)
        case .q8_0: gemvInt8Rows(Q8_0.self, x, M, W, n0, n1, y, accumulate)
        case .q4_K: gemvInt8SuperRows(Q4_K.self, x, M, W, n0, n1, y, accumulate)
        case .q5_K: gemvInt8SuperRows(Q5_K.self, x, M, W, n0, n1, y, accumulate)
        case .q6_K: gemvInt8SuperRows(Q6_K.self, x, M, W, n0, n1, y, accumulate)
        case .f32, .f16, .bf16: fatalError("gemvQuantRows: \(W.type) is not a block format")
        }
        return
    }
    #endif
    struct Run: QuantVisitor {
        let x: UnsafePointer<Float>, M: Int, W: Weight, n0: Int, n1: Int, y: UnsafeMutablePointer<Float>,
            accumulate: Bool
        func visit<F: QuantFormat>(_ f: F.Type) { gemvQuantRows(F.self, x, M, W, n0, n1, y, accumulate) }
    }
    W.type.blockFormat!.visit(Run(x: x, M: M, W: W, n0: n0, n1: n1, y: y, accumulate: accumulate))
}

private func gemvQuantRows<F: QuantFormat>(
    _ f: F.Type, _ x: UnsafePointer<Float>, _ M: Int, _ W: Weight,
    _ n0: Int, _ n1: Int, _ y: UnsafeMutablePointer<Float>, _ accumulate: Bool
) {
    let K = W.cols, N = W.rows, G = F.groupSize, groups = K / G
    withScratch(floats: F.hasMin ? M * groups : 1) { sums in
        if F.hasMin {
            // sums[m, g] = Σ x[m, gG ..< gG+G]
            let xr = UnsafeRawPointer(x)
            for m in 0..<M {
                for g in 0..<groups {
                    var s = SIMD8<Float>()
                    for p in 0..<G / 8 {
                        s += xr.loadUnaligned(fromByteOffset: 4 * (m * K + g * G + 8 * p), as: SIMD8<Float>.self)
                    }
                    sums[m * groups + g] = s.sum()
                }
            }
        }
        let w = W.base, rb = W.rowBytes
        for m in 0..<M {
            let xm = x + m * K, sm = UnsafePointer(sums) + m * groups, ym = y + m * N
            if F.self == Q4_K.self {
                for n in n0..<n1 { store(ym, n, gemvQ4K1x1(xm, sm, K, w + n * rb), accumulate) }
            } else if F.self == Q6_K.self {
                for n in n0..<n1 { store(ym, n, gemvQ6K1x1(xm, K, w + n * rb), accumulate) }
            } else {
                for n in n0..<n1 { store(ym, n, gemvQ1x1(F.self, xm, sm, K, w + n * rb), accumulate) }
            }
        }
    }
}

/// The dot product of one x row (with its group sums) with one quantized W row. (Internal for the test that
/// checks the written-out K-quant versions below against it, bit for bit.)
@inline(__always)
func gemvQ1x1<F: QuantFormat>(
    _ f: F.Type, _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ K: Int,
    _ w0: UnsafeRawPointer
) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    var s0: Float = 0
    let xr = UnsafeRawPointer(x)
    let G = F.groupSize, P = G / 8, perBlock = F.blockElements / G
    for blk in 0..<K / F.blockElements {
        let b0 = w0 + blk * F.blockBytes, gs = F.groupScales(b0)
        for gi in 0..<perBlock {
            let e = blk * F.blockElements + gi * G
            var t0 = SIMD8<Float>(), t1 = SIMD8<Float>()
            var p = 0
            while p + 1 < P {
                let j = gi * P + p
                t0 = t0.addingProduct(
                    F.quants(b0, j), xr.loadUnaligned(fromByteOffset: 4 * (e + 8 * p), as: SIMD8<Float>.self))
                t1 = t1.addingProduct(
                    F.quants(b0, j + 1), xr.loadUnaligned(fromByteOffset: 4 * (e + 8 * p + 8), as: SIMD8<Float>.self))
                p += 2
            }
            if p < P {
                t0 = t0.addingProduct(
                    F.quants(b0, gi * P + p), xr.loadUnaligned(fromByteOffset: 4 * (e + 8 * p), as: SIMD8<Float>.self))
            }
            let d = SIMD8<Float>(repeating: gs.d[gi]), t = t0 + t1
            // Two accumulators, alternating over the row's groups (not within a block: Q4_1 has one group per block).
            if (e / G) & 1 == 0 { a0 = a0.addingProduct(t, d) } else { a1 = a1.addingProduct(t, d) }
            if F.hasMin { s0 = s0.addingProduct(gs.m[gi], sums[e / G]) }
        }
    }
    return (a0 + a1).sum() + s0
}

// MARK: the K-quants written out
//
// The generic gemvQ1x1 over a K-quant loops over a block's groups with the group's bit shift, byte offset and
// scale as variables: the scales go through the stack (a SIMD16 indexed by the group), the shifts take a register
// count, and the loop overhead is per 8 weights (`irm-bench gemv-cold`, Q4_K exact: 9 weights/ns on one core
// against 40 for the 8-bit path). These two are the same arithmetic in the same order as gemvQ1x1 (so the same
// bits) with every group's offsets, shifts and scale lanes constant: the group loops unrolled through
// @inline(__always) functions called with literal indices.

/// gemvQ1x1 for Q4_K: per block of 256, four runs of 32 bytes, whose low nibbles are group 2c (the even
/// groups: accumulator a0) and high nibbles group 2c + 1 (a1).
@inline(__always)
func gemvQ4K1x1(
    _ x: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ K: Int, _ w0: UnsafeRawPointer
) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    var s0: Float = 0
    let xr = UnsafeRawPointer(x), low = SIMD8<UInt32>(repeating: 0x0F)
    @inline(__always) func xv(_ e: Int) -> SIMD8<Float> {
        xr.loadUnaligned(fromByteOffset: 4 * e, as: SIMD8<Float>.self)
    }
    for blk in 0..<K / 256 {
        let b = w0 + blk * Q4_K.blockBytes, e0 = blk * 256, g0 = blk * 8
        let gs = scalesK4x8(b)
        let d8 = gs.d.lowHalf, m8 = gs.m.lowHalf
        @inline(__always) func run(_ c: Int) {
            let q0 = bytes8(b, 16 + 32 * c), q1 = bytes8(b, 24 + 32 * c)
            let q2 = bytes8(b, 32 + 32 * c), q3 = bytes8(b, 40 + 32 * c)
            let e = e0 + 64 * c
            var t0 = SIMD8<Float>().addingProduct(floats8(q0 & low), xv(e))
            var t1 = SIMD8<Float>().addingProduct(floats8(q1 & low), xv(e + 8))
            t0 = t0.addingProduct(floats8(q2 & low), xv(e + 16))
            t1 = t1.addingProduct(floats8(q3 & low), xv(e + 24))
            a0 = a0.addingProduct(t0 + t1, SIMD8(repeating: d8[2 * c]))
            s0 = s0.addingProduct(m8[2 * c], sums[g0 + 2 * c])
            var u0 = SIMD8<Float>().addingProduct(floats8(q0 &>> 4), xv(e + 32))
            var u1 = SIMD8<Float>().addingProduct(floats8(q1 &>> 4), xv(e + 40))
            u0 = u0.addingProduct(floats8(q2 &>> 4), xv(e + 48))
            u1 = u1.addingProduct(floats8(q3 &>> 4), xv(e + 56))
            a1 = a1.addingProduct(u0 + u1, SIMD8(repeating: d8[2 * c + 1]))
            s0 = s0.addingProduct(m8[2 * c + 1], sums[g0 + 2 * c + 1])
        }
        run(0); run(1); run(2); run(3)
    }
    return (a0 + a1).sum() + s0
}

/// gemvQ1x1 for Q6_K: 16 groups of 16 per block of 256; group g is parts 2g and 2g + 1 of Q6_K.quants (constant
/// after inlining), even groups into a0, odd into a1.
@inline(__always)
func gemvQ6K1x1(_ x: UnsafePointer<Float>, _ K: Int, _ w0: UnsafeRawPointer) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    let xr = UnsafeRawPointer(x)
    @inline(__always) func xv(_ e: Int) -> SIMD8<Float> {
        xr.loadUnaligned(fromByteOffset: 4 * e, as: SIMD8<Float>.self)
    }
    for blk in 0..<K / 256 {
        let b = w0 + blk * Q6_K.blockBytes, e0 = blk * 256
        @inline(__always) func group(_ g: Int) {
            let e = e0 + 16 * g
            let t0 = SIMD8<Float>().addingProduct(Q6_K.quants(b, 2 * g), xv(e))
            let t1 = SIMD8<Float>().addingProduct(Q6_K.quants(b, 2 * g + 1), xv(e + 8))
            let scale = SIMD8<Float>(repeating: Q6_K.scale(b, g).d)
            if g & 1 == 0 { a0 = a0.addingProduct(t0 + t1, scale) } else { a1 = a1.addingProduct(t0 + t1, scale) }
        }
        group(0); group(1); group(2); group(3); group(4); group(5); group(6); group(7)
        group(8); group(9); group(10); group(11); group(12); group(13); group(14); group(15)
    }
    return (a0 + a1).sum()
}
