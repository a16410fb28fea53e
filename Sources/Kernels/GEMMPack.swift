// Packing for the GEMM micro-kernel (GEMMKernel.swift), with fp16/bf16 widening and ggml block
// dequantization (QuantBlocks.swift) done while packing.
//
// Packed B: panels of NR columns (two vector registers: 16 on AVX2 and the portable path, 32 on AVX-512);
//           inside a panel, k-major: Bp[k*NR + j] (two vector loads per k).
// Packed A: panels of MR = 6 rows; inside a panel, k-major: Ap[k*6 + i] (six broadcasts per k).
// Rows/columns past the matrix edge are packed as zeros, so the kernel always runs full MR×NR tiles.
//
// The forward product x·Wᵀ reads W [N,K] as B[k,n] = W[n,k]: its pack transposes 8×8 blocks in registers
// (ARCHITECTURE.md: a scalar transposing pack held the kernel at 72 GFLOP/s per core, the 8×8 one at 84).

/// Rows of a micro-tile (and of a packed A panel), whatever the instruction set.
public let gemmMR = 6

// MARK: widening loads

/// How one storage type is loaded and widened to fp32. Generic code over these is specialised per type.
public protocol WidenSource {
    /// 8 consecutive elements starting at element index i.
    static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float>
    static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float
}

public enum SrcF32: WidenSource {
    @inlinable @inline(__always) public static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        p.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
    }
    @inlinable @inline(__always) public static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        p.loadUnaligned(fromByteOffset: i &* 4, as: Float.self)
    }
}

public enum SrcF16: WidenSource {
    @inlinable @inline(__always) public static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        // Element-wise so that it always inlines to one vcvtph2ps; the stdlib's generic SIMD8 conversion
        // was sometimes left as an out-of-line call (with a vzeroupper) inside the transposing pack.
        let h = p.loadUnaligned(fromByteOffset: i &* 2, as: SIMD8<Float16>.self)
        return SIMD8<Float>(
            Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]),
            Float(h[4]), Float(h[5]), Float(h[6]), Float(h[7]))
    }
    @inlinable @inline(__always) public static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        Float(p.loadUnaligned(fromByteOffset: i &* 2, as: Float16.self))
    }
}

public enum SrcBF16: WidenSource {
    @inlinable @inline(__always) public static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        let h = p.loadUnaligned(fromByteOffset: i &* 2, as: SIMD8<UInt16>.self)
        // Element-wise widening (vpmovzxwd): the stdlib's generic SIMD8 conversion can stay out of line.
        let u = SIMD8<UInt32>(
            UInt32(h[0]), UInt32(h[1]), UInt32(h[2]), UInt32(h[3]),
            UInt32(h[4]), UInt32(h[5]), UInt32(h[6]), UInt32(h[7]))
        return unsafeBitCast(u &<< 16, to: SIMD8<Float>.self)
    }
    @inlinable @inline(__always) public static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        bf16ToFloat(p.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
    }
}

/// Runs a generic body with the widening source of a weight type (the one switch every kernel shares).
public protocol SourceVisitor {
    associatedtype Result
    func visit<S: WidenSource>(_ s: S.Type) -> Result
}

extension WeightType {
    @inlinable @inline(__always)
    public func visit<V: SourceVisitor>(_ v: V) -> V.Result {
        switch self {
        case .f32: return v.visit(SrcF32.self)
        case .f16: return v.visit(SrcF16.self)
        case .bf16: return v.visit(SrcBF16.self)
        default: return blockFormat!.visit(QuantSource(v: v))
        }
    }
}

/// A block format's decoder handed on as the widening source `SrcQuant<F>`.
public struct QuantSource<V: SourceVisitor>: QuantVisitor {
    @usableFromInline let v: V
    @inlinable init(v: V) { self.v = v }
    @inlinable @inline(__always) public func visit<F: QuantFormat>(_ f: F.Type) -> V.Result {
        v.visit(SrcQuant<F>.self)
    }
}

// MARK: 8×8 transpose

/// The classic AVX 8×8 transpose: unpack pairs of rows, shuffle pairs of pairs, swap 128-bit halves
/// (24 shuffles for 64 elements).
@inlinable @inline(__always)
public func transpose8x8(
    _ v:
        inout (
            SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>,
            SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>
        )
) {
    @inline(__always) func lo(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {  // vunpcklps
        SIMD8(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5])
    }
    @inline(__always) func hi(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {  // vunpckhps
        SIMD8(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7])
    }
    @inline(__always) func sl(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {  // vshufps 0x44
        SIMD8(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5])
    }
    @inline(__always) func sh(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {  // vshufps 0xEE
        SIMD8(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7])
    }
    let t0 = lo(v.0, v.1), t1 = hi(v.0, v.1), t2 = lo(v.2, v.3), t3 = hi(v.2, v.3)
    let t4 = lo(v.4, v.5), t5 = hi(v.4, v.5), t6 = lo(v.6, v.7), t7 = hi(v.6, v.7)
    let s0 = sl(t0, t2), s1 = sh(t0, t2), s2 = sl(t1, t3), s3 = sh(t1, t3)
    let s4 = sl(t4, t6), s5 = sh(t4, t6), s6 = sl(t5, t7), s7 = sh(t5, t7)
    v = (
        SIMD8(lowHalf: s0.lowHalf, highHalf: s4.lowHalf), SIMD8(lowHalf: s1.lowHalf, highHalf: s5.lowHalf),
        SIMD8(lowHalf: s2.lowHalf, highHalf: s6.lowHalf), SIMD8(lowHalf: s3.lowHalf, highHalf: s7.lowHalf),
        SIMD8(lowHalf: s0.highHalf, highHalf: s4.highHalf), SIMD8(lowHalf: s1.highHalf, highHalf: s5.highHalf),
        SIMD8(lowHalf: s2.highHalf, highHalf: s6.highHalf), SIMD8(lowHalf: s3.highHalf, highHalf: s7.highHalf)
    )
}

// MARK: B packing

/// B[k, j] = W[j, k] (forward, W is [N, K]): panels of NR columns for columns n0..<n0+nc, k in k0..<k0+kc,
/// each panel as NR/8 groups of 8 columns transposed 8×8 in registers.
@inlinable @inline(__always)
public func packBTransposed<I: KernelISA, S: WidenSource>(
    _ isa: I.Type, _ s: S.Type, nr: Int, _ w: UnsafeRawPointer, ldw: Int, rows N: Int,
    n0: Int, nc: Int, k0: Int, kc: Int, _ out: UnsafeMutablePointer<Float>
) {
    for pnl in 0..<(nc + nr - 1) / nr {
        let j0 = n0 + pnl * nr
        for half in 0..<nr / 8 {
            let r0 = j0 + half * 8
            let o = out + pnl * kc * nr + half * 8
            if N - r0 >= 8 {
                packEightColumns(S.self, w, r0 * ldw + k0, ldw: ldw, kc: kc, o, nr: nr)
            } else {
                let valid = max(0, N - r0)
                for k in 0..<kc {
                    for j in 0..<8 { o[k * nr + j] = j < valid ? S.load1(w, (r0 + j) * ldw + k0 + k) : 0 }
                }
            }
        }
    }
}

/// out[k·nr + j] = W[j, k] for 8 rows j of W starting at element `start` (row stride ldw), k in 0..<kc: one
/// 8-column group of a packed B panel, 8×8 blocks transposed in registers.
@inlinable @inline(__always)
func packEightColumns<S: WidenSource>(
    _ s: S.Type, _ w: UnsafeRawPointer, _ start: Int, ldw: Int, kc: Int, _ out: UnsafeMutablePointer<Float>, nr: Int
) {
    let d0 = UnsafeMutableRawPointer(out), row = nr * 4
    var k = 0
    while k + 8 <= kc {
        let e = start + k
        var v = (
            S.load8(w, e), S.load8(w, e + ldw), S.load8(w, e + 2 * ldw), S.load8(w, e + 3 * ldw),
            S.load8(w, e + 4 * ldw), S.load8(w, e + 5 * ldw), S.load8(w, e + 6 * ldw), S.load8(w, e + 7 * ldw)
        )
        transpose8x8(&v)
        let d = d0 + k * row
        d.storeBytes(of: v.0, toByteOffset: 0, as: SIMD8<Float>.self)
        d.storeBytes(of: v.1, toByteOffset: row, as: SIMD8<Float>.self)
        d.storeBytes(of: v.2, toByteOffset: 2 * row, as: SIMD8<Float>.self)
        d.storeBytes(of: v.3, toByteOffset: 3 * row, as: SIMD8<Float>.self)
        d.storeBytes(of: v.4, toByteOffset: 4 * row, as: SIMD8<Float>.self)
        d.storeBytes(of: v.5, toByteOffset: 5 * row, as: SIMD8<Float>.self)
        d.storeBytes(of: v.6, toByteOffset: 6 * row, as: SIMD8<Float>.self)
        d.storeBytes(of: v.7, toByteOffset: 7 * row, as: SIMD8<Float>.self)
        k += 8
    }
    while k < kc {
        for j in 0..<8 { out[k * nr + j] = S.load1(w, start + j * ldw + k) }
        k += 1
    }
}

/// B[k, j] = W[j, k] for W in a block format: 8 rows at a time are dequantized (one scale per group) into a
/// row-major fp32 tile of 8 × KC (8 KB at KC 256, so it stays in L1 beside the panel being written), which is
/// then transposed 8×8 into its 8 columns of the panel. (Dequantizing inside `packBTransposed` itself, through
/// `SrcQuant.load8`, decodes a group's scale once per 8 weights; a tile of a whole NR-row panel, 32 KB on
/// AVX-512, spilled out of L1.)
@inlinable @inline(__always)
public func packBTransposedQuant<I: KernelISA, F: QuantFormat>(
    _ isa: I.Type, _ f: F.Type, nr: Int, _ w: UnsafeRawPointer, rowBytes: Int, rows N: Int,
    n0: Int, nc: Int, k0: Int, kc: Int, _ out: UnsafeMutablePointer<Float>
) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * kc) { t in
        let tile = t.baseAddress!
        for pnl in 0..<(nc + nr - 1) / nr {
            for half in 0..<nr / 8 {
                let r0 = n0 + pnl * nr + half * 8, valid = max(0, min(8, N - r0))
                for r in 0..<valid { dequantizeRange(F.self, w + (r0 + r) * rowBytes, k0, kc, tile + r * kc) }
                if valid < 8 { (tile + valid * kc).update(repeating: 0, count: (8 - valid) * kc) }
                packEightColumns(
                    SrcF32.self, UnsafeRawPointer(tile), 0, ldw: kc, kc: kc, out + pnl * kc * nr + half * 8, nr: nr)
            }
        }
    }
}

/// B[k, j] = src[k, j] (backward: W [N,K] is already [inner, out]; weight grad: x [M,K]).
@inlinable @inline(__always)
public func packBDirect<I: KernelISA, S: WidenSource>(
    _ isa: I.Type, _ s: S.Type, nr: Int, _ w: UnsafeRawPointer, ldw: Int, cols: Int,
    n0: Int, nc: Int, k0: Int, kc: Int, _ out: UnsafeMutablePointer<Float>
) {
    let panels = (nc + nr - 1) / nr
    let raw = UnsafeMutableRawPointer(out)
    for pnl in 0..<panels {
        let j0 = n0 + pnl * nr
        let valid = min(nr, cols - j0)
        let dst = raw + pnl * kc * nr * 4
        if valid == nr {
            var e = k0 * ldw + j0
            for k in 0..<kc {
                var j = 0
                while j < nr {
                    dst.storeBytes(of: S.load8(w, e + j), toByteOffset: (k * nr + j) * 4, as: SIMD8<Float>.self)
                    j += 8
                }
                e += ldw
            }
        } else {
            let o = dst.assumingMemoryBound(to: Float.self)
            for k in 0..<kc {
                let e = (k0 + k) * ldw + j0
                for j in 0..<nr { o[k * nr + j] = j < valid ? S.load1(w, e + j) : 0 }
            }
        }
    }
}

// MARK: A packing

/// A[i, p] = a[i*lda + p] (row-major activations): panels for rows m0..<m0+mc, p in k0..<k0+kc.
@inlinable @inline(__always)
public func packARowMajor<I: KernelISA>(
    _ isa: I.Type, _ a: UnsafePointer<Float>, lda: Int, rows M: Int, m0: Int, mc: Int, k0: Int, kc: Int,
    _ out: UnsafeMutablePointer<Float>
) {
    let panels = (mc + gemmMR - 1) / gemmMR
    for pnl in 0..<panels {
        let i0 = m0 + pnl * gemmMR
        let valid = min(gemmMR, M - i0)
        let o = out + pnl * kc * gemmMR
        if valid == gemmMR {
            // 8 values of each of the 6 rows, transposed 8×8 in registers (two rows of zeros): lane block j is
            // the 6 values of column k + j, stored 6 floats apart in increasing j, each store's 2 extra lanes
            // overwritten by the next; the last block's 6 values are stored as 4 + 2.
            let r0 = UnsafeRawPointer(a + i0 * lda + k0), row = lda * 4
            let d = UnsafeMutableRawPointer(o)
            var k = 0
            while k + 8 <= kc {
                let e = r0 + k * 4
                var v = (
                    e.loadUnaligned(as: SIMD8<Float>.self), e.loadUnaligned(fromByteOffset: row, as: SIMD8<Float>.self),
                    e.loadUnaligned(fromByteOffset: 2 * row, as: SIMD8<Float>.self),
                    e.loadUnaligned(fromByteOffset: 3 * row, as: SIMD8<Float>.self),
                    e.loadUnaligned(fromByteOffset: 4 * row, as: SIMD8<Float>.self),
                    e.loadUnaligned(fromByteOffset: 5 * row, as: SIMD8<Float>.self), SIMD8<Float>(), SIMD8<Float>()
                )
                transpose8x8(&v)
                let dk = d + k * 24
                dk.storeBytes(of: v.0, toByteOffset: 0, as: SIMD8<Float>.self)
                dk.storeBytes(of: v.1, toByteOffset: 24, as: SIMD8<Float>.self)
                dk.storeBytes(of: v.2, toByteOffset: 48, as: SIMD8<Float>.self)
                dk.storeBytes(of: v.3, toByteOffset: 72, as: SIMD8<Float>.self)
                dk.storeBytes(of: v.4, toByteOffset: 96, as: SIMD8<Float>.self)
                dk.storeBytes(of: v.5, toByteOffset: 120, as: SIMD8<Float>.self)
                dk.storeBytes(of: v.6, toByteOffset: 144, as: SIMD8<Float>.self)
                dk.storeBytes(of: v.7.lowHalf, toByteOffset: 168, as: SIMD4<Float>.self)
                dk.storeBytes(of: v.7[4], toByteOffset: 184, as: Float.self)
                dk.storeBytes(of: v.7[5], toByteOffset: 188, as: Float.self)
                k += 8
            }
            let p = a + i0 * lda + k0
            while k < kc {
                for i in 0..<gemmMR { o[k * 6 + i] = p[i * lda + k] }
                k += 1
            }
        } else {
            for k in 0..<kc {
                for i in 0..<gemmMR { o[k * 6 + i] = i < valid ? a[(i0 + i) * lda + k0 + k] : 0 }
            }
        }
    }
}

/// A[i, p] = a[p*lda + i] (the dyᵀ of the weight gradient): 6 contiguous values per p.
@inlinable @inline(__always)
public func packATransposed<I: KernelISA>(
    _ isa: I.Type, _ a: UnsafePointer<Float>, lda: Int, rows M: Int, m0: Int, mc: Int, k0: Int, kc: Int,
    _ out: UnsafeMutablePointer<Float>
) {
    let panels = (mc + gemmMR - 1) / gemmMR
    for pnl in 0..<panels {
        let i0 = m0 + pnl * gemmMR
        let valid = min(gemmMR, M - i0)
        let o = out + pnl * kc * gemmMR
        if valid == gemmMR {
            for k in 0..<kc {
                let s = a + (k0 + k) * lda + i0, d = o + k * 6
                d[0] = s[0]; d[1] = s[1]; d[2] = s[2]; d[3] = s[3]; d[4] = s[4]; d[5] = s[5]
            }
        } else {
            for k in 0..<kc {
                let s = a + (k0 + k) * lda + i0
                for i in 0..<gemmMR { o[k * 6 + i] = i < valid ? s[i] : 0 }
            }
        }
    }
}
