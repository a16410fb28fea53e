// Turns tokens into text one at a time during generation without ever cutting a UTF-8 character in two:
// byte-fallback tokens (SentencePiece) and byte-level pieces (GPT-2) often carry a fraction of a character,
// so the bytes of an unfinished character wait for the next token.

public struct StreamingDecoder {
    let tokenizer: Tokenizer
    var pending: [UInt8] = []
    var stripPending: Bool
    let skipSpecial: Bool

    /// `sequenceStart`: the first pushed token starts a sequence, so a SentencePiece dummy-prefix space is
    /// dropped exactly as `decode` drops it (then the concatenated output equals `decode(ids)`). Leave it
    /// false when streaming a continuation of a prompt: a generated "▁Paris" is " Paris".
    public init(_ t: Tokenizer, sequenceStart: Bool = false, skipSpecial: Bool = false) {
        tokenizer = t
        self.skipSpecial = skipSpecial
        stripPending = sequenceStart && ((t as? SentencePieceBPETokenizer)?.addSpacePrefix ?? false)
    }

    /// Text completed by this token ("" while a character is incomplete).
    public mutating func push(_ id: Int32) -> String {
        let kind = tokenizer.tokenKind(id)
        if kind.isSpecial {
            if kind == .unknown { stripPending = false }
            if skipSpecial { return "" }
            pending += tokenizer.tokenBytes(id)
        } else {
            let b = tokenizer.tokenBytes(id)
            if stripPending, b.first == 0x20 { pending += b.dropFirst() } else { pending += b }
            stripPending = false
        }
        let cut = Self.completePrefix(pending)
        guard cut > 0 else { return "" }
        let s = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return s
    }

    /// Whatever is left (an unfinished character becomes U+FFFD).
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix that does not end inside an unfinished UTF-8 sequence. Invalid bytes
    /// are not held back (they can never complete); they decode to U+FFFD.
    static func completePrefix(_ b: [UInt8]) -> Int {
        let n = b.count
        var i = n - 1
        var cont = 0
        while i >= 0 && i >= n - 4 {
            let c = b[i]
            if c & 0xC0 == 0x80 { cont += 1; i -= 1; continue }
            let need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1
            return need > 1 && cont + 1 < need ? i : n
        }
        return n
    }
}
