// Dequantization of ggml tensor types to fp32, and conversion of a TensorInfo into a kernel `Weight`.
//
// Every block decoder below does the same float operations, in the same order, as ggml's reference
// `dequantize_row_*` in ggml/src/ggml-quants.c (and gguf-py's numpy `gguf/quants.py`, which the tests
// compare against bit for bit). Swift never contracts `a * b + c` into an FMA, so `x * d + m` rounds
// twice, exactly like the reference C code compiled without contraction and like numpy.
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
import Numerics

// ----------------------------------------------------------------------------
// Small readers. Blocks inside a file are only 2-byte aligned (18-byte Q4_0 blocks, 210-byte Q6_K
// blocks), so every multi-byte field is read with loadUnaligned.

@inline(__always)
private func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    // GGML_FP16_TO_FP32: exact widening (F16C's vcvtph2ps here, a table or bit trick in ggml).
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

@inline(__always)
private func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 { p.load(fromByteOffset: offset, as: UInt8.self) }

// 16 bytes widened to 16 floats, and a 16-float store. Vector ops round lane by lane exactly like the
// scalar ones, so the SIMD decoders stay bit-identical to ggml's scalar reference.
@inline(__always)
private func bytes16(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD16<UInt8> {
    p.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self)
}
@inline(__always)
private func floats(_ v: SIMD16<UInt8>) -> SIMD16<Float> { SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: v)) }
@inline(__always)
private func floats(_ v: SIMD16<Int8>) -> SIMD16<Float> { SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: v)) }
@inline(__always)
private func store(_ v: SIMD16<Float>, _ y: UnsafeMutablePointer<Float>, _ at: Int) {
    UnsafeMutableRawPointer(y + at).storeBytes(of: v, as: SIMD16<Float>.self)
}

// ----------------------------------------------------------------------------
// 32-weight blocks: one scale (and for _1 types one min) per block.
// Within a block, byte j's low nibble is weight j and its high nibble is weight j+16 (not 2j, 2j+1).

// dequantize_row_q4_0: y = (q - 8) * d
@inline(__always)
private func blockQ4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = half(b, 0)
    let q = bytes16(b, 2)
    store((floats(q & 0x0F) - 8) * d, y, 0)        // (x0 - 8) is exact in fp32, as in int arithmetic
    store((floats(q &>> 4) - 8) * d, y, 16)
}

// dequantize_row_q4_1: y = q * d + m
@inline(__always)
private func blockQ4_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = half(b, 0), m = half(b, 2)
    let q = bytes16(b, 4)
    store(floats(q & 0x0F) * d + m, y, 0)
    store(floats(q &>> 4) * d + m, y, 16)
}

// dequantize_row_q5_0: the 5th bit of weight j is bit j of the 32-bit qh; y = (q - 16) * d
@inline(__always)
private func blockQ5_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = half(b, 0)
    let qh = b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
    for j in 0..<16 {
        let q = UInt32(byte(b, 6 + j))
        let h0 = ((qh >> UInt32(j)) << 4) & 0x10
        let h1 = (qh >> UInt32(j + 12)) & 0x10
        y[j] = Float(Int32((q & 0x0F) | h0) - 16) * d
        y[j + 16] = Float(Int32((q >> 4) | h1) - 16) * d
    }
}

// dequantize_row_q5_1: y = q * d + m
@inline(__always)
private func blockQ5_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = half(b, 0), m = half(b, 2)
    let qh = b.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
    for j in 0..<16 {
        let q = UInt32(byte(b, 8 + j))
        let h0 = ((qh >> UInt32(j)) << 4) & 0x10
        let h1 = (qh >> UInt32(j + 12)) & 0x10
        y[j] = Float((q & 0x0F) | h0) * d + m
        y[j + 16] = Float((q >> 4) | h1) * d + m
    }
}

// dequantize_row_q8_0: y = q * d
@inline(__always)
private func blockQ8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = half(b, 0)
    store(floats(SIMD16<Int8>(truncatingIfNeeded: bytes16(b, 2))) * d, y, 0)
    store(floats(SIMD16<Int8>(truncatingIfNeeded: bytes16(b, 18))) * d, y, 16)
}

// ----------------------------------------------------------------------------
// K-quants: 256-weight super-blocks of 8 (Q4_K, Q5_K) or 16 (Q6_K) sub-blocks, each with its own scale.

/// get_scale_min_k4 (ggml-quants.c): the 8 six-bit scales and 8 six-bit mins of a Q4_K/Q5_K block are
/// packed into 12 bytes. Sub-blocks 0-3 keep theirs in the low 6 bits of bytes 0-3 (scale) and 4-7 (min);
/// sub-blocks 4-7 take their low 4 bits from a nibble of bytes 8-11 and their top 2 bits from the
/// otherwise unused top bits of bytes 0-7.
@inline(__always)
private func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
    if j < 4 {
        return (byte(q, j) & 63, byte(q, j + 4) & 63)
    }
    return ((byte(q, j + 4) & 0x0F) | ((byte(q, j - 4) >> 6) << 4),
            (byte(q, j + 4) >> 4) | ((byte(q, j) >> 6) << 4))
}

// dequantize_row_q4_K: four groups of 64 weights; in each, 32 bytes of qs give the low nibbles to the
// first sub-block (32 weights) and the high nibbles to the second. y = (d*sc) * q - (dmin*m)
@inline(__always)
private func blockQ4_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = half(b, 0), dmin = half(b, 2)
    let scales = b + 4
    var q = b + 16
    var y = y
    var s = 0
    for _ in 0..<4 {
        let (sc1, m1i) = scaleMinK4(s, scales)
        let d1 = d * Float(sc1), m1 = dmin * Float(m1i)
        let (sc2, m2i) = scaleMinK4(s + 1, scales)
        let d2 = d * Float(sc2), m2 = dmin * Float(m2i)
        for l in stride(from: 0, to: 32, by: 16) {
            let v = bytes16(q, l)
            store(d1 * floats(v & 0x0F) - m1, y, l)
            store(d2 * floats(v &>> 4) - m2, y, 32 + l)
        }
        q += 32; y += 64; s += 2
    }
}

// dequantize_row_q5_K: as Q4_K plus a 5th bit per weight from qh[32]; group g uses bits 2g and 2g+1.
@inline(__always)
private func blockQ5_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = half(b, 0), dmin = half(b, 2)
    let scales = b + 4, qh = b + 16
    var ql = b + 48
    var y = y
    var s = 0
    var u1: UInt8 = 1, u2: UInt8 = 2
    for _ in 0..<4 {
        let (sc1, m1i) = scaleMinK4(s, scales)
        let d1 = d * Float(sc1), m1 = dmin * Float(m1i)
        let (sc2, m2i) = scaleMinK4(s + 1, scales)
        let d2 = d * Float(sc2), m2 = dmin * Float(m2i)
        for l in 0..<32 {
            y[l] = d1 * Float((byte(ql, l) & 0x0F) + (byte(qh, l) & u1 != 0 ? 16 : 0)) - m1
        }
        for l in 0..<32 {
            y[32 + l] = d2 * Float((byte(ql, l) >> 4) + (byte(qh, l) & u2 != 0 ? 16 : 0)) - m2
        }
        ql += 32; y += 64; s += 2
        u1 <<= 2; u2 <<= 2
    }
}

// dequantize_row_q6_K: two halves of 128 weights; in each, ql[64] holds low nibbles and qh[32] the
// 2 high bits of four interleaved runs of 32 weights; 16 signed 8-bit scales, one per 16 weights.
// y = d * sc * q, evaluated (d * sc) * q as in C's left-to-right order.
@inline(__always)
private func blockQ6_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = half(b, 208)
    var ql = b, qh = b + 128, sc = b + 192
    var y = y
    for _ in 0..<2 {
        // 16 lanes at a time: lanes l..<l+16 share sub-block scale index s = l / 16.
        for (l, s) in [(0, 0), (16, 1)] {
            let h = bytes16(qh, l), lo = bytes16(ql, l), hi = bytes16(ql, l + 32)
            let q1 = floats((lo & 0x0F) | ((h &>> 0) & 3) &<< 4) - 32   // exact: small integers
            let q2 = floats((hi & 0x0F) | ((h &>> 2) & 3) &<< 4) - 32
            let q3 = floats((lo &>> 4) | ((h &>> 4) & 3) &<< 4) - 32
            let q4 = floats((hi &>> 4) | ((h &>> 6) & 3) &<< 4) - 32
            store(d * Float(Int8(bitPattern: byte(sc, s))) * q1, y, l)
            store(d * Float(Int8(bitPattern: byte(sc, s + 2))) * q2, y, l + 32)
            store(d * Float(Int8(bitPattern: byte(sc, s + 4))) * q3, y, l + 64)
            store(d * Float(Int8(bitPattern: byte(sc, s + 6))) * q4, y, l + 96)
        }
        y += 128; ql += 64; qh += 32; sc += 8
    }
}

// ----------------------------------------------------------------------------
// Rows

/// The types `dequantizeRow` understands.
public let dequantizableTypes: [TensorType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
                                               .q4_K, .q5_K, .q6_K]

/// Dequantizes `n` consecutive weights (a multiple of `type`'s block size) from `src` into `dst`.
/// The caller has checked the type is in `dequantizableTypes` and that `src` holds the blocks.
public func dequantizeRow(_ type: TensorType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>,
                          _ n: Int) {
    let (be, bb) = type.blockLayout
    precondition(n % be == 0, "dequantizeRow: \(n) is not a multiple of \(type)'s block size \(be)")
    let blocks = n / be
    switch type {
    case .f32:
        dst.update(from: src.assumingMemoryBound(to: Float.self), count: n)  // memcpy: alignment-agnostic
    case .f16:
        for i in 0..<n { dst[i] = half(src, 2 * i) }
    case .bf16:
        for i in 0..<n { dst[i] = bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
    case .q4_0: for i in 0..<blocks { blockQ4_0(src + i * bb, dst + i * be) }
    case .q4_1: for i in 0..<blocks { blockQ4_1(src + i * bb, dst + i * be) }
    case .q5_0: for i in 0..<blocks { blockQ5_0(src + i * bb, dst + i * be) }
    case .q5_1: for i in 0..<blocks { blockQ5_1(src + i * bb, dst + i * be) }
    case .q8_0: for i in 0..<blocks { blockQ8_0(src + i * bb, dst + i * be) }
    case .q4_K: for i in 0..<blocks { blockQ4_K(src + i * bb, dst + i * be) }
    case .q5_K: for i in 0..<blocks { blockQ5_K(src + i * bb, dst + i * be) }
    case .q6_K: for i in 0..<blocks { blockQ6_K(src + i * bb, dst + i * be) }
    default:
        preconditionFailure("dequantizeRow: \(type) is not supported")
    }
}

// ----------------------------------------------------------------------------
// Checked tensor geometry

/// A tensor seen as rows × cols (cols = innermost dimension, in which ggml packs its blocks).
struct TensorGeometry {
    let rows: Int, cols: Int, rowBytes: Int
}

/// Checks everything a dequantizer relies on: a supported type, non-negative dimensions without
/// overflow, rows made of whole blocks, and a byte count that matches the shape exactly.
func checkedGeometry(_ t: TensorInfo) throws -> TensorGeometry {
    let what = "tensor '\(t.name)'"
    guard dequantizableTypes.contains(t.type) else {
        throw ModelIOError(t.file, "\(what) has type \(t.type), which irm cannot dequantize "
                           + "(supported: \(dequantizableTypes.map(\.description).joined(separator: ", ")))")
    }
    guard !t.shape.isEmpty, t.shape.allSatisfy({ $0 >= 0 }) else {
        throw ModelIOError(t.file, "\(what) has an invalid shape \(t.shape)")
    }
    let cols = t.shape[t.shape.count - 1]
    var rows = 1
    for d in t.shape.dropLast() {
        let (r, o) = rows.multipliedReportingOverflow(by: d)
        guard !o else { throw ModelIOError(t.file, "\(what) shape \(t.shape) overflows") }
        rows = r
    }
    let (be, bb) = t.type.blockLayout
    guard cols % be == 0 else {
        throw ModelIOError(t.file, "\(what) \(t.type) rows of \(cols) elements are not a multiple of the "
                           + "block size \(be)")
    }
    let rowBytes = cols / be * bb
    let (total, o) = rows.multipliedReportingOverflow(by: rowBytes)
    guard !o, total == t.byteCount else {
        throw ModelIOError(t.file, "\(what) \(t.type) \(t.shape) needs \(o ? "too many" : String(total)) bytes "
                           + "but has \(t.byteCount)")
    }
    return TensorGeometry(rows: rows, cols: cols, rowBytes: rowBytes)
}

// ----------------------------------------------------------------------------
// Public conversions

/// All elements of `t` as fp32 (row-major in `t.shape`), dequantized in parallel over rows.
public func dequantize(_ t: TensorInfo) throws -> FloatBuffer {
    let g = try checkedGeometry(t)
    let out = FloatBuffer(count: g.rows * g.cols)
    let src = SendableConstPointer(t.data.assumingMemoryBound(to: UInt8.self)), dst = SendablePointer(out.ptr)
    let type = t.type
    // Small tensors (norm weights) run inline: parallelRanges splits by rows, so a 1-row tensor is one call.
    parallelRanges(g.rows) { range in
        for r in range {
            dequantizeRow(type, UnsafeRawPointer(src.p) + r * g.rowBytes, dst.p + r * g.cols, g.cols)
        }
    }
    withExtendedLifetime(t.owner) {}
    return out
}

/// A 2-D tensor [rows, cols] as a kernel `Weight` stored as `storage`.
///
/// Zero-copy (a view into the file, kept alive by `t.owner`) when the tensor is already stored as
/// `storage` and suitably aligned; otherwise dequantized or converted row by row into a new buffer.
/// fp16 conversion rounds to nearest-even (Swift's Float16 init, like F16C and ggml's
/// GGML_FP32_TO_FP16); bf16 uses `floatToBF16` (round-to-nearest-even, as PyTorch).
public func makeWeight(_ t: TensorInfo, storage: WeightType) throws -> Weight {
    guard t.shape.count == 2 else {
        throw ModelIOError(t.file, "tensor '\(t.name)' should be a 2-D matrix but has shape \(t.shape)")
    }
    let g = try checkedGeometry(t)
    let rows = g.rows, cols = g.cols

    let sameType: Bool
    switch (t.type, storage) {
    case (.f32, .f32), (.f16, .f16), (.bf16, .bf16): sameType = true
    default: sameType = false
    }
    // Kernels load elements with typed pointers; a view must be aligned to the element size
    // (a safetensors file need not pad its header to 8 bytes).
    if sameType && Int(bitPattern: t.data) % storage.byteSize == 0 {
        return Weight(rows: rows, cols: cols, type: storage, base: t.data, owner: t.owner)
    }

    let src = SendableConstPointer(t.data.assumingMemoryBound(to: UInt8.self))
    let type = t.type
    defer { withExtendedLifetime(t.owner) {} }
    switch storage {
    case .f32:
        let out = FloatBuffer(count: rows * cols)
        let dst = SendablePointer(out.ptr)
        parallelRanges(rows) { range in
            for r in range {
                dequantizeRow(type, UnsafeRawPointer(src.p) + r * g.rowBytes, dst.p + r * cols, cols)
            }
        }
        return Weight(rows: rows, cols: cols, buffer: out)
    case .f16, .bf16:
        let out = ByteBuffer(byteCount: rows * cols * 2)
        let dst = SendablePointer(out.ptr.bindMemory(to: UInt16.self, capacity: rows * cols))
        let toBF16 = storage == .bf16
        parallelRanges(rows) { range in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: max(cols, 1))
            defer { row.deallocate() }
            for r in range {
                dequantizeRow(type, UnsafeRawPointer(src.p) + r * g.rowBytes, row, cols)
                let o = dst.p + r * cols
                if toBF16 {
                    for c in 0..<cols { o[c] = floatToBF16(row[c]) }
                } else {
                    for c in 0..<cols { o[c] = Float16(row[c]).bitPattern }
                }
            }
        }
        return Weight(rows: rows, cols: cols, type: storage, base: UnsafeRawPointer(out.ptr), owner: out)
    }
}
