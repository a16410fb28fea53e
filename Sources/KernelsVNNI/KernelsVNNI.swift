// The 8-bit kernels of Kernels (written once, generic over `Int8DotISA`) compiled for AVX-512 VNNI (-target-cpu
// cascadelake: AVX-512 F/CD/BW/DQ/VL + VNNI), where `dot4` is one vpdpbusd. Numerics' Int8Screen.swift calls
// these only when the CPU reports avx512_vnni and the avx512 path is in use; nothing else belongs here.
import Kernels
import _Builtin_intrinsics.intel

/// vpdpbusd zmm: per int32 lane, acc + Σ of 4 products of an unsigned byte of `a` and a signed byte of `q`.
public enum VNNI: Int8DotISA {
    @inlinable @inline(__always)
    public static func dot4(_ acc: SIMD16<Int32>, _ a: SIMD16<Int32>, _ q: SIMD16<Int32>) -> SIMD16<Int32> {
        unsafeBitCast(
            _mm512_dpbusd_epi32(
                unsafeBitCast(acc, to: __m512i.self), unsafeBitCast(a, to: __m512i.self),
                unsafeBitCast(q, to: __m512i.self)), to: SIMD16<Int32>.self)
    }
}

/// One task of the screen (Kernels' `int8ScreenChunk`) with vpdpbusd.
public func int8ScreenChunk(
    M: Int, k4: Int, _ xu: UnsafeRawPointer, lda: Int, _ head: UnsafeRawPointer, panels: Range<Int>,
    _ out: UnsafeMutablePointer<Int32>, ldo: Int
) {
    Kernels.int8ScreenChunk(VNNI.self, M: M, k4: k4, xu, lda: lda, head, panels: panels, out, ldo: ldo)
}

/// The screen's second stage (Kernels' `int8Dots2x2`) for one token: (u·q, u·r, e·q, e·r) over n64 runs of 64 bytes.
public func int8Dots2x2(
    _ u: UnsafeRawPointer, _ e: UnsafeRawPointer, _ q: UnsafeRawPointer, _ r: UnsafeRawPointer, n64: Int
) -> (uq: Int32, ur: Int32, eq: Int32, er: Int32) {
    Kernels.int8Dots2x2(VNNI.self, u, e, q, r, n64: n64)
}
