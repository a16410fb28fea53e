// Pre-tokenizers of byte-level BPE models: the text is cut into words before BPE runs on each word.
// Written by hand after the regexes llama.cpp uses (src/llama-vocab.cpp, `regex_exprs` per pre-type) and
// its hand-coded matchers for the two common ones (src/unicode.cpp `unicode_regex_split_custom_gpt2/llama3`):
//
//   gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   smollm (also starcoder, refact, command-r, codeshell...): first `\p{N}` (every number character becomes
//           its own chunk), then gpt2 inside each chunk.
//
// Character classes are Unicode's: \p{L} = general category L*, \p{N} = N*, \s = White_Space (which
// includes U+00A0 and U+3000, as in llama.cpp's tables). Lookahead and "no match" never cross a chunk edge.

public enum PreTokenizerKind: Sendable, Equatable {
    case gpt2
    case llama3
    /// Split every \p{N} character off first, then gpt2.
    case digitsThenGPT2

    /// The kind for a GGUF `tokenizer.ggml.pre` value; nil when unsupported.
    public init?(ggufPre pre: String?) {
        switch pre ?? "default" {
        case "default", "gpt2", "gpt-2", "olmo", "jais", "poro-chat", "viking", "pixtral": self = .gpt2
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe", "bailingmoe": self = .llama3
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b": self = .digitsThenGPT2
        default: return nil
        }
    }
}

enum CharFlags {
    static let letter: UInt8 = 1, number: UInt8 = 2, space: UInt8 = 4, defined: UInt8 = 8

    static let ascii: [UInt8] = (0..<128).map { flagsSlow(UInt32($0)) }

    static func flags(_ c: UInt32) -> UInt8 { c < 128 ? ascii[Int(c)] : flagsSlow(c) }

    static func flagsSlow(_ c: UInt32) -> UInt8 {
        guard let s = Unicode.Scalar(c) else { return defined }
        var f = defined
        let p = s.properties
        if p.isWhitespace { f |= space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: f |= letter
        case .decimalNumber, .letterNumber, .otherNumber: f |= number
        default: break
        }
        return f
    }
}

struct PreTokenizer {
    let kind: PreTokenizerKind

    /// Cuts `cps` (code points) into words; returns the words' ranges, covering `cps` in order.
    func split(_ cps: [UInt32]) -> [Range<Int>] {
        let flags = cps.map(CharFlags.flags)
        var out: [Range<Int>] = []
        out.reserveCapacity(cps.count / 3 + 1)
        switch kind {
        case .gpt2: splitGPT2(cps, flags, 0..<cps.count, &out)
        case .llama3: splitLlama3(cps, flags, 0..<cps.count, &out)
        case .digitsThenGPT2:
            var start = 0
            for i in 0..<cps.count where flags[i] & CharFlags.number != 0 {
                if i > start { splitGPT2(cps, flags, start..<i, &out) }
                out.append(i..<(i + 1))
                start = i + 1
            }
            if start < cps.count { splitGPT2(cps, flags, start..<cps.count, &out) }
        }
        return out
    }

    /// Length of the English contraction ('s 't 're 've 'm 'll 'd) starting at pos, or 0.
    private func contractionLength(_ cps: [UInt32], _ pos: Int, _ end: Int, ignoringCase: Bool) -> Int {
        guard cps[pos] == 0x27, pos + 1 < end else { return 0 }
        func at(_ i: Int) -> UInt32 {
            let x = cps[i]
            return ignoringCase && (0x41...0x5A).contains(x) ? x + 32 : x
        }
        let n1 = at(pos + 1)
        if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 { return 2 }
        guard pos + 2 < end else { return 0 }
        let n2 = at(pos + 2)
        return (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) ? 3 : 0
    }

    private func splitGPT2(_ cps: [UInt32], _ fl: [UInt8], _ r: Range<Int>, _ out: inout [Range<Int>]) {
        let end = r.upperBound
        @inline(__always) func f(_ i: Int) -> UInt8 { i < end ? fl[i] : 0 }
        let L = CharFlags.letter, N = CharFlags.number, S = CharFlags.space
        var pos = r.lowerBound
        var prev = pos
        func add(_ e: Int) { if e > prev { out.append(prev..<e) }; prev = e }
        while pos < end {
            let cpt = cps[pos]
            let flags = fl[pos]
            // 's|'t|'re|'ve|'m|'ll|'d
            let cg = contractionLength(cps, pos, end, ignoringCase: false)
            if cg > 0 { pos += cg; add(pos); continue }
            var f2 = cpt == 0x20 ? f(pos + 1) : flags
            // ' ?\p{L}+'
            if f2 & L != 0 {
                if cpt == 0x20 { pos += 1 }
                while f(pos) & L != 0 { pos += 1 }
                add(pos); continue
            }
            // ' ?\p{N}+'
            if f2 & N != 0 {
                if cpt == 0x20 { pos += 1 }
                while f(pos) & N != 0 { pos += 1 }
                add(pos); continue
            }
            // ' ?[^\s\p{L}\p{N}]+'
            if f2 & (S | L | N) == 0 && f2 != 0 {
                if cpt == 0x20 { pos += 1 }
                while f2 & (S | L | N) == 0 && f2 != 0 { pos += 1; f2 = f(pos) }
                add(pos); continue
            }
            var nws = 0
            while f(pos + nws) & S != 0 { nws += 1 }
            // '\s+(?!\S)': leave the last space to start the next word
            if nws > 1 && pos + nws < end { pos += nws - 1; add(pos); continue }
            // '\s+'
            if nws > 0 { pos += nws; add(pos); continue }
            pos += 1; add(pos)
        }
    }

    private func splitLlama3(_ cps: [UInt32], _ fl: [UInt8], _ r: Range<Int>, _ out: inout [Range<Int>]) {
        let end = r.upperBound
        @inline(__always) func f(_ i: Int) -> UInt8 { i < end ? fl[i] : 0 }
        @inline(__always) func c(_ i: Int) -> UInt32 { i < end ? cps[i] : 0xFFFF_FFFF }
        let L = CharFlags.letter, N = CharFlags.number, S = CharFlags.space
        var pos = r.lowerBound
        var prev = pos
        func add(_ e: Int) { if e > prev { out.append(prev..<e) }; prev = e }
        while pos < end {
            let cpt = cps[pos]
            let flags = fl[pos]
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            let cl = contractionLength(cps, pos, end, ignoringCase: true)
            if cl > 0 { pos += cl; add(pos); continue }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(cpt == 0x0D || cpt == 0x0A || flags & N != 0) {
                if flags & L != 0 || f(pos + 1) & L != 0 {
                    pos += 1
                    while f(pos) & L != 0 { pos += 1 }
                    add(pos); continue
                }
            }
            // \p{N}{1,3}
            if flags & N != 0 {
                var ini = pos
                while f(pos) & N != 0 {
                    pos += 1
                    if pos - ini >= 3 { add(pos); ini = pos }
                }
                add(pos); continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            var f2 = cpt == 0x20 ? f(pos + 1) : flags
            if f2 & (S | L | N) == 0 && flags != 0 {
                if cpt == 0x20 { pos += 1 }
                while f2 & (S | L | N) == 0 && f2 != 0 { pos += 1; f2 = f(pos) }
                var c2 = c(pos)
                while c2 == 0x0D || c2 == 0x0A { pos += 1; c2 = c(pos) }
                add(pos); continue
            }
            var nws = 0
            var lastRN = 0
            while f(pos + nws) & S != 0 {
                let c2 = c(pos + nws)
                if c2 == 0x0D || c2 == 0x0A { lastRN = pos + nws + 1 }
                nws += 1
            }
            // \s*[\r\n]+
            if lastRN > 0 { pos = lastRN; add(pos); continue }
            // \s+(?!\S)
            if nws > 1 && pos + nws < end { pos += nws - 1; add(pos); continue }
            // \s+
            if nws > 0 { pos += nws; add(pos); continue }
            pos += 1; add(pos)
        }
    }
}
