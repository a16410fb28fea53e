// y[M,N] (+)= x[M,K]·Wᵀ for a few rows (decode) with W in a ggml block format, in 8-bit integers as ggml's
// CPU backend does it: each row of x is quantized to 8 bits per 32 values, and each 32-weight chunk of a
// W row is dotted with it by vpmaddubsw/vpmaddwd, its scale applied once per chunk; one W row after another,
// as in GEMVQuant.swift (SmolLM2 Q4_1 decode, 2 threads: 55–62 tok/s with 4 rows interleaved, 90–102 with one).
//
//   x:  xq[k] = round(x[k] / dx_c) in −127…127, dx_c = max|x[chunk c]| / 127   (ggml's block_q8_1)
//       sx_c = dx_c · Σ xq over the chunk
//   W:  w = d·q + m per group (32 weights; 16 for Q6_K), q ≥ 0 for the formats with a min (Q4_1, Q4_K, Q5_K),
//       q signed for the others (Q4_0's q − 8, Q6_K's q − 32, Q8_0), m = 0 there
//   y = Σ_c  dx_c · Σ_lanes d_lane · (Σ over the lane's 4 weights of q·xq)  +  m_c · sx_c
//
// So y is the exact dot product of the dequantized W row with the 8-bit x (up to float reassociation); the
// 8-bit x differs from x by at most dx_c / 2 per element, so |y − x·w| ≤ ½ Σ_c dx_c Σ_{k∈c} |w_k| plus
// reassociation (QuantTests checks both). Products of q and xq fit vpmaddubsw's 16-bit pair sums: unsigned
// q ≤ 31 (Q5_K) gives at most 2·31·127; signed q is fed as |q| with its sign moved onto xq (vpsignb),
// |q| ≤ 128 (Q8_0), at most 2·128·127 = 32512 < 32767.
//
// Used when `quantizedDot == .int8` (GEMVQuant.swift dispatches). Determinism: each output element's
// operations depend only on K, never on its chunk.
import _Builtin_intrinsics.intel

// MARK: x in 8 bits

/// x[M, K] (K a multiple of 32) quantized per 32 values: xq [M, K] bytes, and per chunk dx and sx = dx·Σxq.
struct Int8Rows {
    let xq: UnsafeMutablePointer<Int8>, dx: UnsafeMutablePointer<Float>, sx: UnsafeMutablePointer<Float>

    /// Scratch floats `quantize` needs for M rows of K.
    static func scratchFloats(_ M: Int, _ K: Int) -> Int { M * K / 4 + 2 * M * K / 32 }

    init(_ scratch: UnsafeMutablePointer<Float>, _ M: Int, _ K: Int) {
        let chunks = M * K / 32
        dx = scratch
        sx = scratch + chunks
        xq = UnsafeMutableRawPointer(scratch + 2 * chunks).bindMemory(to: Int8.self, capacity: M * K)
    }

    /// Fills the rows from x: round to nearest even (vcvtps2dq), as ggml's AVX2 quantize_row_q8_1.
    func quantize(_ x: UnsafePointer<Float>, _ M: Int, _ K: Int) {
        let xr = UnsafeRawPointer(x)
        for c in 0..<M * K / 32 {
            let a0 = xr.loadUnaligned(fromByteOffset: 128 * c, as: SIMD8<Float>.self)
            let a1 = xr.loadUnaligned(fromByteOffset: 128 * c + 32, as: SIMD8<Float>.self)
            let a2 = xr.loadUnaligned(fromByteOffset: 128 * c + 64, as: SIMD8<Float>.self)
            let a3 = xr.loadUnaligned(fromByteOffset: 128 * c + 96, as: SIMD8<Float>.self)
            let m8 = _mm256_max_ps(_mm256_max_ps(abs8(a0), abs8(a1)), _mm256_max_ps(abs8(a2), abs8(a3)))
            let m4 = _mm_max_ps(m8.lowHalf, m8.highHalf)
            let amax = max(max(m4[0], m4[1]), max(m4[2], m4[3]))
            let d = amax / 127, id = amax > 0 ? 127 / amax : 0
            let s = SIMD8<Float>(repeating: id)
            let q0 = toInt32(a0 * s), q1 = toInt32(a1 * s), q2 = toInt32(a2 * s), q3 = toInt32(a3 * s)
            dx[c] = d
            sx[c] = d * Float(((q0 &+ q1) &+ (q2 &+ q3)).wrappedSum())
            let out = UnsafeMutableRawPointer(xq + 32 * c)
            out.storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: q0), toByteOffset: 0, as: SIMD8<Int8>.self)
            out.storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: q1), toByteOffset: 8, as: SIMD8<Int8>.self)
            out.storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: q2), toByteOffset: 16, as: SIMD8<Int8>.self)
            out.storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: q3), toByteOffset: 24, as: SIMD8<Int8>.self)
        }
    }
}

@inline(__always) private func abs8(_ v: SIMD8<Float>) -> SIMD8<Float> {
    _mm256_andnot_ps(SIMD8(repeating: -0.0), v)
}
@inline(__always) private func toInt32(_ v: SIMD8<Float>) -> SIMD8<Int32> {
    unsafeBitCast(_mm256_cvtps_epi32(v), to: SIMD8<Int32>.self)
}

// MARK: the formats' 32-weight chunks as bytes

/// A block format's chunk c (weights 32c ..< 32c+32 of a block) as 32 bytes in weight order, and the scales
/// of its 8 lanes of 4 weights.
protocol Int8Chunks: QuantFormat {
    /// Whether the bytes are signed (then m = 0); else they are unsigned q ≤ 31 with w = d·q + m.
    static var signedBytes: Bool { get }
    static func bytes(_ b: UnsafeRawPointer, _ c: Int) -> __m256i
}

extension Int8Chunks {
    /// d of each lane of chunk c (4 weights: one group's d, or two for 16-weight groups) and the chunk's m
    /// (groups of 32), from the block's `groupScales`.
    @inline(__always)
    static func chunkScales(_ gs: (d: SIMD16<Float>, m: SIMD16<Float>), _ c: Int) -> (d: SIMD8<Float>, m: Float) {
        if groupSize == 16 {
            return (SIMD8(lowHalf: SIMD4(repeating: gs.d[2 * c]), highHalf: SIMD4(repeating: gs.d[2 * c + 1])), 0)
        }
        return (SIMD8(repeating: gs.d[c]), gs.m[c])
    }
}

@inline(__always) private func load128(_ p: UnsafeRawPointer) -> __m128i { _mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self)) }
@inline(__always) private func load256(_ p: UnsafeRawPointer) -> __m256i { _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self)) }
/// 16 bytes of nibbles as 32 bytes: low nibbles first (weights 0–15), then the high ones (16–31).
@inline(__always) private func nibbles32(_ p: UnsafeRawPointer) -> __m256i {
    let v = load128(p)
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F))
}
/// 32 bytes shifted right by `s` bits each, masked to `mask`.
@inline(__always) private func bitsOf(_ p: UnsafeRawPointer, _ s: Int32, _ mask: Int8) -> __m256i {
    _mm256_and_si256(_mm256_srli_epi16(load256(p), s), _mm256_set1_epi8(mask))
}

extension Q4_0: Int8Chunks {
    static var signedBytes: Bool { true }
    @inline(__always) static func bytes(_ b: UnsafeRawPointer, _ c: Int) -> __m256i {
        _mm256_sub_epi8(nibbles32(b + 2), _mm256_set1_epi8(8))
    }
}
extension Q4_1: Int8Chunks {
    static var signedBytes: Bool { false }
    @inline(__always) static func bytes(_ b: UnsafeRawPointer, _ c: Int) -> __m256i { nibbles32(b + 4) }
}
extension Q8_0: Int8Chunks {
    static var signedBytes: Bool { true }
    @inline(__always) static func bytes(_ b: UnsafeRawPointer, _ c: Int) -> __m256i { load256(b + 2) }
}
extension Q4_K: Int8Chunks {
    static var signedBytes: Bool { false }
    // Sub-block c: the low (c even) or high (c odd) nibbles of the 32 bytes at 16 + 32·(c/2).
    @inline(__always) static func bytes(_ b: UnsafeRawPointer, _ c: Int) -> __m256i {
        bitsOf(b + 16 + 32 * (c >> 1), Int32(4 * (c & 1)), 0x0F)
    }
}
extension Q5_K: Int8Chunks {
    static var signedBytes: Bool { false }
    // As Q4_K from qs at 48, plus bit c of each of qh's 32 bytes as the 5th bit.
    @inline(__always) static func bytes(_ b: UnsafeRawPointer, _ c: Int) -> __m256i {
        let lo = bitsOf(b + 48 + 32 * (c >> 1), Int32(4 * (c & 1)), 0x0F)
        let hi = _mm256_slli_epi16(bitsOf(b + 16, Int32(c), 1), 4)
        return _mm256_or_si256(lo, hi)
    }
}
extension Q6_K: Int8Chunks {
    static var signedBytes: Bool { true }
    // Chunk c is half h = c/4, run r = c%4 (see Q6_K.quants), minus 32.
    @inline(__always) static func bytes(_ b: UnsafeRawPointer, _ c: Int) -> __m256i {
        let h = c >> 2, r = c & 3
        let lo = bitsOf(b + 64 * h + 32 * (r & 1), Int32(4 * (r >> 1)), 0x0F)
        let hi = _mm256_slli_epi16(bitsOf(b + 128 + 32 * h, Int32(2 * r), 3), 4)
        return _mm256_sub_epi8(_mm256_or_si256(lo, hi), _mm256_set1_epi8(32))
    }
}

// MARK: the kernel

func gemvInt8Rows<F: Int8Chunks>(_ f: F.Type, _ x: UnsafePointer<Float>, _ M: Int, _ W: Weight,
                                         _ n0: Int, _ n1: Int, _ y: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
    let K = W.cols, N = W.rows
    withScratch(floats: Int8Rows.scratchFloats(M, K)) { scratch in
        let xs = Int8Rows(scratch, M, K)
        xs.quantize(x, M, K)
        let w = W.base, rb = W.rowBytes, chunks = K / 32
        for m in 0..<M {
            let xq = UnsafeRawPointer(xs.xq + m * K), dx = UnsafePointer(xs.dx + m * chunks)
            let sx = UnsafePointer(xs.sx + m * chunks), ym = y + m * N
            for n in n0..<n1 { store(ym, n, gemvInt8x1(F.self, xq, dx, sx, chunks, w + n * rb), accumulate) }
        }
    }
}

/// The dot product of one 8-bit x row with one quantized W row.
@inline(__always)
private func gemvInt8x1<F: Int8Chunks>(_ f: F.Type, _ xq: UnsafeRawPointer, _ dx: UnsafePointer<Float>,
                                       _ sx: UnsafePointer<Float>, _ chunks: Int, _ w0: UnsafeRawPointer) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    var m0: Float = 0
    let perBlock = F.blockElements / 32
    var c = 0
    for blk in 0..<chunks / perBlock {
        let b0 = w0 + blk * F.blockBytes, gs = F.groupScales(b0)
        for j in 0..<perBlock {
            let xv = load256(xq + 32 * c), d = SIMD8<Float>(repeating: dx[c])
            let c0 = F.chunkScales(gs, j), t = dot32(F.self, F.bytes(b0, j), xv), s = c0.d * d
            if c & 1 == 0 { a0 = a0.addingProduct(t, s) } else { a1 = a1.addingProduct(t, s) }
            if !F.signedBytes { m0 = m0.addingProduct(c0.m, sx[c]) }
            c += 1
        }
    }
    return (a0 + a1).sum() + m0
}

/// Σ over the 8 lanes' 4-weight sums of q·xq, as 32-bit integers (lane i: weights 4i ..< 4i+4).
@inline(__always)
private func dot32<F: Int8Chunks>(_ f: F.Type, _ q: __m256i, _ xq: __m256i) -> __m256 {
    let pairs = F.signedBytes
        ? _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(xq, q))
        : _mm256_maddubs_epi16(q, xq)
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
}
