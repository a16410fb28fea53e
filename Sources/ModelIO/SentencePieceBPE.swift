// SentencePiece-style BPE with byte fallback (Llama 2, llama2.c tokenizers): spaces become "▁" (U+2581),
// a dummy "▁" is prepended to each text run that starts the input or follows a special token (llama.cpp
// `llm_tokenizer_spm`; for plain text this is sentencepiece's add_dummy_prefix), the text is split into
// UTF-8 characters, and the adjacent pair whose concatenation is a vocabulary piece with the highest score
// is merged until none is left (ties: leftmost), as in sentencepiece bpe_model.cc. A character with no
// piece falls back to its bytes' `<0xXX>` tokens (or `<unk>` if the vocabulary has no byte tokens).
import Foundation

public final class SentencePieceBPETokenizer: VocabularyTokenizer {
    let vocab: Vocabulary
    let core: TokenizerCore
    public let addSpacePrefix: Bool
    /// sentencepiece's `remove_extra_whitespaces`: trim and collapse runs of spaces before encoding.
    public let removeExtraWhitespaces: Bool
    /// Pieces that may result from a merge: normal, user-defined and unused (unused ones are split back,
    /// sentencepiece's `rev_merge`). Control, unknown and byte pieces never come out of a merge.
    let mergeable: [[UInt8]: Int32]
    /// `<0xXX>` token for each byte, or -1.
    let byteIds: [Int32]

    init(vocab: Vocabulary, addSpacePrefix: Bool, removeExtraWhitespaces: Bool = false) {
        self.vocab = vocab
        self.addSpacePrefix = addSpacePrefix
        self.removeExtraWhitespaces = removeExtraWhitespaces
        var m = [[UInt8]: Int32](minimumCapacity: vocab.count)
        var bytes = [Int32](repeating: -1, count: 256)
        for i in 0..<vocab.count {
            switch vocab.kinds[i] {
            case .normal, .userDefined, .unused:
                // -inf: a piece no merge may produce (tokenizer.json vocabularies, see loadTokenizerJSON).
                if vocab.scores[i] != -.infinity, m[Array(vocab.pieces[i].utf8)] == nil {
                    m[Array(vocab.pieces[i].utf8)] = Int32(i)
                }
            case .byte:
                if let b = parseBytePiece(vocab.pieces[i]), bytes[Int(b)] < 0 { bytes[Int(b)] = Int32(i) }
            default: break
            }
        }
        mergeable = m
        byteIds = bytes
        let rendered: [[UInt8]] = (0..<vocab.count).map { i in
            let p = vocab.pieces[i]
            switch vocab.kinds[i] {
            case .byte: if let b = parseBytePiece(p) { return [b] } else { return Array(p.utf8) }
            case .normal, .unused: return Array(p.replacingOccurrences(of: "\u{2581}", with: " ").utf8)
            default: return Array(p.utf8)
            }
        }
        core = TokenizerCore(vocab: vocab, rendered: rendered, stripsLeadingSpace: addSpacePrefix)
    }

    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var out: [Int32] = []
        if addSpecial && vocab.addBOS, let b = vocab.bos { out.append(b) }
        var bytes = Array(text.utf8)
        if removeExtraWhitespaces { bytes = Self.collapseSpaces(bytes) }
        var prevSpecial = true
        for frag in vocab.partition(bytes, parseSpecial: parseSpecial) {
            switch frag {
            case .token(let id):
                out.append(id)
                prevSpecial = true
            case .text(let r):
                var t: [UInt8] = []
                t.reserveCapacity(r.count + 8)
                if addSpacePrefix && prevSpecial { t += [0xE2, 0x96, 0x81] }
                for b in bytes[r] { if b == 0x20 { t += [0xE2, 0x96, 0x81] } else { t.append(b) } }
                encodeSegment(t, into: &out)
                prevSpecial = false
            }
        }
        if addSpecial && vocab.addEOS, let e = vocab.eos { out.append(e) }
        return out
    }

    static func collapseSpaces(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var lastSpace = true
        for c in b {
            if c == 0x20 { if !lastSpace { out.append(c) }; lastSpace = true } else { out.append(c); lastSpace = false }
        }
        while out.last == 0x20 { out.removeLast() }
        return out
    }

    private struct Bigram: Comparable {
        let score: Float, left: Int32, right: Int32, size: Int32
        // "Less" = popped first: higher score, then leftmost.
        static func < (a: Bigram, b: Bigram) -> Bool { a.score != b.score ? a.score > b.score : a.left < b.left }
        static func == (a: Bigram, b: Bigram) -> Bool { a.score == b.score && a.left == b.left }
    }

    /// BPE on one escaped text run (already "▁"-escaped, dummy prefix included).
    func encodeSegment(_ t: [UInt8], into out: inout [Int32]) {
        guard !t.isEmpty else { return }
        // Symbols: UTF-8 characters as (start, length), in a doubly linked list.
        var start: [Int32] = [], len: [Int32] = []
        var i = 0
        while i < t.count {
            let b = t[i]
            let l = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            let n = min(l, t.count - i)
            start.append(Int32(i)); len.append(Int32(n))
            i += n
        }
        let n = start.count
        var prev = (0..<n).map { Int32($0) - 1 }
        var next = (0..<n).map { $0 + 1 < n ? Int32($0 + 1) : -1 }
        var heap = MinHeap<Bigram>()
        heap.reserve(n)
        var revMerge: [[UInt8]: (Int32, Int32, Int32, Int32)] = [:]  // unused piece -> (start, len) x 2
        func text(_ s: Int32, _ l: Int32) -> [UInt8] { Array(t[Int(s)..<Int(s + l)]) }
        func tryAdd(_ l: Int32, _ r: Int32) {
            guard l >= 0, r >= 0 else { return }
            let piece = text(start[Int(l)], len[Int(l)] + len[Int(r)])
            guard let id = mergeable[piece] else { return }
            heap.push(Bigram(score: vocab.scores[Int(id)], left: l, right: r, size: len[Int(l)] + len[Int(r)]))
            if vocab.kinds[Int(id)] == .unused {
                revMerge[piece] = (start[Int(l)], len[Int(l)], start[Int(r)], len[Int(r)])
            }
        }
        for k in 0..<(n - 1) { tryAdd(Int32(k), Int32(k + 1)) }
        while let bg = heap.pop() {
            let l = Int(bg.left), r = Int(bg.right)
            guard len[l] > 0, len[r] > 0, next[l] == bg.right, len[l] + len[r] == bg.size else { continue }
            len[l] += len[r]
            len[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = bg.left }
            tryAdd(prev[l], bg.left)
            tryAdd(bg.left, next[l])
        }
        func resegment(_ s: Int32, _ l: Int32, depth: Int) {
            let piece = text(s, l)
            if let id = vocab.ids[piece], vocab.kinds[Int(id)] == .normal || vocab.kinds[Int(id)] == .userDefined {
                out.append(id); return
            }
            if depth < 64, let (s1, l1, s2, l2) = revMerge[piece] {
                resegment(s1, l1, depth: depth + 1); resegment(s2, l2, depth: depth + 1); return
            }
            for b in t[Int(s)..<Int(s + l)] {
                if byteIds[Int(b)] >= 0 {
                    out.append(byteIds[Int(b)])
                } else if let u = vocab.unk {
                    out.append(u); return
                }  // one <unk> per character
            }
        }
        var k: Int32 = 0
        while k >= 0 {
            resegment(start[Int(k)], len[Int(k)], depth: 0)
            k = next[Int(k)]
        }
    }
}
