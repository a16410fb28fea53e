// y[M,N] (+)= x[M,K]·Wᵀ for a few rows (decode) with W in a 32-weight ggml block format (Q4_0, Q4_1, Q8_0),
// in 8-bit integers as ggml's CPU backend does it: each row of x is quantized to 8 bits per 32 values, and each
// block of a W row is dotted with it by vpmaddubsw/vpmaddwd, its scale applied once per block; one W row after
// another, as in GEMVQuant.swift (SmolLM2 Q4_1 decode, 2 threads: 55–62 tok/s with 4 rows interleaved, 90–102
// with one). The K-quants, whose scales are small integers, keep a whole super-block in int32: GEMVInt8K.swift.
//
//   x:  xq[k] = round(x[k] / dx_c) in −127…127, dx_c = max|x[chunk c]| / 127   (ggml's block_q8_1)
//       sx_c = dx_c · Σ xq over the chunk
//   W:  w = d·q + m per block, q ≥ 0 for Q4_1; q signed for Q4_0 (q − 8) and Q8_0, m = 0 there
//   y = Σ_c  dx_c · d_c · (Σ q·xq)  +  m_c · sx_c
//
// So y is the exact dot product of the dequantized W row with the 8-bit x (up to float reassociation); the
// 8-bit x differs from x by at most dx_c / 2 per element, so |y − x·w| ≤ ½ Σ_c dx_c Σ_{k∈c} |w_k| plus
// reassociation (QuantTests checks both). Products of q and xq fit vpmaddubsw's 16-bit pair sums: unsigned
// q ≤ 15 gives at most 2·15·127; signed q is fed as |q| with its sign moved onto xq (vpsignb), |q| ≤ 128
// (Q8_0), at most 2·128·127 = 32512 < 32767.
//
// Used when `quantizedDot == .int8` (GEMVQuant.swift dispatches). Determinism: each output element's
// operations depend only on K, never on its chunk.
// x86 only: on other CPUs `QuantizedDot.int8Available` is false and the exact product runs.
#if arch(x86_64)
import _Builtin_intrinsics.intel

// MARK: x in 8 bits

/// x[M, K] quantized per `chunk` values (32 for the 32-weight formats, as ggml's block_q8_1; 256 for the
/// K-quants, as its block_q8_K): xq [M, K] bytes, per chunk dx and sx = dx·Σxq, and per 16 values the
/// integer sums Σxq (the K-quant kernels apply their mins and offsets with them).
struct Int8Rows {
    let chunk: Int
    let xq: UnsafeMutablePointer<Int8>, dx: UnsafeMutablePointer<Float>, sx: UnsafeMutablePointer<Float>
    let sums16: UnsafeMutablePointer<Int16>

    /// Scratch floats `quantize` needs for M rows of K: dx and sx per chunk, an Int16 per 16 values, the bytes.
    static func scratchFloats(_ M: Int, _ K: Int, chunk: Int) -> Int { 2 * M * K / chunk + M * K / 32 + M * K / 4 }

    init(_ scratch: UnsafeMutablePointer<Float>, _ M: Int, _ K: Int, chunk: Int) {
        let chunks = M * K / chunk
        self.chunk = chunk
        dx = scratch
        sx = scratch + chunks
        sums16 = UnsafeMutableRawPointer(scratch + 2 * chunks).bindMemory(to: Int16.self, capacity: M * K / 16)
        xq = UnsafeMutableRawPointer(scratch + 2 * chunks + M * K / 32).bindMemory(to: Int8.self, capacity: M * K)
    }

    /// Fills the rows from x (K a multiple of `chunk`): dx = max|x| / 127 over the chunk, xq = x / dx rounded to
    /// nearest even (vcvtps2dq), as ggml's AVX2 quantize_row_q8_1.
    func quantize(_ x: UnsafePointer<Float>, _ M: Int, _ K: Int) {
        let xr = UnsafeRawPointer(x)
        @inline(__always) func load(_ i: Int) -> SIMD8<Float> {
            xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
        }
        for c in 0..<M * K / chunk {
            var m8 = SIMD8<Float>()
            for i in stride(from: chunk * c, to: chunk * (c + 1), by: 32) {
                m8 = _mm256_max_ps(
                    m8,
                    _mm256_max_ps(
                        _mm256_max_ps(abs8(load(i)), abs8(load(i + 8))),
                        _mm256_max_ps(abs8(load(i + 16)), abs8(load(i + 24)))))
            }
            let m4 = _mm_max_ps(m8.lowHalf, m8.highHalf)
            let amax = max(max(m4[0], m4[1]), max(m4[2], m4[3]))
            let d = amax / 127, id = amax > 0 ? 127 / amax : 0
            let s = SIMD8<Float>(repeating: id)
            var total: Int32 = 0
            for i in stride(from: chunk * c, to: chunk * (c + 1), by: 32) {
                let q0 = toInt32(load(i) * s), q1 = toInt32(load(i + 8) * s)
                let q2 = toInt32(load(i + 16) * s), q3 = toInt32(load(i + 24) * s)
                let lo = (q0 &+ q1).wrappedSum(), hi = (q2 &+ q3).wrappedSum()
                sums16[i / 16] = Int16(truncatingIfNeeded: lo)
                sums16[i / 16 + 1] = Int16(truncatingIfNeeded: hi)
                total &+= lo &+ hi
                let out = UnsafeMutableRawPointer(xq + i)
                out.storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: q0), toByteOffset: 0, as: SIMD8<Int8>.self)
                out.storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: q1), toByteOffset: 8, as: SIMD8<Int8>.self)
                out.storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: q2), toByteOffset: 16, as: SIMD8<Int8>.self)
                out.storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: q3), toByteOffset: 24, as: SIMD8<Int8>.self)
            }
            dx[c] = d
            sx[c] = d * Float(total)
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

/// A 32-weight block format's block as 32 bytes in weight order.
protocol Int8Chunks: QuantFormat {
    /// Whether the bytes are signed (then m = 0); else they are unsigned q ≤ 15 with w = d·q + m.
    static var signedBytes: Bool { get }
    static func bytes(_ b: UnsafeRawPointer) -> __m256i
}

@inline(__always) func load128(_ p: UnsafeRawPointer) -> __m128i {
    _mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self))
}
@inline(__always) func load256(_ p: UnsafeRawPointer) -> __m256i {
    _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self))
}
/// 16 bytes of nibbles as 32 bytes: low nibbles first (weights 0–15), then the high ones (16–31).
@inline(__always) private func nibbles32(_ p: UnsafeRawPointer) -> __m256i {
    let v = load128(p)
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F))
}

extension Q4_0: Int8Chunks {
    static var signedBytes: Bool { true }
    @inline(__always) static func bytes(_ b: UnsafeRawPointer) -> __m256i {
        _mm256_sub_epi8(nibbles32(b + 2), _mm256_set1_epi8(8))
    }
}
extension Q4_1: Int8Chunks {
    static var signedBytes: Bool { false }
    @inline(__always) static func bytes(_ b: UnsafeRawPointer) -> __m256i { nibbles32(b + 4) }
}
extension Q8_0: Int8Chunks {
    static var signedBytes: Bool { true }
    @inline(__always) static func bytes(_ b: UnsafeRawPointer) -> __m256i { load256(b + 2) }
}

// MARK: the kernel

func gemvInt8Rows<F: Int8Chunks>(
    _ f: F.Type, _ x: UnsafePointer<Float>, _ M: Int, _ W: Weight,
    _ n0: Int, _ n1: Int, _ y: UnsafeMutablePointer<Float>, _ accumulate: Bool
) {
    let K = W.cols, N = W.rows
    withScratch(floats: Int8Rows.scratchFloats(M, K, chunk: 32)) { scratch in
        let xs = Int8Rows(scratch, M, K, chunk: 32)
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
private func gemvInt8x1<F: Int8Chunks>(
    _ f: F.Type, _ xq: UnsafeRawPointer, _ dx: UnsafePointer<Float>,
    _ sx: UnsafePointer<Float>, _ chunks: Int, _ w0: UnsafeRawPointer
) -> Float {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    var m0: Float = 0
    for c in 0..<chunks {
        let b = w0 + c * F.blockBytes, (d, m) = F.scale(b, 0)
        let t = dot32(F.self, F.bytes(b), load256(xq + 32 * c)), s = SIMD8<Float>(repeating: d * dx[c])
        if c & 1 == 0 { a0 = a0.addingProduct(t, s) } else { a1 = a1.addingProduct(t, s) }
        if !F.signedBytes { m0 = m0.addingProduct(m, sx[c]) }
    }
    return (a0 + a1).sum() + m0
}

/// Σ over the 8 lanes' 4-weight sums of q·xq, as 32-bit integers (lane i: weights 4i ..< 4i+4).
@inline(__always)
private func dot32<F: Int8Chunks>(_ f: F.Type, _ q: __m256i, _ xq: __m256i) -> __m256 {
    let pairs =
        F.signedBytes
        ? _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(xq, q))
        : _mm256_maddubs_epi16(q, xq)
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
}
#endif
