// The neuron map's screen: many vectors read through the LM head in 8-bit integers, each value with a proven
// bound on its distance from the exact fp32 logit the blocked GEMM computes, so that the exact top-K and
// bottom-K are found by rescoring only the tokens the bound cannot rule out (Analysis/LMHeadDecoder.swift).
//
//   head row h [K] (fp32, as the GEMM sees it):  s = max|h| / 127,  q = round(h / s) ∈ −127…127,  ĥ = s·q
//   vector x [K]:                               t = max|x| / 127,  p = round(x / t),             x̂ = t·p
//   stored as u = p + 128 (unsigned, for vpdpbusd);  S = Σ u·q = p·q + 128·Σq exactly in int32
//   screen value  a = (S − 128·Σq) · (t·s)  = ĥ·x̂ up to float rounding (≤ 3u·|a|, u = 2⁻²⁴)
//   h·x − ĥ·x̂ = ĥ·(x − x̂) + (h − ĥ)·x      ⇒  |h·x − ĥ·x̂| ≤ ‖ĥ‖·‖x − x̂‖ + ‖h − ĥ‖·‖x‖   (Cauchy–Schwarz)
//   the GEMM's fp32 l differs from h·x by ≤ γ·Σ|h_k·x_k| ≤ γ·‖h‖·‖x‖,  γ = n·u / (1 − n·u), n = K + K slices + 1
// so |l − a| ≤ b = (‖ĥ‖·‖x − x̂‖ + (‖h − ĥ‖ + γ·‖h‖)·‖x‖)·(1 + 10⁻⁵) + 10⁻⁶·|a| + 10⁻³⁰,
// the norms summed in Double and rounded up, the factors covering the float rounding of a and of b itself.
//
// Cost: the screen is one int8 product (4 bytes per vpdpbusd lane: 4× the fp32 FMA's multiply-adds per
// instruction); on random weights at Llama-3's shape the bound leaves about 0.6 % of the vocabulary to rescore.
// Only the AVX-512 VNNI instance is fast; the portable one (KernelsPortable) exists to test the code anywhere.
import Foundation
#if canImport(KernelsVNNI)
import KernelsVNNI
#endif
import KernelsPortable

/// Which kernel the 8-bit screen runs: vpdpbusd (AVX-512 VNNI) or plain integer SIMD.
public enum Int8ScreenKernel: String, Sendable {
    case vnni, portable

    /// The fast kernel when this CPU has it and the avx512 path is in use (IRM_ISA=avx2 turns it off too).
    public static var best: Int8ScreenKernel? {
        #if canImport(KernelsVNNI)
        if kernelPath == .avx512 && CPUInfo.current.features.contains("avx512_vnni") { return .vnni }
        #endif
        return nil
    }
}

/// The rounding-error factor γ = n·u / (1 − n·u) of the GEMM's fp32 dot products of depth K on the path in use.
public func gemmDotErrorFactor(K: Int) -> Double {
    let n = Double(K + GEMMPlan.kSlices(K: K, kc: gemmBlocking(kernelPath).kc).count + 1), u = 0x1p-24
    return n * u / (1 - n * u)
}

/// Σ v² of n floats in Double, its square root rounded up to a Float.
@inline(__always)
private func normUp(_ sumSquares: Double) -> Float { Float(sumSquares.squareRoot() * (1 + 1e-12)).nextUp }

/// Quantizes v[0..<K] to 8 bits with scale max|v| / 127 (round to nearest even), calling `put(k, q)` for each
/// value; returns the scale. `residual(k, q)` may then read v − scale·q.
@inline(__always)
private func quantize8(_ v: (Int) -> Double, _ K: Int, _ put: (Int, Int) -> Void) -> Float {
    var m = 0.0
    for k in 0..<K { m = max(m, abs(v(k))) }
    let s = Float(m) / 127
    for k in 0..<K {
        put(k, s > 0 ? Int(max(-127, min(127, (v(k) / Double(s)).rounded(.toNearestOrEven)))) : 0)
    }
    return s
}

/// An LM head [V, K] quantized to 8 bits per row in two stages (h ≈ s·q + s₂·r, r the rounded residual), with
/// the per-row numbers the bounds need. Stage 1 is packed in 32-column panels for the screen's product
/// (Kernels/Int8Screen.swift); each row's q and r are also kept row by row (`rowBytes` each, zero-padded to a
/// multiple of 64) for the second stage. 3·V·K bytes in all.
public final class Int8Head: @unchecked Sendable {
    public let vocab: Int, dim: Int, k4: Int, panels: Int, rowBytes: Int
    let packed: ByteBuffer, rows: ByteBuffer
    /// Per row: s, 128·Σq, ‖s·q‖ and ‖h − s·q‖ + γ‖h‖ (stage 1); s₂, 128·Σr, ‖s·q + s₂·r‖ and ‖h − s·q − s₂·r‖ + γ‖h‖
    /// (stage 2). Norms rounded up; padding rows are zero. Pointers into storage the head owns, not arrays: the
    /// screen's workers read them per token, and an array read may retain its buffer (an atomic shared by both
    /// threads).
    public let scale: UnsafePointer<Float>, offset: UnsafePointer<Int32>, normHat: UnsafePointer<Float>,
        normErr: UnsafePointer<Float>
    public let scale2: UnsafePointer<Float>, offset2: UnsafePointer<Int32>, normHat2: UnsafePointer<Float>,
        normErr2: UnsafePointer<Float>
    private let fbuf: UnsafeMutablePointer<Float>, obuf: UnsafeMutablePointer<Int32>

    public init(head: Weight) {
        let V = head.rows, K = head.cols
        vocab = V; dim = K
        let k4 = (K + 3) / 4, panels = (V + int8PanelColumns - 1) / int8PanelColumns, L = (K + 63) / 64 * 64
        self.k4 = k4; self.panels = panels; rowBytes = L
        let packed = ByteBuffer(byteCount: panels * k4 * 128), rows = ByteBuffer(byteCount: 2 * V * L)
        self.packed = packed; self.rows = rows
        let n = panels * int8PanelColumns
        // Per-row numbers, filled by the panel tasks: 6 float columns and 2 int columns of n.
        let fbuf = UnsafeMutablePointer<Float>.allocate(capacity: 6 * n),
            obuf = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * n)
        fbuf.initialize(repeating: 0, count: 6 * n); obuf.initialize(repeating: 0, count: 2 * n)
        let gamma = gemmDotErrorFactor(K: K)
        let out = SendableRawPointer(packed.ptr), rp = SendableRawPointer(rows.ptr)
        let fs = (0..<6).map { SendablePointer(fbuf + $0 * n) }, os = (0..<2).map { SendablePointer(obuf + $0 * n) }
        parallelFor(panels) { p in
            let h = UnsafeMutablePointer<Float>.allocate(capacity: K),
                d = UnsafeMutablePointer<Double>.allocate(capacity: K)
            defer { h.deallocate(); d.deallocate() }
            for c in 0..<int8PanelColumns {
                let v = p * int8PanelColumns + c
                guard v < V else { break }
                head.copyRow(v, into: h)
                // Column c's 4 bytes of group g sit at byte (p·K4 + g)·128 + 4c of the packed panels.
                let panel = out.p + p * k4 * 128 + 4 * c, qRow = rp.p + 2 * v * L, rRow = qRow + L
                var sumQ = 0, sumR = 0, hat2 = 0.0, h2 = 0.0
                let s = quantize8({ Double(h[$0]) }, K) { k, q in
                    panel.storeBytes(of: Int8(q), toByteOffset: (k / 4) * 128 + k % 4, as: Int8.self)
                    qRow.storeBytes(of: Int8(q), toByteOffset: k, as: Int8.self)
                    sumQ += q
                }
                for k in 0..<K {
                    let hat = Double(s) * Double(qRow.load(fromByteOffset: k, as: Int8.self))
                    d[k] = Double(h[k]) - hat  // h − s·q
                    hat2 += hat * hat; h2 += Double(h[k]) * Double(h[k])
                }
                var err1 = 0.0
                for k in 0..<K { err1 += d[k] * d[k] }
                var hat22 = 0.0, err2 = 0.0
                let s2 = quantize8({ d[$0] }, K) { k, r in
                    rRow.storeBytes(of: Int8(r), toByteOffset: k, as: Int8.self)
                    sumR += r
                }
                for k in 0..<K {
                    let r = Double(rRow.load(fromByteOffset: k, as: Int8.self)) * Double(s2)
                    let hat = Double(h[k]) - d[k] + r
                    hat22 += hat * hat; err2 += (d[k] - r) * (d[k] - r)
                }
                let gh = gamma * h2.squareRoot()
                fs[0].p[v] = s; os[0].p[v] = Int32(128 * sumQ)
                fs[1].p[v] = normUp(hat2); fs[2].p[v] = Float((err1.squareRoot() + gh) * (1 + 1e-12)).nextUp
                fs[3].p[v] = s2; os[1].p[v] = Int32(128 * sumR)
                fs[4].p[v] = normUp(hat22); fs[5].p[v] = Float((err2.squareRoot() + gh) * (1 + 1e-12)).nextUp
            }
        }
        self.fbuf = fbuf; self.obuf = obuf
        scale = UnsafePointer(fbuf); normHat = UnsafePointer(fbuf + n); normErr = UnsafePointer(fbuf + 2 * n)
        scale2 = UnsafePointer(fbuf + 3 * n); normHat2 = UnsafePointer(fbuf + 4 * n);
        normErr2 = UnsafePointer(fbuf + 5 * n)
        offset = UnsafePointer(obuf); offset2 = UnsafePointer(obuf + n)
    }

    deinit { fbuf.deallocate(); obuf.deallocate() }
}

/// A block of M vectors x [M, K] quantized in the same two stages (x ≈ t·p + t₂·e), stored offset by 128 as
/// unsigned bytes u = p + 128 and e + 128 (`rowBytes` each, padded with 128 = 0), with t, t₂, ‖x − t·p‖,
/// ‖x − t·p − t₂·e‖ and ‖x‖ (rounded up) per row.
public final class ScreenRows: @unchecked Sendable {
    public let count: Int, rowBytes: Int
    let u: ByteBuffer, e: ByteBuffer
    /// Per row (pointers into storage the rows own, as Int8Head's).
    public let scale: UnsafeMutablePointer<Float>, normErr: UnsafeMutablePointer<Float>,
        norm: UnsafeMutablePointer<Float>,
        scale2: UnsafeMutablePointer<Float>, normErr2: UnsafeMutablePointer<Float>

    deinit { scale.deallocate() }

    init(_ x: UnsafePointer<Float>, _ M: Int, K: Int, rowBytes L: Int) {
        count = M; rowBytes = L
        u = ByteBuffer(byteCount: max(1, M * L)); e = ByteBuffer(byteCount: max(1, M * L))
        u.ptr.initializeMemory(as: UInt8.self, repeating: 128, count: M * L)
        e.ptr.initializeMemory(as: UInt8.self, repeating: 128, count: M * L)
        let f = UnsafeMutablePointer<Float>.allocate(capacity: max(1, 5 * M))
        f.initialize(repeating: 0, count: max(1, 5 * M))
        scale = f; normErr = f + M; norm = f + 2 * M; scale2 = f + 3 * M; normErr2 = f + 4 * M
        let d = UnsafeMutablePointer<Double>.allocate(capacity: max(1, K))
        defer { d.deallocate() }
        for i in 0..<M {
            let xr = x + i * K, ur = u.ptr + i * L, er = e.ptr + i * L
            var x2 = 0.0, err1 = 0.0, err2 = 0.0
            let t = quantize8({ Double(xr[$0]) }, K) { k, p in
                ur.storeBytes(of: UInt8(p + 128), toByteOffset: k, as: UInt8.self)
            }
            for k in 0..<K {
                d[k] = Double(xr[k]) - Double(t) * Double(Int(ur.load(fromByteOffset: k, as: UInt8.self)) - 128)
                x2 += Double(xr[k]) * Double(xr[k]); err1 += d[k] * d[k]
            }
            let t2 = quantize8({ d[$0] }, K) { k, q in
                er.storeBytes(of: UInt8(q + 128), toByteOffset: k, as: UInt8.self)
            }
            for k in 0..<K {
                let r = d[k] - Double(t2) * Double(Int(er.load(fromByteOffset: k, as: UInt8.self)) - 128)
                err2 += r * r
            }
            scale[i] = t; normErr[i] = normUp(err1); norm[i] = normUp(x2); scale2[i] = t2; normErr2[i] = normUp(err2)
        }
    }
}

/// Stage 1: a[i, v] (row stride `ldo`, v < vocab) = the screen value of row i of x [M, K] against head row v.
/// Returns the quantized rows, which stage 2 (`int8Refine`) reads. `kernel` picks the instance (tests force
/// `.portable`).
public func int8Screen(
    _ x: UnsafePointer<Float>, _ M: Int, _ head: Int8Head, _ a: UnsafeMutablePointer<Float>, ldo: Int,
    kernel: Int8ScreenKernel
) -> ScreenRows {
    let k4 = head.k4, lda = head.rowBytes
    let rows = ScreenRows(x, M, K: head.dim, rowBytes: lda)
    // Tasks: runs of head panels of at most ~256 KiB, claimed dynamically; each covers every row.
    let chunk = max(1, min(8, 262_144 / (k4 * 128)))
    let tasks = (head.panels + chunk - 1) / chunk
    let V = head.vocab
    let av = SendablePointer(a), u = SendableRawPointer(rows.u.ptr), hp = SendableRawPointer(head.packed.ptr)
    let ts = SendableConstPointer(UnsafePointer(rows.scale)), ss = SendableConstPointer(head.scale)
    let os = SendableConstPointer(head.offset)
    parallelFor(tasks) { task in
        let p0 = task * chunk, p1 = min(head.panels, p0 + chunk)
        let cols = (p1 - p0) * int8PanelColumns, c0 = p0 * int8PanelColumns
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 6 * cols) { tmp in
            let s = tmp.baseAddress!
            var i = 0
            while i < M {
                let R = min(6, M - i)
                let xu = UnsafeRawPointer(u.p + i * lda), panelsRange = p0..<p1
                switch kernel {
                case .vnni:
                    #if canImport(KernelsVNNI)
                    KernelsVNNI.int8ScreenChunk(
                        M: R, k4: k4, xu, lda: lda, UnsafeRawPointer(hp.p), panels: panelsRange, s,
                        ldo: cols)
                    #else
                    fatalError("int8Screen: the VNNI kernel is not in this build")
                    #endif
                case .portable:
                    KernelsPortable.int8ScreenChunk(
                        M: R, k4: k4, xu, lda: lda, UnsafeRawPointer(hp.p), panels: panelsRange, s,
                        ldo: cols)
                }
                for r in 0..<R {
                    let t = ts.p[i + r], dst = av.p + (i + r) * ldo, src = s + r * cols
                    for j in 0..<min(cols, V - c0) {
                        let v = c0 + j
                        dst[v] = Float(src[j] &- os.p[v]) * (t * ss.p[v])
                    }
                }
                i += R
            }
        }
    }
    return rows
}

/// Stage 2 for row i of a screened block against head row v: the two-stage value a₂ = ĥ₂·x̂₂ (ĥ₂ = s·q + s₂·r,
/// x̂₂ = t·p + t₂·e, four exact integer dots) and its bound b₂ ≥ |l − a₂| (the same argument as stage 1 with the
/// residuals of the second stage; about 1/100 of stage 1's, so few tokens survive it).
public func int8Refine(_ rows: ScreenRows, _ i: Int, _ head: Int8Head, _ v: Int, kernel: Int8ScreenKernel) -> (
    a: Float, bound: Float
) {
    let L = head.rowBytes
    let u = UnsafeRawPointer(rows.u.ptr + i * L), e = UnsafeRawPointer(rows.e.ptr + i * L)
    let q = UnsafeRawPointer(head.rows.ptr + 2 * v * L), r = q + L
    let d: (uq: Int32, ur: Int32, eq: Int32, er: Int32)
    switch kernel {
    case .vnni:
        #if canImport(KernelsVNNI)
        d = KernelsVNNI.int8Dots2x2(u, e, q, r, n64: L / 64)
        #else
        fatalError("int8Refine: the VNNI kernel is not in this build")
        #endif
    case .portable: d = KernelsPortable.int8Dots2x2(u, e, q, r, n64: L / 64)
    }
    let s = Double(head.scale[v]), s2 = Double(head.scale2[v]), t = Double(rows.scale[i]), t2 = Double(rows.scale2[i])
    let oq = head.offset[v], or = head.offset2[v]
    let a =
        s * t * Double(d.uq &- oq) + s2 * t * Double(d.ur &- or) + s * t2 * Double(d.eq &- oq) + s2 * t2
        * Double(d.er &- or)
    let af = Float(a)
    return (
        af,
        int8ScreenBound(
            a: af, rowErr: rows.normErr2[i], rowNorm: rows.norm[i], headHat: head.normHat2[v], headErr: head.normErr2[v]
        )
    )
}

/// The bound b on |l − a| for one (row, head row) pair (see the top of this file).
@inline(__always)
public func int8ScreenBound(
    a: Float, rowErr: Float, rowNorm: Float, headHat: Float, headErr: Float
) -> Float {
    (headHat * rowErr + headErr * rowNorm) * (1 + 1e-5) + 1e-6 * abs(a) + 1e-30
}

/// The same for 8 head rows at once: the same operations lane by lane (no fused multiply-adds), so the same bits.
@inline(__always)
public func int8ScreenBound(
    a: SIMD8<Float>, rowErr: Float, rowNorm: Float, headHat: SIMD8<Float>, headErr: SIMD8<Float>
) -> SIMD8<Float> {
    let absA = unsafeBitCast(unsafeBitCast(a, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    return (headHat * rowErr + headErr * rowNorm) * (1 + 1e-5) + 1e-6 * absA + 1e-30
}

/// out[j] = the value the blocked GEMM (`matmulGEMM`) writes for x [K] against row ids[j] of W [N, K], computed
/// alone: per K slice of the path in use one FMA chain from 0, the slices added in order. Bit for bit the GEMM's
/// element, because every element of a GEMM tile is exactly that (GEMMKernel.swift). 8 rows at a time.
public func gemmRowElements(
    _ x: UnsafePointer<Float>, _ W: Weight, ids: UnsafePointer<Int32>, count: Int, _ out: UnsafeMutablePointer<Float>
) {
    let K = W.cols
    guard count > 0 else { return }
    let (nK, step) = GEMMPlan.kSlices(K: K, kc: gemmBlocking(kernelPath).kc)
    // Called once per screened vector: the widened rows come from the scratch pool (a fresh 8·K floats per call
    // would be a new mapping, page-faulted, at K = 4096), and the 8 row pointers are made once.
    withScratch(floats: 8 * K) { rows in
        var ptrs = [UnsafePointer<Float>](repeating: UnsafePointer(rows), count: 8)
        var g = 0
        while g < count {
            let n = min(8, count - g)
            for j in 0..<n {
                let id = Int(ids[g + j])
                if W.type == .f32 {
                    ptrs[j] = UnsafePointer(W.base.assumingMemoryBound(to: Float.self) + id * K)
                } else {
                    W.copyRow(id, into: rows + j * K)
                    ptrs[j] = UnsafePointer(rows + j * K)
                }
            }
            for j in n..<8 { ptrs[j] = ptrs[0] }
            let p0 = ptrs[0], p1 = ptrs[1], p2 = ptrs[2], p3 = ptrs[3], p4 = ptrs[4], p5 = ptrs[5], p6 = ptrs[6],
                p7 = ptrs[7]
            var total = SIMD8<Float>()
            for kb in 0..<nK {
                let k0 = kb * step, k1 = min(K, k0 + step)
                var acc = SIMD8<Float>()
                for k in k0..<k1 {
                    let b = SIMD8<Float>(p0[k], p1[k], p2[k], p3[k], p4[k], p5[k], p6[k], p7[k])
                    acc = acc.addingProduct(SIMD8(repeating: x[k]), b)
                }
                total = kb == 0 ? acc : total + acc
            }
            for j in 0..<n { out[g + j] = total[j] }
            g += n
        }
    }
}
