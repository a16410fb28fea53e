// The tokenizer interface shared by SentencePiece-style BPE (Llama 2) and GPT-2 byte-level BPE (SmolLM2,
// Llama 3), plus the parts both implementations share: the vocabulary with its token kinds, the split of a
// text at special tokens, end-of-generation ids and decoding.
//
// Behaviour follows llama.cpp (src/llama-vocab.cpp) where the goldens come from llama.cpp, and
// sentencepiece (bpe_model.cc) where they come from sentencepiece; the two agree on every golden case.

/// Token kinds, numbered as sentencepiece's `ModelProto.SentencePiece.Type` and GGUF `token_type`.
public enum TokenKind: UInt8, Sendable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    /// A token that is not ordinary text: rendered as its raw piece, skipped by `decode(skipSpecial:)`.
    public var isSpecial: Bool { self == .control || self == .unknown }
}

public protocol Tokenizer: AnyObject, Sendable {
    var vocabSize: Int { get }
    var bosId: Int32? { get }
    var eosId: Int32? { get }
    /// Whether `encode(addSpecial: true)` prepends BOS (from the model's metadata).
    var addBOS: Bool { get }
    /// `addSpecial`: prepend BOS iff `addBOS` (and append EOS iff the model asks for it).
    /// `parseSpecial`: recognise control tokens written as text (`<|im_start|>`, `<s>`); user-defined
    /// tokens are always recognised (as llama.cpp does).
    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32]
    /// The bytes a token renders to: byte-fallback tokens give their byte, specials their raw text.
    /// Ids out of range render as nothing.
    func tokenBytes(_ id: Int32) -> [UInt8]
    /// All tokens rendered (specials as their text); invalid UTF-8 becomes U+FFFD. SentencePiece: the space
    /// of the dummy prefix is dropped from the first text token when it starts the sequence (possibly
    /// after BOS), as sentencepiece's decoder does, so `decode(encode(x)) == x`.
    func decode(_ ids: [Int32]) -> String
    /// Like `decode`, but control and unknown tokens render as nothing when `skipSpecial` is true.
    func decode(_ ids: [Int32], skipSpecial: Bool) -> String
    /// eos, eot, eom and the usual end-of-turn pieces (`<|im_end|>`, `<|eot_id|>`, `<|endoftext|>` ...).
    func isEndOfGeneration(_ id: Int32) -> Bool
    func tokenId(_ piece: String) -> Int32?
    /// The raw vocabulary piece ("Ġworld", "▁Hello", "<0x0A>"); "" for ids out of range.
    func tokenString(_ id: Int32) -> String
    func tokenKind(_ id: Int32) -> TokenKind
}

/// The vocabulary both tokenizer kinds share. Immutable after init.
final class Vocabulary: Sendable {
    let pieces: [String]
    let kinds: [TokenKind]
    let scores: [Float]
    /// Keyed by UTF-8 bytes, not String: Swift's String equality is canonical equivalence, and real
    /// vocabularies hold canonically equivalent but distinct pieces (Llama 2: "ά" U+03AC and U+1F71).
    let ids: [[UInt8]: Int32]
    let bos: Int32?, eos: Int32?, unk: Int32?
    let addBOS: Bool, addEOS: Bool
    let endOfGeneration: Set<Int32>
    /// Special pieces matched in raw text, longest first (llama.cpp sorts `cache_special_tokens` likewise).
    let specials: [SpecialPiece]

    struct SpecialPiece: Sendable {
        let bytes: [UInt8]
        let id: Int32
        let kind: TokenKind
    }

    init(
        pieces: [String], kinds: [TokenKind], scores: [Float], bos: Int32?, eos: Int32?, unk: Int32?,
        eot: Int32? = nil, eom: Int32? = nil, addBOS: Bool, addEOS: Bool
    ) {
        self.pieces = pieces
        self.kinds = kinds
        self.scores = scores
        var ids = [[UInt8]: Int32](minimumCapacity: pieces.count)
        // First occurrence wins when a piece repeats (llama.cpp keeps the last; duplicates are a broken vocab).
        for (i, p) in pieces.enumerated() where ids[Array(p.utf8)] == nil { ids[Array(p.utf8)] = Int32(i) }
        self.ids = ids
        let n = pieces.count
        func valid(_ id: Int32?) -> Int32? { id.flatMap { $0 >= 0 && Int($0) < n ? $0 : nil } }
        self.bos = valid(bos); self.eos = valid(eos); self.unk = valid(unk)
        self.addBOS = addBOS; self.addEOS = addEOS
        var eog = Set<Int32>()
        for id in [eos, eot, eom] { if let v = valid(id) { eog.insert(v) } }
        // llama.cpp (llama_vocab::impl::load) adds these pieces to its end-of-generation set (and Llama 3 stops at
        // <|end_of_text|> too, which its tokenizer.json does not name as EOS).
        for p in [
            "<|eot_id|>", "<|end_of_text|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
            "<EOT>", "_<EOT>"
        ] {
            if let id = ids[Array(p.utf8)] { eog.insert(id) }
        }
        self.endOfGeneration = eog
        var sp: [SpecialPiece] = []
        for i in 0..<n where kinds[i] == .control || kinds[i] == .userDefined || kinds[i] == .unknown {
            let b = Array(pieces[i].utf8)
            if !b.isEmpty { sp.append(SpecialPiece(bytes: b, id: Int32(i), kind: kinds[i])) }
        }
        sp.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        self.specials = sp
    }

    var count: Int { pieces.count }

    func id(_ piece: String) -> Int32? { ids[Array(piece.utf8)] }

    func piece(_ id: Int32) -> String { id >= 0 && Int(id) < pieces.count ? pieces[Int(id)] : "" }
    func kind(_ id: Int32) -> TokenKind { id >= 0 && Int(id) < kinds.count ? kinds[Int(id)] : .unused }

    enum Fragment { case text(Range<Int>), token(Int32) }

    /// Splits `bytes` at special pieces as llama.cpp's `tokenizer_st_partition` does: for each special piece,
    /// longest first, every occurrence inside a still-unsplit text fragment becomes a token fragment.
    /// Control and unknown pieces only when `parseSpecial`; user-defined pieces always.
    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        guard !bytes.isEmpty else { return [] }
        var frags: [Fragment] = [.text(0..<bytes.count)]
        bytes.withUnsafeBufferPointer { buf in
            for sp in specials {
                if !parseSpecial && sp.kind != .userDefined { continue }
                let pat = sp.bytes
                let m = pat.count
                let first = pat[0]
                var out: [Fragment] = []
                var changed = false
                for f in frags {
                    guard case .text(let r) = f, r.count >= m else { out.append(f); continue }
                    var start = r.lowerBound
                    var i = r.lowerBound
                    let last = r.upperBound - m
                    while i <= last {
                        if buf[i] == first {
                            var j = 1
                            while j < m && buf[i + j] == pat[j] { j += 1 }
                            if j == m {
                                if i > start { out.append(.text(start..<i)) }
                                out.append(.token(sp.id))
                                changed = true
                                i += m
                                start = i
                                continue
                            }
                        }
                        i += 1
                    }
                    if start < r.upperBound { out.append(.text(start..<r.upperBound)) }
                }
                if changed { frags = out }
            }
        }
        return frags
    }
}

/// What both tokenizer classes share; each class forwards its public `Tokenizer` members here (a public
/// protocol cannot take its witnesses from an internal protocol's extension).
struct TokenizerCore: Sendable {
    let vocab: Vocabulary
    /// `rendered[id]`: the bytes each token decodes to.
    let rendered: [[UInt8]]
    /// SentencePiece with a dummy prefix: drop one leading space of the first text token.
    let stripsLeadingSpace: Bool

    func tokenBytes(_ id: Int32) -> [UInt8] {
        id >= 0 && Int(id) < rendered.count ? rendered[Int(id)] : []
    }

    /// `atStart`: the ids begin a sequence, so the dummy-prefix space may be stripped (sentencepiece's
    /// decoder strips it from the first piece after any leading control tokens such as BOS).
    func decodeBytes(_ ids: [Int32], skipSpecial: Bool, atStart: Bool) -> [UInt8] {
        var out: [UInt8] = []
        var strip = atStart && stripsLeadingSpace
        for id in ids {
            let k = vocab.kind(id)
            if k.isSpecial {
                if !skipSpecial { out += tokenBytes(id) }
                // BOS/EOS/other controls before the first text keep the strip pending, as in sentencepiece.
                if k == .unknown { strip = false }
                continue
            }
            let b = tokenBytes(id)
            if strip, b.first == 0x20 { out += b.dropFirst() } else { out += b }
            strip = false
        }
        return out
    }
}

/// A binary min-heap (`<` = comes out first). Used for the merge queues of both BPE variants.
struct MinHeap<T: Comparable> {
    private(set) var items: [T] = []
    var isEmpty: Bool { items.isEmpty }
    mutating func reserve(_ n: Int) { items.reserveCapacity(n) }
    mutating func push(_ x: T) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) >> 1
            if items[i] < items[p] { items.swapAt(i, p); i = p } else { break }
        }
    }
    mutating func pop() -> T? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && items[l] < items[m] { m = l }
                if r < n && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m); i = m
            }
        }
        return top
    }
}

/// Parses "<0xAB>" (the byte-fallback piece format of sentencepiece and llama2.c) to its byte.
func parseBytePiece(_ s: String) -> UInt8? {
    let u = Array(s.utf8)
    guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
    func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
    guard let h = hex(u[3]), let l = hex(u[4]) else { return nil }
    return h << 4 | l
}

/// The Tokenizer members both BPE kinds answer from their vocabulary and decoding tables alike.
protocol VocabularyTokenizer: Tokenizer {
    var vocab: Vocabulary { get }
    var core: TokenizerCore { get }
}

extension VocabularyTokenizer {
    public var vocabSize: Int { vocab.count }
    public var bosId: Int32? { vocab.bos }
    public var eosId: Int32? { vocab.eos }
    public var addBOS: Bool { vocab.addBOS }
    public func tokenId(_ piece: String) -> Int32? { vocab.id(piece) }
    public func tokenString(_ id: Int32) -> String { vocab.piece(id) }
    public func tokenKind(_ id: Int32) -> TokenKind { vocab.kind(id) }
    public func isEndOfGeneration(_ id: Int32) -> Bool { vocab.endOfGeneration.contains(id) }
    public func tokenBytes(_ id: Int32) -> [UInt8] { core.tokenBytes(id) }
    public func decode(_ ids: [Int32]) -> String { decode(ids, skipSpecial: false) }
    public func decode(_ ids: [Int32], skipSpecial: Bool) -> String {
        String(decoding: core.decodeBytes(ids, skipSpecial: skipSpecial, atStart: true), as: UTF8.self)
    }
}
