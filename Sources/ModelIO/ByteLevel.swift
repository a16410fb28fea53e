// GPT-2's byte-level alphabet (openai/gpt-2 encoder.py `bytes_to_unicode`): every byte gets a printable
// Unicode character, so a vocabulary of strings can spell arbitrary bytes. Printable Latin-1 bytes
// ('!'...'~', '¡'...'¬', '®'...'ÿ') stand for themselves; the other 68 bytes map, in increasing order,
// to U+0100, U+0101, ... (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).

enum ByteLevel {
    /// byte -> its character's scalar value.
    static let byteToScalar: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 256)
        var n: UInt32 = 0
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                t[b] = UInt32(b)
            } else {
                t[b] = 256 + n
                n += 1
            }
        }
        return t
    }()

    /// scalar value (< 512) -> byte, or -1.
    static let scalarToByte: [Int16] = {
        var t = [Int16](repeating: -1, count: 512)
        for b in 0..<256 { t[Int(byteToScalar[b])] = Int16(b) }
        return t
    }()

    /// The byte-level spelling of one byte, as a String of one character.
    static let byteString: [String] = byteToScalar.map { String(Character(Unicode.Scalar($0)!)) }

    /// Bytes a byte-level piece stands for. Characters outside the alphabet (not produced by the
    /// encoder, but present in some vocabularies) are kept as their own UTF-8 bytes.
    static func decode(_ piece: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(piece.utf8.count)
        for s in piece.unicodeScalars {
            let v = s.value
            if v < 512, scalarToByte[Int(v)] >= 0 {
                out.append(UInt8(scalarToByte[Int(v)]))
            } else {
                out += Array(String(s).utf8)
            }
        }
        return out
    }
}
