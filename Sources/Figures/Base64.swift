// Base64 (RFC 4648 §4: the standard alphabet, '=' padding, no line breaks), for embedding PNGs in an HTML
// page as `data:` URIs, so a report is one self-contained file.

private let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

/// Every 3 bytes become 4 characters of 6 bits each; a final 1 or 2 bytes are padded with "==" or "=".
public func base64Encode(_ bytes: [UInt8]) -> String {
    var out = [UInt8]()
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var i = 0
    while i + 3 <= bytes.count {
        let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
        for s in [18, 12, 6, 0] { out.append(base64Alphabet[Int(v >> UInt32(s)) & 63]) }
        i += 3
    }
    let rest = bytes.count - i
    if rest > 0 {
        let v = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
        out.append(base64Alphabet[Int(v >> 18) & 63])
        out.append(base64Alphabet[Int(v >> 12) & 63])
        out.append(rest == 2 ? base64Alphabet[Int(v >> 6) & 63] : UInt8(ascii: "="))
        out.append(UInt8(ascii: "="))
    }
    return String(decoding: out, as: UTF8.self)
}
