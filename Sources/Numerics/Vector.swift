// SIMD elementwise and reduction helpers over raw Float pointers.
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

@inlinable
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 16 <= n {
        acc0.addProduct(
            ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self),
            rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
        acc1.addProduct(
            ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self),
            rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self))
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// y += a * x
@inlinable
public func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    let va = SIMD8<Float>(repeating: a)
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    while i + 8 <= n {
        let yv = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        ry.storeBytes(
            of: yv.addingProduct(va, rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)),
            toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { y[i] += a * x[i]; i += 1 }
}

/// y += x
@inlinable
public func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    while i + 8 <= n {
        let s =
            ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            + rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        ry.storeBytes(of: s, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { y[i] += x[i]; i += 1 }
}

/// The largest of x[0 ..< n] (−∞ for n = 0; NaNs are skipped, as vmaxps does): 8 lanes, then the lanes.
@inlinable
public func maxElement(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    let raw = UnsafeRawPointer(x)
    var m0 = SIMD8<Float>(repeating: -.infinity), m1 = m0
    var i = 0
    while i + 16 <= n {
        m0 = max8(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), m0)
        m1 = max8(raw.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self), m1)
        i += 16
    }
    if i + 8 <= n { m0 = max8(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), m0); i += 8 }
    var m = max8(m0, m1).max()
    while i < n { if x[i] > m { m = x[i] }; i += 1 }
    return m
}

/// x[i] *= s for i < n.
@inlinable
public func scaleInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int, by s: Float) {
    let raw = UnsafeMutableRawPointer(x), sv = SIMD8<Float>(repeating: s)
    var i = 0
    while i + 8 <= n {
        raw.storeBytes(
            of: raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * sv, toByteOffset: 4 * i,
            as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { x[i] *= s; i += 1 }
}

extension SIMD8 where Scalar == Float {
    @inlinable @inline(__always)
    public mutating func addProduct(_ a: SIMD8<Float>, _ b: SIMD8<Float>) { self = self.addingProduct(a, b) }
}

// MARK: exp

/// e^x for −87 ≤ x ≤ 0, 8 lanes (callers guarantee the range: below −87 the 2^n bit trick breaks; `exp8` clamps).
/// Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2, and Cephes' degree-6 polynomial for e^r
/// (relative error about 2e-7); 2^n is built in the exponent bits. No lane masks: Swift lowers SIMD
/// comparisons and `replacing(with:where:)` to per-lane code (measured 10 ns per vector), so this uses only
/// arithmetic and bit operations.
@inlinable @inline(__always)
public func expNonPositive8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let magic = SIMD8<Float>(repeating: 12582912)  // 1.5·2²³: adding it rounds to an integer
    let j = (x * SIMD8(repeating: 1.44269504088896341)) + magic
    let n = j - magic
    var r = x.addingProduct(n, SIMD8(repeating: -0.693359375))  // ln2 split hi + lo (Cephes)
    r = r.addingProduct(n, SIMD8(repeating: 2.12194440e-4))
    var p = SIMD8<Float>(repeating: 1.3981999507e-3).addingProduct(SIMD8(repeating: 1.9875691500e-4), r)
    p = SIMD8<Float>(repeating: 8.3334519073e-3).addingProduct(p, r)
    p = SIMD8<Float>(repeating: 4.1665795894e-2).addingProduct(p, r)
    p = SIMD8<Float>(repeating: 1.6666665459e-1).addingProduct(p, r)
    p = SIMD8<Float>(repeating: 5.0000001201e-1).addingProduct(p, r)
    let r2 = r * r
    let e = (r + 1).addingProduct(p, r2)
    // The low mantissa bits of j hold n (two's complement); shifting them into the exponent field
    // discards the magic's own bits, and adding the bias 127 gives the bits of 2^n.
    let bits = unsafeBitCast(j, to: SIMD8<UInt32>.self) &<< 23 &+ SIMD8(repeating: 127 << 23)
    return e * unsafeBitCast(bits, to: SIMD8<Float>.self)
}

/// The larger of a and b per lane (b where either is NaN, as vmaxps). On x86 one vmaxps: Swift's `max` per lane
/// keeps NaN semantics with a compare and branch per lane, and the stdlib's generic `pointwiseMax` was left as a
/// call; the lane-by-lane form measured 4 ns per SwiGLU element where the whole vector op takes 0.3.
@inlinable @inline(__always)
public func max8(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    #if arch(x86_64)
    return _mm256_max_ps(a, b)
    #else
    @inline(__always) func m(_ x: Float, _ y: Float) -> Float { x > y ? x : y }
    return SIMD8(
        m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2]), m(a[3], b[3]), m(a[4], b[4]), m(a[5], b[5]),
        m(a[6], b[6]), m(a[7], b[7]))
    #endif
}

/// The smaller of a and b per lane (b where either is NaN, as vminps).
@inlinable @inline(__always)
public func min8(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    #if arch(x86_64)
    return _mm256_min_ps(a, b)
    #else
    @inline(__always) func m(_ x: Float, _ y: Float) -> Float { x < y ? x : y }
    return SIMD8(
        m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2]), m(a[3], b[3]), m(a[4], b[4]), m(a[5], b[5]),
        m(a[6], b[6]), m(a[7], b[7]))
    #endif
}

/// min(max(x, lo), hi) per lane (vmaxps, vminps).
@inlinable @inline(__always)
public func clamp8(_ x: SIMD8<Float>, _ lo: Float, _ hi: Float) -> SIMD8<Float> {
    min8(max8(x, SIMD8(repeating: lo)), SIMD8(repeating: hi))
}

/// e^x for any x, 8 lanes: x is clamped to [−87, 88] first (vmaxps/vminps), so e^x saturates at about
/// 1.6e−38 and 1.7e38 instead of going to 0 and ∞ — softmax and σ(x) = 1/(1 + e^−x) are unchanged at fp32.
@inlinable @inline(__always)
public func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let c = clamp8(x, -87, 88)
    // expNonPositive8's reduction holds for |n| ≤ 126, which x ≤ 88 keeps (n ≤ 127 would overflow the bias add).
    return expNonPositive8(c)
}
