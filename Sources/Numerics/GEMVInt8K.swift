// y[M,N] (+)= x[M,K]·Wᵀ for a few rows (decode) with W in a K-quant (Q4_K, Q5_K, Q6_K), in 8-bit integers as
// ggml's CPU backend does it (its vec_dot_q*_K_q8_K): each row of x is quantized to 8 bits per 256 values (one
// super-block, ggml's block_q8_K), and each super-block of a W row is dotted with it in int32: the sub-block
// scales are small integers, applied by vpmaddwd, so a super-block costs one conversion to float and one FMA.
//
//   x:  xq[k] = round(x[k] / dx_b), dx_b = max|x[super-block b]| / 127;  s16_g = Σ xq over the 16 values g
//   Q4_K, Q5_K:  w = d·sc_j·q − dmin·mn_j     (sub-block j of 32 weights; q ≥ 0; sc, mn 6-bit)
//       y_b = dx_b · ( d · Σ_j sc_j Σ q·xq  −  dmin · Σ_j mn_j (s16_2j + s16_2j+1) )
//   Q6_K:        w = d·sc_g·(q − 32)          (group g of 16 weights; q 0…63; sc signed 8-bit)
//       y_b = dx_b · d · ( Σ_g sc_g Σ q·xq  −  32 Σ_g sc_g s16_g )
//   y = Σ_b y_b
//
// The integer parts are exact: vpmaddubsw's pair sums |q·xq + q'·xq'| ≤ 2·63·127 = 16002 do not saturate,
// vpmaddwd's scaled pairs ≤ 2·16002·128, and a super-block's lane sums stay below 2^26. So y is the dot product
// of the dequantized W row with the 8-bit x up to float reassociation, and as for the 32-weight formats
// (GEMVInt8.swift) |y − x·w| ≤ ½ Σ_b dx_b Σ_{k∈b} |w_k| plus reassociation (QuantTests checks both).
//
// Used when `quantizedDot == .int8` (GEMVQuant.swift dispatches). Determinism: each output element's
// operations depend only on K, never on its chunk.
// x86 only: on other CPUs `QuantizedDot.int8Available` is false and the exact product runs.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// A K-quant super-block dotted with its 256 8-bit x values, in integers.
protocol Int8SuperBlocks: QuantFormat {
    /// For the block at b, its x bytes xq and their 16 sums s16: int32 lanes summing to the scaled Σ q·xq (with
    /// Q6_K's offset applied) and its float scale d; for the formats with a min, lanes summing to Σ_j mn_j Σxq
    /// and their scale dmin (y_b / dx_b = d·Σ dot − dmin·Σ mins).
    static func superDot(_ b: UnsafeRawPointer, _ xq: UnsafeRawPointer, _ s16: UnsafeRawPointer)
        -> (dot: __m256i, d: Float, mins: __m256i, dmin: Float)
}

// MARK: the formats

/// The 8 six-bit scales and 8 six-bit mins of a Q4_K/Q5_K block, a byte each (scaleMinK4 for all j at once):
/// sub-blocks 0–3 in the low 6 bits of bytes 0–3 / 4–7 of the packed 12, sub-blocks 4–7 from the nibbles of
/// bytes 8–11 and the top 2 bits of bytes 0–3 / 4–7.
@inline(__always)
private func scalesMinsK4(_ p: UnsafeRawPointer) -> (scales: UInt64, mins: UInt64) {
    let q0 = p.loadUnaligned(as: UInt32.self), q1 = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
    let q2 = p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
    let sc = (q2 & 0x0F0F_0F0F) | (((q0 >> 6) & 0x0303_0303) << 4)
    let mn = ((q2 >> 4) & 0x0F0F_0F0F) | (((q1 >> 6) & 0x0303_0303) << 4)
    return (UInt64(q0 & 0x3F3F_3F3F) | UInt64(sc) << 32, UInt64(q1 & 0x3F3F_3F3F) | UInt64(mn) << 32)
}

/// Pair j of a Q4_K/Q5_K block (sub-blocks 2j, 2j+1: the q bytes lo, hi) against its 64 x bytes, scaled.
/// `scales`: the 8 scales as int16 in both 128-bit lanes; vpshufb picks sub-block s's in every lane.
@inline(__always)
private func scaledPairK4(_ lo: __m256i, _ hi: __m256i, _ xq: UnsafeRawPointer, _ scales: __m256i, _ j: Int) -> __m256i
{
    @inline(__always) func pick(_ s: Int) -> __m256i {
        _mm256_shuffle_epi8(scales, _mm256_set1_epi16(Int16(2 * s | (2 * s + 1) << 8)))
    }
    let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(xq + 64 * j)), pick(2 * j))
    let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(xq + 64 * j + 32)), pick(2 * j + 1))
    return _mm256_add_epi32(p0, p1)
}

/// Σ_j mn_j (s16_2j + s16_2j+1) as 8 int32 lanes (lane j: sub-block j).
@inline(__always)
private func minsK4(_ mins: UInt64, _ s16: UnsafeRawPointer) -> __m256i {
    let sums32 = _mm256_madd_epi16(load256(s16), _mm256_set1_epi16(1))
    return _mm256_mullo_epi32(sums32, _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(Int64(bitPattern: mins))))
}

extension Q4_K: Int8SuperBlocks {
    // Pair j: the low (sub-block 2j) and high (2j+1) nibbles of the 32 bytes at 16 + 32j.
    @inline(__always)
    static func superDot(_ b: UnsafeRawPointer, _ xq: UnsafeRawPointer, _ s16: UnsafeRawPointer)
        -> (dot: __m256i, d: Float, mins: __m256i, dmin: Float)
    {
        let (sc, mn) = scalesMinsK4(b + 4)
        let scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(Int64(bitPattern: sc))))
        var acc = _mm256_setzero_si256()
        for j in 0..<4 {
            let v = load256(b + 16 + 32 * j), m4 = _mm256_set1_epi8(0x0F)
            let lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4)
            acc = _mm256_add_epi32(acc, scaledPairK4(lo, hi, xq, scales, j))
        }
        return (acc, halfAt(b, 0), minsK4(mn, s16), halfAt(b, 2))
    }
}

extension Q5_K: Int8SuperBlocks {
    // As Q4_K with qs at 48, plus bit s of each of qh's 32 bytes (at 16) as sub-block s's 5th bit.
    @inline(__always)
    static func superDot(_ b: UnsafeRawPointer, _ xq: UnsafeRawPointer, _ s16: UnsafeRawPointer)
        -> (dot: __m256i, d: Float, mins: __m256i, dmin: Float)
    {
        let (sc, mn) = scalesMinsK4(b + 4)
        let scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(Int64(bitPattern: sc))))
        let qh = load256(b + 16), one = _mm256_set1_epi8(1)
        var acc = _mm256_setzero_si256()
        for j in 0..<4 {
            let v = load256(b + 48 + 32 * j), m4 = _mm256_set1_epi8(0x0F)
            let h0 = _mm256_and_si256(_mm256_srli_epi16(qh, Int32(2 * j)), one)
            let h1 = _mm256_and_si256(_mm256_srli_epi16(qh, Int32(2 * j + 1)), one)
            let lo = _mm256_or_si256(_mm256_and_si256(v, m4), _mm256_slli_epi16(h0, 4))
            let hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), _mm256_slli_epi16(h1, 4))
            acc = _mm256_add_epi32(acc, scaledPairK4(lo, hi, xq, scales, j))
        }
        return (acc, halfAt(b, 0), minsK4(mn, s16), halfAt(b, 2))
    }
}

extension Q6_K: Int8SuperBlocks {
    // Chunk c of 32 weights is half h = c/4, run r = c%4 (see Q6_K.quants): q = low nibble | 2 high bits << 4,
    // unsigned; its two 16-weight groups 2c, 2c+1 fill the low and high 128-bit lanes of the pair sums.
    @inline(__always)
    static func superDot(_ b: UnsafeRawPointer, _ xq: UnsafeRawPointer, _ s16: UnsafeRawPointer)
        -> (dot: __m256i, d: Float, mins: __m256i, dmin: Float)
    {
        let sc8 = load128(b + 192)
        // Scales 0–7 and 8–15 as int16, each set in both lanes; vpshufb gives lane 0 group 2c's, lane 1 2c+1's.
        let first = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(sc8))
        let second = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_unpackhi_epi64(sc8, sc8)))
        // Chunk c of 32 weights (written out: a loop over c is not unrolled, and its shifts would not be immediates).
        @inline(__always) func chunk(_ c: Int, _ sh4: Int32, _ sh2: Int32) -> __m256i {
            let h = c >> 2, r = c & 3
            let lo = _mm256_and_si256(
                _mm256_srli_epi16(load256(b + 64 * h + 32 * (r & 1)), sh4), _mm256_set1_epi8(0x0F))
            let hi = _mm256_and_si256(_mm256_srli_epi16(load256(b + 128 + 32 * h), sh2), _mm256_set1_epi8(3))
            let q = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4))
            let g = 2 * (c & 3)  // the pair's first group within its set of 8 scales
            let pick = _mm256_set_m128i(
                _mm_set1_epi16(Int16(2 * g + 2 | (2 * g + 3) << 8)),
                _mm_set1_epi16(Int16(2 * g | (2 * g + 1) << 8)))
            let scale = _mm256_shuffle_epi8(c < 4 ? first : second, pick)
            return _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(xq + 32 * c)), scale)
        }
        let acc = _mm256_add_epi32(
            _mm256_add_epi32(
                _mm256_add_epi32(chunk(0, 0, 0), chunk(1, 0, 2)), _mm256_add_epi32(chunk(2, 4, 4), chunk(3, 4, 6))),
            _mm256_add_epi32(
                _mm256_add_epi32(chunk(4, 0, 0), chunk(5, 0, 2)), _mm256_add_epi32(chunk(6, 4, 4), chunk(7, 4, 6))))
        let offset = _mm256_madd_epi16(load256(s16), _mm256_cvtepi8_epi16(sc8))  // Σ_g sc_g s16_g
        return (_mm256_sub_epi32(acc, _mm256_slli_epi32(offset, 5)), halfAt(b, 208), _mm256_setzero_si256(), 0)
    }
}

// MARK: the kernel

func gemvInt8SuperRows<F: Int8SuperBlocks>(
    _ f: F.Type, _ x: UnsafePointer<Float>, _ M: Int, _ W: Weight,
    _ n0: Int, _ n1: Int, _ y: UnsafeMutablePointer<Float>, _ accumulate: Bool
) {
    let K = W.cols, N = W.rows
    withScratch(floats: Int8Rows.scratchFloats(M, K, chunk: 256)) { scratch in
        let xs = Int8Rows(scratch, M, K, chunk: 256)
        xs.quantize(x, M, K)
        let w = W.base, rb = W.rowBytes, blocks = K / 256
        for m in 0..<M {
            let xq = UnsafeRawPointer(xs.xq + m * K), dx = UnsafePointer(xs.dx + m * blocks)
            let s16 = UnsafeRawPointer(xs.sums16 + m * K / 16), ym = y + m * N
            for n in n0..<n1 { store(ym, n, gemvInt8Super1(F.self, xq, dx, s16, blocks, w + n * rb), accumulate) }
        }
    }
}

/// The dot product of one 8-bit x row with one K-quant W row.
@inline(__always)
private func gemvInt8Super1<F: Int8SuperBlocks>(
    _ f: F.Type, _ xq: UnsafeRawPointer, _ dx: UnsafePointer<Float>,
    _ s16: UnsafeRawPointer, _ blocks: Int, _ w0: UnsafeRawPointer
) -> Float {
    var a = SIMD8<Float>(), mn = SIMD8<Float>()
    for blk in 0..<blocks {
        let r = F.superDot(w0 + blk * F.blockBytes, xq + 256 * blk, s16 + 32 * blk)
        a = a.addingProduct(toFloats(r.dot), SIMD8(repeating: r.d * dx[blk]))
        if F.hasMin { mn = mn.addingProduct(toFloats(r.mins), SIMD8(repeating: r.dmin * dx[blk])) }
    }
    return a.sum() - mn.sum()
}

@inline(__always) private func toFloats(_ v: __m256i) -> SIMD8<Float> { _mm256_cvtepi32_ps(v) }
#endif
