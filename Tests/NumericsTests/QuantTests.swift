import XCTest
@testable import Numerics

let quantTypes: [WeightType] = [.q8_0, .q4_0, .q4_1, .q4_K, .q5_K, .q6_K]

/// Values with what quantizers must handle: blocks of different scales, all-positive and all-negative
/// groups (the _1 and K types' mins), a zero block and a single outlier.
private func awkwardValues(_ n: Int, _ rng: inout Rng) -> [Float] {
    var v = randomArray(n, &rng)
    for b in stride(from: 0, to: n, by: 32) {
        let kind = (b / 32) % 7
        for i in b..<min(n, b + 32) {
            switch kind {
            case 1: v[i] = abs(v[i]) * 3 + 1  // all positive
            case 2: v[i] = -abs(v[i]) * 0.01 - 0.02  // all negative, small
            case 3: v[i] = 0
            case 4: v[i] *= 40
            default: break
            }
        }
    }
    if n > 100 { v[100] = 250 }
    return v
}

/// `values` quantized as `type` (rows of `cols`), its dequantized values, and per element |q·d| + |m|
/// (the magnitude of the terms the factored GEMV adds).
private func quantized(_ values: [Float], rows: Int, cols: Int, _ type: WeightType) -> (Weight, [Float], [Float]) {
    let f = type.blockFormat!
    let buf = ByteBuffer(byteCount: rows * type.rowBytes(cols))
    values.withUnsafeBufferPointer { quantizeBlocks(f, $0.baseAddress!, buf.ptr, rows * cols) }
    var deq = [Float](repeating: .nan, count: rows * cols)
    deq.withUnsafeMutableBufferPointer { dequantizeBlocks(f, buf.ptr, $0.baseAddress!, rows * cols) }
    struct Terms: QuantVisitor {
        let p: UnsafeRawPointer, n: Int
        func visit<F: QuantFormat>(_ f: F.Type) -> [Float] {
            var out: [Float] = []
            for blk in 0..<n / F.blockElements {
                for j in 0..<F.blockElements / 8 {
                    let (q, d, m) = F.part(p + blk * F.blockBytes, j)
                    for l in 0..<8 { out.append(abs(q[l] * d) + abs(m)) }
                }
            }
            return out
        }
    }
    let terms = f.visit(Terms(p: buf.ptr, n: rows * cols))
    return (Weight(rows: rows, cols: cols, type: type, base: UnsafeRawPointer(buf.ptr), owner: buf), deq, terms)
}

/// The largest step (decoded group scale) each weight of one block may get, from the block's values; see
/// Quantize.swift. r: an fp16 scale rounded up is at most 2⁻¹⁰ above its real value.
private func stepBounds(_ type: WeightType, _ x: ArraySlice<Float>) -> [Float] {
    let r: Float = 1 + 1 / 1024
    let x = Array(x), amax = x.map(abs).max()!
    func groups(_ g: Int) -> [[Float]] { stride(from: 0, to: x.count, by: g).map { Array(x[$0..<$0 + g]) } }
    switch type {
    case .q8_0: return x.map { _ in amax / 127 * r }
    case .q4_0: return x.map { _ in amax / 7 * r }
    case .q4_1:
        let lo = x.min()!, hi = x.max()!
        return x.map { _ in (hi - lo + abs(lo) / 1024) / 15 * r }
    case .q4_K, .q5_K:
        let levels: Float = type == .q4_K ? 15 : 31
        let gs = groups(32), lows = gs.map { min(0, $0.min()!) }
        let dminStep = lows.map { -$0 }.max()! / 63 * r
        let needed = gs.indices.map { (gs[$0].max()! - lows[$0] + dminStep) / levels }
        let superStep = needed.max()! / 63 * r
        return needed.flatMap { n in [Float](repeating: n + superStep, count: 32) }
    case .q6_K:
        let needed = groups(16).map { $0.map(abs).max()! / 31 }
        let superStep = needed.max()! / 127 * r
        return needed.flatMap { n in [Float](repeating: n + superStep, count: 16) }
    default: preconditionFailure()
    }
}

final class QuantTests: XCTestCase {

    /// Every weight comes back within half a step of its group, the step no larger than the group's range
    /// over its levels (plus the scale grids' rounding), and `Weight.value`/`copyRow` read the same values.
    func testQuantizersRoundTripWithinTheirBound() {
        var rng = Rng(seed: 11)
        for type in quantTypes {
            let be = type.blockLayout.elements, rows = 3, cols = 4 * 256
            let x = awkwardValues(rows * cols, &rng)
            let (W, deq, _) = quantized(x, rows: rows, cols: cols, type)
            var worst: Float = 0, sumErr: Float = 0
            for b in stride(from: 0, to: x.count, by: be) {
                let bound = stepBounds(type, x[b..<b + be])
                let amax = x[b..<b + be].map(abs).max()!
                for i in 0..<be {
                    let err = abs(deq[b + i] - x[b + i])
                    let limit = 0.5 * bound[i] * (1 + 1e-5) + 1e-6 * amax
                    if !(err <= limit) {
                        XCTFail("\(type)[\(b + i)]: \(x[b + i]) came back as \(deq[b + i]) (limit \(limit))"); return
                    }
                    worst = max(worst, err / max(limit, 1e-30)); sumErr += err
                }
            }
            // The bound is used, not vacuous: some weight sits near half a step from its value.
            XCTAssertGreaterThan(worst, 0.3, "\(type)")
            for (r, c) in [(0, 0), (1, 257), (2, 1023)] {
                XCTAssertEqual(W.value(r, c), deq[r * cols + c], "\(type) value")
            }
            var row = [Float](repeating: .nan, count: cols)
            row.withUnsafeMutableBufferPointer { W.copyRow(2, into: $0.baseAddress!) }
            XCTAssertEqual(row, Array(deq[(2 * cols)...]), "\(type) copyRow")
            print("quantize \(type): worst error / bound = \(worst), mean |error| = \(sumErr / Float(x.count))")
        }
    }

    /// Forward (GEMM and GEMV) and backward products with quantized W against the same products with the
    /// dequantized W in fp32: the GEMM forms dequantize while packing, so they are bit-identical to the fp32
    /// GEMM; the GEMV is within 1e-5 · Σ(|q·d| + |m|)·|x| of the exact dot product. Odd shapes: rows not a
    /// multiple of 4, 6 or 16, and K not a multiple of 256 for the 32-weight types.
    func testQuantizedProductsMatchTheDequantizedReference() {
        onEveryKernelPath(checkQuantizedProductsMatchTheDequantizedReference)
    }
    func checkQuantizedProductsMatchTheDequantizedReference() {
        var rng = Rng(seed: 12)
        let saved = (gemvMaxRows, gemvMaxRowsQuantized)
        defer { (gemvMaxRows, gemvMaxRowsQuantized) = saved }
        for type in quantTypes {
            let ks = type.blockLayout.elements == 32 ? [32, 96, 160, 544] : [256, 768]
            for N in [1, 5, 17, 67] {
                for K in ks {
                    let (W, wv, terms) = quantized(awkwardValues(N * K, &rng), rows: N, cols: K, type)
                    let Wf = Weight(rows: N, cols: K, buffer: FloatBuffer(wv))
                    for M in (N == 17 ? [1, 2, 7, 130] : [1, 3]) {
                        let x = randomArray(M * K, &rng), dy = randomArray(M * N, &rng), y0 = randomArray(M * N, &rng)
                        var ref = [Double](repeating: 0, count: M * N), magGemm = ref, magGemv = ref
                        for m in 0..<M {
                            for n in 0..<N {
                                var s = Double(y0[m * N + n]), a = abs(s), b = a
                                for k in 0..<K {
                                    let xv = Double(x[m * K + k]), t = xv * Double(wv[n * K + k])
                                    s += t; a += abs(t); b += abs(xv) * Double(terms[n * K + k])
                                }
                                ref[m * N + n] = s; magGemm[m * N + n] = a; magGemv[m * N + n] = b
                            }
                        }
                        func forward(_ w: Weight) -> [Float] {
                            var y = y0
                            x.withUnsafeBufferPointer { xp in
                                y.withUnsafeMutableBufferPointer { yp in
                                    matmul(xp.baseAddress!, M, w, yp.baseAddress!, accumulate: true)
                                }
                            }
                            return y
                        }
                        let what = "\(type) M=\(M) N=\(N) K=\(K)"
                        (gemvMaxRows, gemvMaxRowsQuantized) = (0, 0)
                        let yq = forward(W)
                        XCTAssertEqual(
                            yq.map(\.bitPattern), forward(Wf).map(\.bitPattern), "[\(kernelPath)] gemm \(what)")
                        check(yq, ref, magGemm, "gemm \(what)")
                        gemvMaxRowsQuantized = Int.max
                        check(forward(W), ref, magGemv, "gemv \(what)")

                        var dref = [Double](repeating: 0, count: M * K), dmag = dref
                        for m in 0..<M {
                            for k in 0..<K {
                                var s = 0.0, a = 0.0
                                for n in 0..<N {
                                    let t = Double(dy[m * N + n]) * Double(wv[n * K + k]); s += t; a += abs(t)
                                }
                                dref[m * K + k] = s; dmag[m * K + k] = a
                            }
                        }
                        func backward(_ w: Weight) -> [Float] {
                            var dx = [Float](repeating: .nan, count: M * K)
                            dy.withUnsafeBufferPointer { p in
                                dx.withUnsafeMutableBufferPointer { q in
                                    matmulBackward(p.baseAddress!, M, w, q.baseAddress!)
                                }
                            }
                            return dx
                        }
                        let dxq = backward(W)
                        XCTAssertEqual(
                            dxq.map(\.bitPattern), backward(Wf).map(\.bitPattern), "[\(kernelPath)] backward \(what)")
                        check(dxq, dref, dmag, "backward \(what)")
                    }
                }
            }
        }
    }

    /// The exact decode GEMV's written-out Q4_K and Q6_K row products are the generic one's arithmetic in the same
    /// order: equal bit for bit (on rows with large, small and zero scales: awkwardValues).
    func testWrittenOutKQuantRowsEqualTheGenericOne() {
        var rng = Rng(seed: 13)
        for type in [WeightType.q4_K, .q6_K] {
            for K in [256, 768] {
                let N = 9
                let (W, _, _) = quantized(awkwardValues(N * K, &rng), rows: N, cols: K, type)
                let x = randomArray(K, &rng)
                let G = type == .q4_K ? 32 : 16
                // Σx per group of G, as gemvQuantRows prepares them (the min terms of Q4_K).
                let sums = (0..<K / G).map { g -> Float in
                    var s = SIMD8<Float>()
                    for p in 0..<G / 8 { s += SIMD8<Float>(x[(g * G + 8 * p)..<(g * G + 8 * p + 8)]) }
                    return s.sum()
                }
                for n in 0..<N {
                    let row = W.base + n * W.rowBytes
                    let (written, generic) = x.withUnsafeBufferPointer { xp in
                        sums.withUnsafeBufferPointer { sp in
                            type == .q4_K
                                ? (
                                    gemvQ4K1x1(xp.baseAddress!, sp.baseAddress!, K, row),
                                    gemvQ1x1(Q4_K.self, xp.baseAddress!, sp.baseAddress!, K, row)
                                )
                                : (
                                    gemvQ6K1x1(xp.baseAddress!, K, row),
                                    gemvQ1x1(Q6_K.self, xp.baseAddress!, sp.baseAddress!, K, row)
                                )
                        }
                    }
                    XCTAssertEqual(
                        written.bitPattern, generic.bitPattern, "\(type) K=\(K) row \(n): \(written) vs \(generic)")
                }
            }
        }
    }

    /// The 8-bit decode GEMV (`quantizedDot = .int8`) is the dot product of the dequantized W with x quantized
    /// to 8 bits per 32 values (d = max|x|/127, q = round-to-even(x·127/max|x|)), up to reassociation; and it is
    /// within GEMVInt8.swift's stated bound ½ Σ_c d_c Σ_{k∈c}|w_k| of the product with the fp32 x. x has a zero
    /// chunk and an outlier; K not a multiple of 256 for the 32-weight types, rows not a multiple of 4.
    func testInt8GEMVIsTheProductWithTheQuantizedX() throws {
        try XCTSkipUnless(QuantizedDot.int8Available, "the 8-bit GEMV is x86-only")
        var rng = Rng(seed: 15)
        let saved = (gemvMaxRowsQuantized, quantizedDot)
        defer { (gemvMaxRowsQuantized, quantizedDot) = saved }
        gemvMaxRowsQuantized = Int.max
        for type in quantTypes {
            let ks = type.blockLayout.elements == 32 ? [32, 160, 544] : [256, 768]
            var worstOfBound = 0.0
            for N in [1, 6, 17] {
                for K in ks {
                    for M in [1, 3] {
                        let (W, wv, terms) = quantized(awkwardValues(N * K, &rng), rows: N, cols: K, type)
                        var x = randomArray(M * K, &rng)
                        for k in 0..<min(32, K) { x[k] = 0 }
                        if K > 40 { x[40] = 30 }
                        // The independent 8-bit x: one scale per 32 values for the 32-weight formats (ggml's q8_1), per
                        // 256 for the K-quants (q8_K).
                        let L = type.blockLayout.elements == 32 ? 32 : 256
                        var xq = [Double](repeating: 0, count: M * K), dx = [Double](repeating: 0, count: M * K / L)
                        for c in 0..<M * K / L {
                            let amax = x[L * c..<L * c + L].map(abs).max()!
                            let inv: Float = amax > 0 ? 127 / amax : 0
                            dx[c] = Double(amax / 127)
                            for k in L * c..<L * c + L {
                                xq[k] = Double((x[k] * inv).rounded(.toNearestOrEven)) * dx[c]
                            }
                        }
                        let y0 = randomArray(M * N, &rng)
                        var ref = [Double](repeating: 0, count: M * N), mag = ref, exact = ref, bound = ref
                        for m in 0..<M {
                            for n in 0..<N {
                                var s = Double(y0[m * N + n]), a = abs(s), e = s, b = 0.0
                                for k in 0..<K {
                                    let w = Double(wv[n * K + k])
                                    s += w * xq[m * K + k]; a += Double(terms[n * K + k]) * abs(xq[m * K + k])
                                    e += w * Double(x[m * K + k]); b += 0.5 * dx[(m * K + k) / L] * abs(w)
                                }
                                ref[m * N + n] = s; mag[m * N + n] = a; exact[m * N + n] = e; bound[m * N + n] = b
                            }
                        }
                        var y = y0
                        quantizedDot = .int8
                        x.withUnsafeBufferPointer { xp in
                            y.withUnsafeMutableBufferPointer {
                                matmul(xp.baseAddress!, M, W, $0.baseAddress!, accumulate: true)
                            }
                        }
                        let what = "\(type) M=\(M) N=\(N) K=\(K)"
                        check(y, ref, mag, "int8 gemv \(what)")
                        for i in 0..<M * N {
                            let err = abs(Double(y[i]) - exact[i]), limit = bound[i] + 1e-5 * mag[i]
                            XCTAssert(err <= limit, "\(what)[\(i)]: |y − x·w| = \(err) over the bound \(limit)")
                            worstOfBound = max(worstOfBound, err / max(limit, 1e-30))
                        }
                    }
                }
            }
            // The 8-bit path is the one measured: its error is a visible part of the bound.
            XCTAssertGreaterThan(worstOfBound, 0.01, "\(type)")
            print("int8 gemv \(type): worst |y − x·w| / bound = \(worstOfBound)")
        }
    }

    /// `groupScales` (every group's scale and min at once, vectorised for Q4_K/Q5_K) gives `scale(b, g)` bit for bit.
    func testGroupScalesEqualTheOneGroupDecoder() {
        var rng = Rng(seed: 16)
        struct Compare: QuantVisitor {
            let p: UnsafeRawPointer, blocks: Int
            func visit<F: QuantFormat>(_ f: F.Type) -> Int {
                var checked = 0
                for blk in 0..<blocks {
                    let b = p + blk * F.blockBytes, gs = F.groupScales(b)
                    for g in 0..<F.blockElements / F.groupSize {
                        let (d, m) = F.scale(b, g)
                        // Bit for bit, NaNs (from random fp16 scales) as NaNs.
                        XCTAssert(
                            gs.d[g].bitPattern == d.bitPattern || (gs.d[g].isNaN && d.isNaN),
                            "block \(blk) group \(g): d \(gs.d[g]) vs \(d)")
                        XCTAssert(
                            gs.m[g].bitPattern == m.bitPattern || (gs.m[g].isNaN && m.isNaN),
                            "block \(blk) group \(g): m \(gs.m[g]) vs \(m)")
                        checked += 1
                    }
                }
                return checked
            }
        }
        for type in quantTypes {
            let cols = 4 * 256
            let (W, _, _) = quantized(awkwardValues(cols, &rng), rows: 1, cols: cols, type)
            // Random bytes too: every bit pattern of the packed K-quant scales.
            let junk = ByteBuffer(byteCount: W.rowBytes)
            for i in 0..<W.rowBytes {
                junk.ptr.storeBytes(of: UInt8(truncatingIfNeeded: rng.int(256)), toByteOffset: i, as: UInt8.self)
            }
            for p in [W.base, UnsafeRawPointer(junk.ptr)] {
                let n = type.blockFormat!.visit(Compare(p: p, blocks: cols / type.blockLayout.elements))
                XCTAssertEqual(n, cols / (type == .q6_K ? 16 : 32), "\(type)")
            }
        }
    }

    /// Shapes large enough to split across threads: the same bits whatever the thread count.
    func testQuantizedProductsDoNotDependOnThreads() { onEveryKernelPath(checkQuantizedProductsDoNotDependOnThreads) }
    func checkQuantizedProductsDoNotDependOnThreads() {
        var rng = Rng(seed: 13)
        let saved = numThreads, savedRows = gemvMaxRowsQuantized, savedDot = quantizedDot
        defer { numThreads = saved; gemvMaxRowsQuantized = savedRows; quantizedDot = savedDot }
        for type in quantTypes {
            for dot in QuantizedDot.allCases where dot == .exact || QuantizedDot.int8Available {
                quantizedDot = dot
                let (N, K) = (301, 1024)
                let (W, _, _) = quantized(awkwardValues(N * K, &rng), rows: N, cols: K, type)
                for (M, gemvRows) in [(1, Int.max), (3, Int.max), (40, 0)] {
                    gemvMaxRowsQuantized = gemvRows
                    let x = randomArray(M * K, &rng)
                    func run() -> [UInt32] {
                        var y = [Float](repeating: 0, count: M * N)
                        x.withUnsafeBufferPointer { xp in
                            y.withUnsafeMutableBufferPointer { matmul(xp.baseAddress!, M, W, $0.baseAddress!) }
                        }
                        return y.map(\.bitPattern)
                    }
                    numThreads = 1
                    let one = run()
                    for t in [2, 3] {
                        numThreads = t; XCTAssert(run() == one, "[\(kernelPath)] \(type) \(dot) M=\(M) threads=\(t)")
                    }
                }
            }
        }
    }

    /// Quantized weights in the shared regions of a decode step (q/k/v; gate/up + SwiGLU): the same bits as
    /// separate products, also for a gate and up of different block types (mixed files such as Q4_K_M).
    func testSharedRegionsWithQuantizedAndMixedWeights() {
        var rng = Rng(seed: 14)
        let saved = numThreads
        defer { numThreads = saved }
        let K = 512, N = 600
        let ws = [WeightType.q4_K, .q6_K, .q8_0].map { quantized(awkwardValues(N * K, &rng), rows: N, cols: K, $0).0 }
        for M in [1, 3, 9] {
            let x = FloatBuffer(randomArray(M * K, &rng))
            numThreads = 1
            let separate = ws.map { w -> [UInt32] in
                let y = FloatBuffer(count: M * N); matmul(x.ptr, M, w, y.ptr); return y.array.map(\.bitPattern)
            }
            for t in [1, 2, 3] {
                numThreads = t
                let ys = ws.map { _ in FloatBuffer([Float](repeating: .nan, count: M * N)) }
                matmul(x.ptr, M, zip(ws, ys).map { (W: $0.0, y: $0.1.ptr) })
                for j in ws.indices {
                    XCTAssert(ys[j].array.map(\.bitPattern) == separate[j], "M=\(M) weight \(j) threads \(t)")
                }
                // gate Q4_K, up Q6_K: the pair cannot share blocks, and still combines every element once.
                let g = FloatBuffer(count: M * N), u = FloatBuffer(count: M * N), seen = FloatBuffer(count: M * N)
                let sp = SendablePointer(seen.ptr)
                matmulPair(x.ptr, M, ws[0], g.ptr, ws[1], u.ptr) { rows, cols in
                    for m in rows { for n in cols { sp.p[m * N + n] += 1 } }
                }
                XCTAssert(
                    g.array.map(\.bitPattern) == separate[0] && u.array.map(\.bitPattern) == separate[1],
                    "pair M=\(M) threads \(t)")
                XCTAssertEqual(seen.array, [Float](repeating: 1, count: M * N), "pair M=\(M) threads \(t)")
            }
        }
    }
}
