// The 8-bit product behind the neuron map's screen (Numerics/Int8Screen.swift): S[i, j] = Σ_k xu[i,k] · q[j,k]
// exactly, in int32, for rows xu of unsigned bytes (a neuron vector quantized to −127…127 and offset by 128) and
// rows q of signed bytes (the LM head quantized per row). One micro-tile is 6 rows × 32 columns in 12 registers
// of 16 int32 lanes, as the fp32 kernel (GEMMKernel.swift); each k step takes 4 bytes (one `dot4`: per lane,
// acc += Σ_{b<4} u8(a_b)·s8(q_b) — VNNI's vpdpbusd in one instruction).
//
// Written once over `Int8DotISA`; the portable instance (below) runs anywhere, KernelsVNNI's runs vpdpbusd.
// The sums are integers, so every instance, blocking and thread count gives the same bits.
//
// Packed layouts (K4 = ⌈K / 4⌉ groups of 4 bytes; bytes past K are 128 in xu and 0 in q, so they add 0):
//   rows xu   [rows, 4·K4] bytes, row-major (a row's group g is one little-endian Int32 word)
//   head q    panels of 32 columns: panel p, group g at byte (p·K4 + g)·128 holds columns 32p … 32p+31,
//             4 bytes each (the 16 words of columns 0–15, then 16–31): two 64-byte vector loads per k step.

/// How a path computes 4-byte dot products into int32 lanes: acc[l] + Σ_{b<4} u8(a[l] byte b) · s8(q[l] byte b).
public protocol Int8DotISA {
    static func dot4(_ acc: SIMD16<Int32>, _ a: SIMD16<Int32>, _ q: SIMD16<Int32>) -> SIMD16<Int32>
}

/// Plain integer SIMD: each byte widened, multiplied and summed (what vpdpbusd does in one step).
public enum Int8DotPortable: Int8DotISA {
    @inlinable @inline(__always)
    public static func dot4(_ acc: SIMD16<Int32>, _ a: SIMD16<Int32>, _ q: SIMD16<Int32>) -> SIMD16<Int32> {
        var s = acc
        let mask = SIMD16<Int32>(repeating: 0xFF)
        for b in 0..<4 {
            let ua = (a &>> Int32(8 * b)) & mask  // unsigned byte
            let sq = (q &<< Int32(24 - 8 * b)) &>> 24  // signed byte (arithmetic shift)
            s &+= ua &* sq
        }
        return s
    }
}

/// Columns per packed head panel.
public let int8PanelColumns = 32

/// S tile = xu rows r0 ..< r0+R (R ≤ 6; row stride `lda` bytes) · one packed head panel, over K4 groups, into
/// out[r · ldo + j] for j < 32 (int32). Rows past R are neither computed nor stored.
@inlinable @inline(__always)
public func int8ScreenTile<I: Int8DotISA>(
    _ isa: I.Type, rows R: Int, k4 K4: Int, _ xu: UnsafeRawPointer, lda: Int, _ panel: UnsafeRawPointer,
    _ out: UnsafeMutablePointer<Int32>, ldo: Int
) {
    typealias V = SIMD16<Int32>
    var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
    var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
    let a0 = xu, a1 = xu + lda, a2 = xu + 2 * lda, a3 = xu + 3 * lda, a4 = xu + 4 * lda, a5 = xu + 5 * lda
    var pb = panel
    var off = 0
    for _ in 0..<K4 {
        let b0 = pb.load(as: V.self), b1 = pb.load(fromByteOffset: 64, as: V.self)
        var av = V(repeating: a0.loadUnaligned(fromByteOffset: off, as: Int32.self))
        c00 = I.dot4(c00, av, b0); c01 = I.dot4(c01, av, b1)
        if R > 1 {
            av = V(repeating: a1.loadUnaligned(fromByteOffset: off, as: Int32.self))
            c10 = I.dot4(c10, av, b0); c11 = I.dot4(c11, av, b1)
        }
        if R > 2 {
            av = V(repeating: a2.loadUnaligned(fromByteOffset: off, as: Int32.self))
            c20 = I.dot4(c20, av, b0); c21 = I.dot4(c21, av, b1)
        }
        if R > 3 {
            av = V(repeating: a3.loadUnaligned(fromByteOffset: off, as: Int32.self))
            c30 = I.dot4(c30, av, b0); c31 = I.dot4(c31, av, b1)
        }
        if R > 4 {
            av = V(repeating: a4.loadUnaligned(fromByteOffset: off, as: Int32.self))
            c40 = I.dot4(c40, av, b0); c41 = I.dot4(c41, av, b1)
        }
        if R > 5 {
            av = V(repeating: a5.loadUnaligned(fromByteOffset: off, as: Int32.self))
            c50 = I.dot4(c50, av, b0); c51 = I.dot4(c51, av, b1)
        }
        off &+= 4
        pb += 128
    }
    @inline(__always) func store(_ r: Int, _ v0: V, _ v1: V) {
        let p = UnsafeMutableRawPointer(out + r &* ldo)
        p.storeBytes(of: v0, as: V.self)
        p.storeBytes(of: v1, toByteOffset: 64, as: V.self)
    }
    store(0, c00, c01)
    if R > 1 { store(1, c10, c11) }
    if R > 2 { store(2, c20, c21) }
    if R > 3 { store(3, c30, c31) }
    if R > 4 { store(4, c40, c41) }
    if R > 5 { store(5, c50, c51) }
}

/// S for rows 0 ..< M of xu against packed panels p0 ..< p1 of the head, into out[i · ldo + (32·p − 32·p0) + j]:
/// row panels of 6 in the outer loop, so a row panel (6 · 4·K4 bytes) stays in L1 while the chunk's head panels
/// stream from L2. The body of one task of the screen.
@inlinable
public func int8ScreenChunk<I: Int8DotISA>(
    _ isa: I.Type, M: Int, k4 K4: Int, _ xu: UnsafeRawPointer, lda: Int, _ head: UnsafeRawPointer,
    panels: Range<Int>, _ out: UnsafeMutablePointer<Int32>, ldo: Int
) {
    let panelBytes = K4 * 128
    var i = 0
    while i < M {
        let R = min(6, M - i)
        for p in panels {
            let dst = out + i * ldo + (p - panels.lowerBound) * int8PanelColumns
            let src = head + p * panelBytes
            switch R {
            case 6: int8ScreenTile(I.self, rows: 6, k4: K4, xu + i * lda, lda: lda, src, dst, ldo: ldo)
            case 5: int8ScreenTile(I.self, rows: 5, k4: K4, xu + i * lda, lda: lda, src, dst, ldo: ldo)
            case 4: int8ScreenTile(I.self, rows: 4, k4: K4, xu + i * lda, lda: lda, src, dst, ldo: ldo)
            case 3: int8ScreenTile(I.self, rows: 3, k4: K4, xu + i * lda, lda: lda, src, dst, ldo: ldo)
            case 2: int8ScreenTile(I.self, rows: 2, k4: K4, xu + i * lda, lda: lda, src, dst, ldo: ldo)
            default: int8ScreenTile(I.self, rows: 1, k4: K4, xu + i * lda, lda: lda, src, dst, ldo: ldo)
            }
        }
        i += R
    }
}

/// The four exact dot products of two unsigned byte rows (u, e) with two signed byte rows (q, r), each `n64`
/// runs of 64 bytes: (u·q, u·r, e·q, e·r). The screen's second stage (Numerics/Int8Screen.swift) runs it for
/// the few tokens the first stage cannot rule out.
@inlinable @inline(__always)
public func int8Dots2x2<I: Int8DotISA>(
    _ isa: I.Type, _ u: UnsafeRawPointer, _ e: UnsafeRawPointer, _ q: UnsafeRawPointer, _ r: UnsafeRawPointer,
    n64: Int
) -> (uq: Int32, ur: Int32, eq: Int32, er: Int32) {
    typealias V = SIMD16<Int32>
    var uq = V(), ur = V(), eq = V(), er = V()
    var off = 0
    for _ in 0..<n64 {
        let uv = u.load(fromByteOffset: off, as: V.self), ev = e.load(fromByteOffset: off, as: V.self)
        let qv = q.load(fromByteOffset: off, as: V.self), rv = r.load(fromByteOffset: off, as: V.self)
        uq = I.dot4(uq, uv, qv); ur = I.dot4(ur, uv, rv)
        eq = I.dot4(eq, ev, qv); er = I.dot4(er, ev, rv)
        off &+= 64
    }
    return (uq.wrappedSum(), ur.wrappedSum(), eq.wrappedSum(), er.wrappedSum())
}
