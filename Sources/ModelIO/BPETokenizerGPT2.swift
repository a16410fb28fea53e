// GPT-2 style byte-level BPE (SmolLM2, GPT-2, Llama 3): pre-tokenize into words, spell each word's UTF-8
// bytes in the byte-level alphabet (ByteLevel.swift), then apply merges lowest rank first (ties: leftmost),
// as llama.cpp's `llm_tokenizer_bpe_session` and HF tokenizers' BPE model do.
import Foundation

public final class ByteLevelBPETokenizer: VocabularyTokenizer {
    let vocab: Vocabulary
    let core: TokenizerCore
    public let preTokenizer: PreTokenizerKind
    /// Llama 3 emits a word that is itself in the vocabulary without merging (llama.cpp `ignore_merges`).
    let ignoreMerges: Bool
    /// (left id << 32 | right id) -> (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    /// Token id of each single byte's byte-level character, or -1.
    let byteIds: [Int32]
    private let cache = WordCache()

    /// `merges`: "left right" pairs in rank order, in the byte-level alphabet (as GGUF and tokenizer.json
    /// store them). Throws on malformed merge lines.
    init(
        vocab: Vocabulary, merges mergeList: [(String, String)], preTokenizer: PreTokenizerKind,
        ignoreMerges: Bool = false
    ) {
        self.vocab = vocab
        self.preTokenizer = preTokenizer
        self.ignoreMerges = ignoreMerges
        var m = [UInt64: UInt64](minimumCapacity: mergeList.count)
        for (rank, (a, b)) in mergeList.enumerated() {
            guard let l = vocab.id(a), let r = vocab.id(b), let res = vocab.id(a + b) else { continue }
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            if m[key] == nil { m[key] = UInt64(rank) << 32 | UInt64(UInt32(res)) }
        }
        merges = m
        byteIds = (0..<256).map { vocab.id(ByteLevel.byteString[$0]) ?? -1 }
        let rendered: [[UInt8]] = (0..<vocab.count).map { i in
            switch vocab.kinds[i] {
            case .normal, .byte, .unused: ByteLevel.decode(vocab.pieces[i])
            default: Array(vocab.pieces[i].utf8)  // control / user-defined: their text (llama.cpp)
            }
        }
        core = TokenizerCore(vocab: vocab, rendered: rendered, stripsLeadingSpace: false)
    }

    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var out: [Int32] = []
        if addSpecial && vocab.addBOS, let b = vocab.bos { out.append(b) }
        let bytes = Array(text.utf8)
        let pre = PreTokenizer(kind: preTokenizer)
        for frag in vocab.partition(bytes, parseSpecial: parseSpecial) {
            switch frag {
            case .token(let id): out.append(id)
            case .text(let r):
                let piece = String(decoding: bytes[r], as: UTF8.self)
                let cps = piece.unicodeScalars.map(\.value)
                var offsets = [Int](repeating: 0, count: cps.count + 1)  // code point -> byte offset
                var o = 0
                for (i, c) in cps.enumerated() {
                    offsets[i] = o
                    o += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
                }
                offsets[cps.count] = o
                let u8 = Array(piece.utf8)
                for w in pre.split(cps) {
                    encodeWord(u8[offsets[w.lowerBound]..<offsets[w.upperBound]], into: &out)
                }
            }
        }
        if addSpecial && vocab.addEOS, let e = vocab.eos { out.append(e) }
        return out
    }

    private func encodeWord(_ word: ArraySlice<UInt8>, into out: inout [Int32]) {
        let key = Array(word)
        if let hit = cache.get(key) { out += hit; return }
        let ids = bpe(key)
        cache.put(key, ids)
        out += ids
    }

    private struct Bigram: Comparable {
        let rank: UInt32, left: Int32, right: Int32, result: Int32
        static func < (a: Bigram, b: Bigram) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.left < b.left }
        static func == (a: Bigram, b: Bigram) -> Bool { a.rank == b.rank && a.left == b.left }
    }

    func bpe(_ word: [UInt8]) -> [Int32] {
        if ignoreMerges {
            if let id = vocab.id(word.map { ByteLevel.byteString[Int($0)] }.joined()) { return [id] }
        }
        // Symbols: one per byte, as a doubly linked list; a merged-away symbol gets id -1.
        var ids = word.map { byteIds[Int($0)] }
        let n = ids.count
        if n == 1 { return ids[0] >= 0 ? ids : [] }
        var prev = (0..<n).map { Int32($0) - 1 }
        var next = (0..<n).map { $0 + 1 < n ? Int32($0 + 1) : -1 }
        var heap = MinHeap<Bigram>()
        heap.reserve(n)
        func tryAdd(_ l: Int32, _ r: Int32) {
            guard l >= 0, r >= 0 else { return }
            let a = ids[Int(l)], b = ids[Int(r)]
            guard a >= 0, b >= 0 else { return }
            if let v = merges[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))] {
                heap.push(Bigram(rank: UInt32(v >> 32), left: l, right: r, result: Int32(truncatingIfNeeded: v)))
            }
        }
        for i in 0..<(n - 1) { tryAdd(Int32(i), Int32(i + 1)) }
        var alive = [Bool](repeating: true, count: n)
        while let bg = heap.pop() {
            let l = Int(bg.left), r = Int(bg.right)
            // Stale entry: one side was merged since it was queued.
            guard alive[l], alive[r], next[l] == bg.right,
                ids[l] >= 0, ids[r] >= 0,
                merges[UInt64(UInt32(ids[l])) << 32 | UInt64(UInt32(ids[r]))]
                    == UInt64(bg.rank) << 32 | UInt64(UInt32(bg.result))
            else { continue }
            ids[l] = bg.result
            alive[r] = false
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = bg.left }
            tryAdd(prev[l], bg.left)
            tryAdd(bg.left, next[l])
        }
        var out: [Int32] = []
        var i: Int32 = 0
        while i >= 0 {
            // A byte with no token of its own is dropped, as in llama.cpp (never happens for real vocabs).
            if ids[Int(i)] >= 0 { out.append(ids[Int(i)]) }
            i = next[Int(i)]
        }
        return out
    }
}

/// A bounded cache of word -> ids, shared by concurrent encodes.
final class WordCache: @unchecked Sendable {
    private var map: [[UInt8]: [Int32]] = [:]
    private let lock = NSLock()
    private let limit = 1 << 16
    func get(_ k: [UInt8]) -> [Int32]? { lock.lock(); defer { lock.unlock() }; return map[k] }
    func put(_ k: [UInt8], _ v: [Int32]) {
        lock.lock(); defer { lock.unlock() }
        if map.count >= limit { map.removeAll(keepingCapacity: true) }
        map[k] = v
    }
}
