// ggml's quantized block formats: the one decoder of each, shared by the loader's dequantization
// (ModelIO's `dequantize`), the GEMM's packing (GEMMPack.swift), the GEMV (GEMVQuant.swift) and `Weight.copyRow`.
//
// Block layouts (ggml/src/ggml-common.h), all little-endian, fp16 scales as IEEE half:
//   block_q4_0 { fp16 d; u8 qs[16] }                                 32 weights, 18 bytes
//   block_q4_1 { fp16 d; fp16 m; u8 qs[16] }                         32 weights, 20 bytes
//   block_q5_0 { fp16 d; u8 qh[4]; u8 qs[16] }                       32 weights, 22 bytes
//   block_q5_1 { fp16 d; fp16 m; u8 qh[4]; u8 qs[16] }               32 weights, 24 bytes
//   block_q8_0 { fp16 d; i8 qs[32] }                                 32 weights, 34 bytes
//   block_q4_K { fp16 d; fp16 dmin; u8 scales[12]; u8 qs[128] }      256 weights, 144 bytes
//   block_q5_K { fp16 d; fp16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }  256 weights, 176 bytes
//   block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; fp16 d }      256 weights, 210 bytes
//
// Every format is read as "parts" of 8 consecutive weights: part j of a block gives the 8 quantized values q
// (small integers, exact as floats), and the scale d and min m of the group they belong to, so that
// w = q·d + m (no min for the symmetric types). Dequantizing as `q * d + m` (two roundings: Swift never
// contracts to an FMA) is bit for bit ggml's reference `dequantize_row_*` (ggml-quants.c) and gguf-py's
// numpy `gguf/quants.py`: ggml's `(x - 8) * d` is `q * d` with q = x - 8 exact, its `d1 * x - m1` is
// `x * d1 + (-m1)`, and Q6_K's `d * sc * x` is `x * (d * sc)` (ModelIOTests compares with numpy bit for bit).
// The GEMV uses the same parts unrolled over a group: d·Σ q·x + m·Σx.
//
// Blocks inside a file are only 2-byte aligned (18-byte Q4_0 blocks, 210-byte Q6_K blocks), so every
// multi-byte field is read with loadUnaligned.

public enum BlockFormat: String, Sendable, CaseIterable {
    case q4_0, q4_1, q5_0, q5_1, q8_0, q4_K, q5_K, q6_K

    /// (weights, bytes) per block.
    public var layout: (elements: Int, bytes: Int) {
        switch self {
        case .q4_0: (32, 18);
        case .q4_1: (32, 20);
        case .q5_0: (32, 22);
        case .q5_1: (32, 24)
        case .q8_0: (32, 34);
        case .q4_K: (256, 144);
        case .q5_K: (256, 176);
        case .q6_K: (256, 210)
        }
    }

    /// Runs `v` with this format's decoder type (one switch for every kernel).
    @inlinable @inline(__always)
    public func visit<V: QuantVisitor>(_ v: V) -> V.Result {
        switch self {
        case .q4_0: v.visit(Q4_0.self);
        case .q4_1: v.visit(Q4_1.self)
        case .q5_0: v.visit(Q5_0.self);
        case .q5_1: v.visit(Q5_1.self)
        case .q8_0: v.visit(Q8_0.self);
        case .q4_K: v.visit(Q4_K.self)
        case .q5_K: v.visit(Q5_K.self);
        case .q6_K: v.visit(Q6_K.self)
        }
    }
}

public protocol QuantVisitor {
    associatedtype Result
    func visit<F: QuantFormat>(_ f: F.Type) -> Result
}

/// One block format's decoder; generic kernels over it are specialised per format.
public protocol QuantFormat {
    static var blockElements: Int { get }
    static var blockBytes: Int { get }
    /// Weights that share one (d, m): 32, or 16 for Q6_K. A multiple of 8 dividing `blockElements`.
    static var groupSize: Int { get }
    static var hasMin: Bool { get }
    /// The quantized values of part j (weights 8j..<8j+8) of the block at b, as exact floats.
    static func quants(_ b: UnsafeRawPointer, _ j: Int) -> SIMD8<Float>
    /// The scale and min of group g (weights gG..<gG+G) of the block at b.
    static func scale(_ b: UnsafeRawPointer, _ g: Int) -> (d: Float, m: Float)
    /// `scale(b, g)` of every group g of the block at b in one go (lanes past the block's groups are 0), for the
    /// GEMVs, which would otherwise decode a K-quant's packed scales again for every group.
    static func groupScales(_ b: UnsafeRawPointer) -> (d: SIMD16<Float>, m: SIMD16<Float>)
}

extension QuantFormat {
    @inlinable @inline(__always) public static func groupScales(_ b: UnsafeRawPointer) -> (
        d: SIMD16<Float>, m: SIMD16<Float>
    ) {
        var d = SIMD16<Float>(), m = SIMD16<Float>()
        for g in 0..<blockElements / groupSize { (d[g], m[g]) = scale(b, g) }
        return (d, m)
    }
    /// Part j with its group's scale and min.
    @inlinable @inline(__always) public static func part(_ b: UnsafeRawPointer, _ j: Int) -> (
        q: SIMD8<Float>, d: Float, m: Float
    ) {
        let (d, m) = scale(b, j &* 8 / groupSize)
        return (quants(b, j), d, m)
    }
    /// The 8 weights of part j, dequantized.
    @inlinable @inline(__always) public static func weights(_ b: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> {
        let (q, d, m) = part(b, j)
        return hasMin ? q * d + m : q * d
    }
}

// MARK: small readers

@inlinable @inline(__always)
public func halfAt(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    // GGML_FP16_TO_FP32: exact widening (F16C's vcvtph2ps here, a table or bit trick in ggml).
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}
@inlinable @inline(__always)
public func byteAt(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
    UInt32(p.load(fromByteOffset: offset, as: UInt8.self))
}

/// 8 bytes widened to 32-bit lanes (vpmovzxbd). Element-wise, so it always inlines to one instruction.
@inlinable @inline(__always)
public func bytes8(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt32> {
    let v = p.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt8>.self)
    return SIMD8(
        UInt32(v[0]), UInt32(v[1]), UInt32(v[2]), UInt32(v[3]),
        UInt32(v[4]), UInt32(v[5]), UInt32(v[6]), UInt32(v[7]))
}
/// Small non-negative integers to floats (vcvtdq2ps), exact.
@inlinable @inline(__always)
public func floats8(_ u: SIMD8<UInt32>) -> SIMD8<Float> {
    let i = SIMD8<Int32>(truncatingIfNeeded: u)
    return SIMD8(Float(i[0]), Float(i[1]), Float(i[2]), Float(i[3]), Float(i[4]), Float(i[5]), Float(i[6]), Float(i[7]))
}

/// The 5th bits of part j of a Q5_0/Q5_1 block: bit i of the 32-bit qh is weight i's.
@inlinable @inline(__always)
public func fifthBits(_ qh: UInt32, _ j: Int) -> SIMD8<UInt32> {
    let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
    return ((SIMD8(repeating: qh >> UInt32(8 * j)) &>> lanes) & 1) &<< 4
}

/// get_scale_min_k4 (ggml-quants.c): the 8 six-bit scales and 8 six-bit mins of a Q4_K/Q5_K block are
/// packed into 12 bytes. Sub-blocks 0-3 keep theirs in the low 6 bits of bytes 0-3 (scale) and 4-7 (min);
/// sub-blocks 4-7 take their low 4 bits from a nibble of bytes 8-11 and their top 2 bits from the
/// otherwise unused top bits of bytes 0-7.
@inlinable @inline(__always)
public func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (scale: UInt32, min: UInt32) {
    if j < 4 { return (byteAt(q, j) & 63, byteAt(q, j + 4) & 63) }
    return (
        (byteAt(q, j + 4) & 0x0F) | ((byteAt(q, j - 4) >> 6) << 4),
        (byteAt(q, j + 4) >> 4) | ((byteAt(q, j) >> 6) << 4)
    )
}

// MARK: 32-weight blocks
// Within a block, byte i's low nibble is weight i and its high nibble weight i+16 (not 2i, 2i+1):
// part j reads bytes 8(j&1)..<8(j&1)+8, the low nibbles for j < 2 and the high ones after.

@inlinable @inline(__always)
public func nibbles8(_ b: UnsafeRawPointer, _ qs: Int, _ j: Int) -> SIMD8<UInt32> {
    (bytes8(b, qs + 8 * (j & 1)) &>> UInt32(4 * (j >> 1))) & 0x0F
}

/// dequantize_row_q4_0: y = (x - 8) * d
public enum Q4_0: QuantFormat {
    public static var blockElements: Int { 32 }; public static var blockBytes: Int { 18 }
    public static var groupSize: Int { 32 }; public static var hasMin: Bool { false }
    @inlinable @inline(__always) public static func quants(_ b: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> {
        floats8(nibbles8(b, 2, j)) - 8
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _ g: Int) -> (d: Float, m: Float) {
        (halfAt(b, 0), 0)
    }
}

/// dequantize_row_q4_1: y = x * d + m
public enum Q4_1: QuantFormat {
    public static var blockElements: Int { 32 }; public static var blockBytes: Int { 20 }
    public static var groupSize: Int { 32 }; public static var hasMin: Bool { true }
    @inlinable @inline(__always) public static func quants(_ b: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> {
        floats8(nibbles8(b, 4, j))
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _ g: Int) -> (d: Float, m: Float) {
        (halfAt(b, 0), halfAt(b, 2))
    }
}

/// dequantize_row_q5_0: the 5th bit of weight i is bit i of qh; y = (x - 16) * d
public enum Q5_0: QuantFormat {
    public static var blockElements: Int { 32 }; public static var blockBytes: Int { 22 }
    public static var groupSize: Int { 32 }; public static var hasMin: Bool { false }
    @inlinable @inline(__always) public static func quants(_ b: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> {
        floats8(nibbles8(b, 6, j) | fifthBits(b.loadUnaligned(fromByteOffset: 2, as: UInt32.self), j)) - 16
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _ g: Int) -> (d: Float, m: Float) {
        (halfAt(b, 0), 0)
    }
}

/// dequantize_row_q5_1: y = x * d + m
public enum Q5_1: QuantFormat {
    public static var blockElements: Int { 32 }; public static var blockBytes: Int { 24 }
    public static var groupSize: Int { 32 }; public static var hasMin: Bool { true }
    @inlinable @inline(__always) public static func quants(_ b: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> {
        floats8(nibbles8(b, 8, j) | fifthBits(b.loadUnaligned(fromByteOffset: 4, as: UInt32.self), j))
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _ g: Int) -> (d: Float, m: Float) {
        (halfAt(b, 0), halfAt(b, 2))
    }
}

/// dequantize_row_q8_0: y = x * d
public enum Q8_0: QuantFormat {
    public static var blockElements: Int { 32 }; public static var blockBytes: Int { 34 }
    public static var groupSize: Int { 32 }; public static var hasMin: Bool { false }
    @inlinable @inline(__always) public static func quants(_ b: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> {
        let v = b.loadUnaligned(fromByteOffset: 2 + 8 * j, as: SIMD8<Int8>.self)  // vpmovsxbd, vcvtdq2ps
        return SIMD8<Float>(
            Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]),
            Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]))
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _ g: Int) -> (d: Float, m: Float) {
        (halfAt(b, 0), 0)
    }
}

// MARK: K-quants: 256-weight super-blocks of 8 (Q4_K, Q5_K) or 16 (Q6_K) sub-blocks, each with its own scale.

/// Sub-block s's scale d·sc and min −(dmin·m) of a Q4_K/Q5_K block.
@inlinable @inline(__always)
public func scaleK4(_ b: UnsafeRawPointer, _ s: Int) -> (d: Float, m: Float) {
    let (sc, mn) = scaleMinK4(s, b + 4)
    return (halfAt(b, 0) * Float(sc), -(halfAt(b, 2) * Float(mn)))
}

/// scaleK4 of the 8 sub-blocks at once: scaleMinK4's two cases as lanes 0–3 and 4–7 of byte vectors
/// (A = bytes 0–7 of the packed scales, B = bytes 4–11), the same products as scaleK4 (−(dmin·m) as (−dmin)·m,
/// equal bit for bit; SIMD's prefix minus is 0 − x, which would turn −0 into +0).
@inlinable @inline(__always)
public func scalesK4x8(_ b: UnsafeRawPointer) -> (d: SIMD16<Float>, m: SIMD16<Float>) {
    let A = bytes8(b, 4), B = bytes8(b, 8)
    let A03 = SIMD8(lowHalf: A.lowHalf, highHalf: A.lowHalf)  // lanes 4–7: bytes j − 4
    let low = SIMD8<UInt32>(0, 0, 0, 0, ~0, ~0, ~0, ~0)  // lanes 4–7 take the second case
    let sc = ((A & 63) & ~low) | (((B & 0x0F) | ((A03 &>> 6) &<< 4)) & low)
    let mn = ((B & 63) & ~low) | (((B &>> 4) | ((A &>> 6) &<< 4)) & low)
    let d = SIMD8(repeating: halfAt(b, 0)) * floats8(sc), m = SIMD8(repeating: -halfAt(b, 2)) * floats8(mn)
    return (SIMD16(lowHalf: d, highHalf: SIMD8()), SIMD16(lowHalf: m, highHalf: SIMD8()))
}

/// dequantize_row_q4_K: four groups of 64 weights; in each, 32 bytes of qs give the low nibbles to the
/// first sub-block (32 weights) and the high nibbles to the second. y = (d*sc) * x - (dmin*m)
public enum Q4_K: QuantFormat {
    public static var blockElements: Int { 256 }; public static var blockBytes: Int { 144 }
    public static var groupSize: Int { 32 }; public static var hasMin: Bool { true }
    @inlinable @inline(__always) public static func quants(_ b: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> {
        let s = j >> 2, p = j & 3  // sub-block, part within it
        return floats8((bytes8(b, 16 + 32 * (s >> 1) + 8 * p) &>> UInt32(4 * (s & 1))) & 0x0F)
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _ g: Int) -> (d: Float, m: Float) {
        scaleK4(b, g)
    }
    @inlinable @inline(__always) public static func groupScales(_ b: UnsafeRawPointer) -> (
        d: SIMD16<Float>, m: SIMD16<Float>
    ) { scalesK4x8(b) }
}

/// dequantize_row_q5_K: as Q4_K plus a 5th bit per weight from qh[32]: sub-block s uses bit s of each byte.
public enum Q5_K: QuantFormat {
    public static var blockElements: Int { 256 }; public static var blockBytes: Int { 176 }
    public static var groupSize: Int { 32 }; public static var hasMin: Bool { true }
    @inlinable @inline(__always) public static func quants(_ b: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> {
        let s = j >> 2, p = j & 3
        let lo = (bytes8(b, 48 + 32 * (s >> 1) + 8 * p) &>> UInt32(4 * (s & 1))) & 0x0F
        let hi = ((bytes8(b, 16 + 8 * p) &>> UInt32(s)) & 1) &<< 4
        return floats8(lo | hi)
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _ g: Int) -> (d: Float, m: Float) {
        scaleK4(b, g)
    }
    @inlinable @inline(__always) public static func groupScales(_ b: UnsafeRawPointer) -> (
        d: SIMD16<Float>, m: SIMD16<Float>
    ) { scalesK4x8(b) }
}

/// dequantize_row_q6_K: two halves of 128 weights; in each, ql[64] holds low nibbles and qh[32] the
/// 2 high bits of four interleaved runs of 32 weights (run r: ql bytes 32(r&1).., nibble r>>1, qh bits 2r);
/// 16 signed 8-bit scales, one per 16 weights. y = (d * sc) * (x - 32), C's left-to-right order.
public enum Q6_K: QuantFormat {
    public static var blockElements: Int { 256 }; public static var blockBytes: Int { 210 }
    public static var groupSize: Int { 16 }; public static var hasMin: Bool { false }
    @inlinable @inline(__always) public static func quants(_ b: UnsafeRawPointer, _ j: Int) -> SIMD8<Float> {
        let h = j >> 4, r = (j >> 2) & 3, p = j & 3  // half, run, part within the run
        let lo = (bytes8(b, 64 * h + 32 * (r & 1) + 8 * p) &>> UInt32(4 * (r >> 1))) & 0x0F
        let hi = ((bytes8(b, 128 + 32 * h + 8 * p) &>> UInt32(2 * r)) & 3) &<< 4
        return floats8(lo | hi) - 32
    }
    /// Group g's scale is byte 192 + g: weights 16g..<16g+16 are part 2g and 2g+1, i.e. half h, run r,
    /// lanes 16(p>>1)..., and 8h + 2r + (p>>1) = g.
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _ g: Int) -> (d: Float, m: Float) {
        (halfAt(b, 208) * Float(Int8(bitPattern: b.load(fromByteOffset: 192 + g, as: UInt8.self))), 0)
    }
}

// MARK: rows

/// Dequantizes `n` consecutive weights (whole blocks) from `src` into `dst`.
public func dequantizeBlocks(_ f: BlockFormat, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ n: Int) {
    struct Row: QuantVisitor {
        let src: UnsafeRawPointer, dst: UnsafeMutablePointer<Float>, n: Int
        func visit<F: QuantFormat>(_ f: F.Type) {
            precondition(n % F.blockElements == 0, "dequantizeBlocks: \(n) is not a multiple of the block size")
            dequantizeRange(F.self, src, 0, n, dst)
        }
    }
    f.visit(Row(src: src, dst: dst, n: n))
}

/// Weights k0..<k0+count (multiples of 8) of the row of blocks at `row`, into dst[0..<count]: each group's
/// scale decoded once.
@inlinable @inline(__always)
public func dequantizeRange<F: QuantFormat>(
    _ f: F.Type, _ row: UnsafeRawPointer, _ k0: Int, _ count: Int,
    _ dst: UnsafeMutablePointer<Float>
) {
    let out = UnsafeMutableRawPointer(dst), end = k0 + count
    var k = k0
    while k < end {
        let b = row + (k / F.blockElements) &* F.blockBytes, inBlock = k % F.blockElements
        let (d, m) = F.scale(b, inBlock / F.groupSize)
        let groupEnd = min(end, k - inBlock % F.groupSize + F.groupSize)
        while k < groupEnd {
            let q = F.quants(b, (k % F.blockElements) / 8)
            out.storeBytes(of: F.hasMin ? q * d + m : q * d, toByteOffset: 4 * (k - k0), as: SIMD8<Float>.self)
            k += 8
        }
    }
}

/// A block format as a widening source for the packing and GEMV code (GEMMPack.swift): element i of a
/// matrix whose rows are whole blocks is in block i / blockElements, so flat element indices work.
public enum SrcQuant<F: QuantFormat>: WidenSource {
    @inlinable @inline(__always) public static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        F.weights(p + (i / F.blockElements) &* F.blockBytes, (i % F.blockElements) / 8)
    }
    @inlinable @inline(__always) public static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        load8(p, i & ~7)[i & 7]
    }
}
