// Checksums used by the PNG writer: CRC-32 (PNG spec §5.5, ISO 3309 / ITU-T V.42 polynomial, reflected
// form 0xEDB88320, as in the sample code of PNG spec Annex D) and Adler-32 (RFC 1950 §8.2).

/// Table for the byte-at-a-time reflected CRC-32 (PNG Annex D `make_crc_table`).
private let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}

/// Running CRC-32: start from `0`, feed bytes with `update`, read `value`. Splitting the input across
/// calls gives the same result as one call over the concatenation (PNG computes it over type + data).
public struct CRC32 {
    private var c: UInt32 = 0xFFFF_FFFF
    public init() {}
    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        crcTable.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
    }
    public var value: UInt32 { c ^ 0xFFFF_FFFF }
}

/// CRC-32 of `bytes` ("123456789" → 0xCBF43926).
public func crc32<S: Sequence>(_ bytes: S) -> UInt32 where S.Element == UInt8 {
    var c = CRC32(); c.update(bytes); return c.value
}

/// Adler-32 (RFC 1950 §8.2): two sums mod 65521. The sums are reduced every 5552 bytes, the largest n
/// for which 255·n(n+1)/2 + (n+1)(65521−1) still fits in 32 bits (zlib's NMAX), so nothing overflows.
public func adler32(_ bytes: [UInt8]) -> UInt32 {
    var a: UInt32 = 1, b: UInt32 = 0
    bytes.withUnsafeBufferPointer { p in
        var i = 0
        while i < p.count {
            let end = min(p.count, i + 5552)
            while i < end { a &+= UInt32(p[i]); b &+= a; i += 1 }
            a %= 65521; b %= 65521
        }
    }
    return (b << 16) | a
}
