// SIMD elementwise and reduction helpers over raw Float pointers.

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

/// min(max(x, lo), hi) per lane, written lane by lane so that it always inlines (to vmaxps/vminps): the
/// stdlib's generic `pointwiseMax` was left as a call.
@inlinable @inline(__always)
public func clamp8(_ x: SIMD8<Float>, _ lo: Float, _ hi: Float) -> SIMD8<Float> {
    @inline(__always) func c(_ v: Float) -> Float { Swift.min(Swift.max(v, lo), hi) }
    return SIMD8(c(x[0]), c(x[1]), c(x[2]), c(x[3]), c(x[4]), c(x[5]), c(x[6]), c(x[7]))
}

/// e^x for any x, 8 lanes: x is clamped to [−87, 88] first (vmaxps/vminps), so e^x saturates at about
/// 1.6e−38 and 1.7e38 instead of going to 0 and ∞ — softmax and σ(x) = 1/(1 + e^−x) are unchanged at fp32.
@inlinable @inline(__always)
public func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let c = clamp8(x, -87, 88)
    // expNonPositive8's reduction holds for |n| ≤ 126, which x ≤ 88 keeps (n ≤ 127 would overflow the bias add).
    return expNonPositive8(c)
}
