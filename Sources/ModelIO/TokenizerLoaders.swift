// Building a Tokenizer from the four places a vocabulary can come from: GGUF metadata, a Hugging Face
// tokenizer.json, a sentencepiece tokenizer.model and a llama2.c tokenizer.bin.
// Bad input throws FileError naming the file; nothing here traps on file contents.
import Foundation

// MARK: - GGUF

/// `tokenizer.ggml.model` = "llama" (SentencePiece BPE) or "gpt2" (byte-level BPE; `tokenizer.ggml.pre`
/// picks the pre-tokenizer). Keys and defaults as llama.cpp's `llama_vocab::impl::load`.
public func loadTokenizer(gguf md: [String: GGUFValue], file: String) throws -> Tokenizer {
    func fail(_ m: String) -> FileError { FileError(file, m) }
    guard let model = md["tokenizer.ggml.model"]?.string else { throw fail("missing tokenizer.ggml.model") }
    guard let tokArr = md["tokenizer.ggml.tokens"]?.array else { throw fail("missing tokenizer.ggml.tokens") }
    let pieces = tokArr.compactMap(\.string)
    guard pieces.count == tokArr.count, !pieces.isEmpty else {
        throw fail("tokenizer.ggml.tokens is not a non-empty array of strings")
    }
    let n = pieces.count
    var kinds: [TokenKind]
    if let tt = md["tokenizer.ggml.token_type"]?.array {
        let v = tt.compactMap(\.int)
        guard v.count == n else { throw fail("tokenizer.ggml.token_type has \(tt.count) entries for \(n) tokens") }
        kinds = v.map { TokenKind(rawValue: UInt8(clamping: $0)) ?? .normal }
    } else {
        kinds = pieces.map { parseBytePiece($0) != nil ? .byte : .normal }
    }
    var scores = [Float](repeating: 0, count: n)
    if let sc = md["tokenizer.ggml.scores"]?.array {
        let v = sc.compactMap(\.double)
        guard v.count == n else { throw fail("tokenizer.ggml.scores has \(sc.count) entries for \(n) tokens") }
        scores = v.map { Float($0) }
    }
    func id(_ key: String) throws -> Int32? {
        guard let v = md["tokenizer.ggml." + key] else { return nil }
        guard let i = v.int else { throw fail("tokenizer.ggml.\(key) is not an integer") }
        if i == -1 || i == 0xFFFF_FFFF { return nil }  // "none"
        guard i >= 0 && i < n else { throw fail("tokenizer.ggml.\(key) = \(i) is out of range (vocab \(n))") }
        return Int32(i)
    }
    let bos = try id("bos_token_id"), eos = try id("eos_token_id"), unk = try id("unknown_token_id")
    let eot = try id("eot_token_id"), eom = try id("eom_token_id")
    let addEOS = md["tokenizer.ggml.add_eos_token"]?.bool ?? false

    switch model {
    case "llama":
        let vocab = Vocabulary(
            pieces: pieces, kinds: kinds, scores: scores, bos: bos ?? 1, eos: eos ?? 2,
            unk: unk ?? 0, eot: eot, eom: eom,
            addBOS: md["tokenizer.ggml.add_bos_token"]?.bool ?? true, addEOS: addEOS)
        return SentencePieceBPETokenizer(
            vocab: vocab,
            addSpacePrefix: md["tokenizer.ggml.add_space_prefix"]?.bool ?? true)
    case "gpt2":
        let preName = md["tokenizer.ggml.pre"]?.string
        guard let pre = PreTokenizerKind(ggufPre: preName) else {
            throw fail(
                "unsupported tokenizer.ggml.pre \"\(preName ?? "")\" (supported: default, gpt2, llama3/llama-bpe, smollm/starcoder family)"
            )
        }
        guard let mArr = md["tokenizer.ggml.merges"]?.array else { throw fail("missing tokenizer.ggml.merges") }
        var merges: [(String, String)] = []
        merges.reserveCapacity(mArr.count)
        for (i, v) in mArr.enumerated() {
            guard let s = v.string, let pair = splitMerge(s) else {
                throw fail("bad merges line \(i): \(String(describing: v.string ?? "<not a string>").prefix(40))")
            }
            merges.append(pair)
        }
        let vocab = Vocabulary(
            pieces: pieces, kinds: kinds, scores: scores, bos: bos, eos: eos, unk: unk,
            eot: eot, eom: eom,
            addBOS: md["tokenizer.ggml.add_bos_token"]?.bool ?? (pre == .llama3),
            addEOS: addEOS)
        return ByteLevelBPETokenizer(vocab: vocab, merges: merges, preTokenizer: pre, ignoreMerges: pre == .llama3)
    default:
        throw fail("unsupported tokenizer.ggml.model \"\(model)\" (supported: llama, gpt2)")
    }
}

/// "Ġ t" -> ("Ġ", "t"): split at the first space after the first character (llama.cpp searches from 1).
func splitMerge(_ s: String) -> (String, String)? {
    guard !s.unicodeScalars.isEmpty else { return nil }
    let from = s.unicodeScalars.index(after: s.unicodeScalars.startIndex)
    guard let sp = s.unicodeScalars[from...].firstIndex(of: " ") else { return nil }
    let a = String(s.unicodeScalars[..<sp])
    let b = String(s.unicodeScalars[s.unicodeScalars.index(after: sp)...])
    guard !b.isEmpty else { return nil }
    return (a, b)
}

// MARK: - sentencepiece tokenizer.model

/// A sentencepiece BPE model (model_type BPE). Llama 2's: 32000 pieces, byte fallback, identity normalizer.
/// BOS is prepended by `encode(addSpecial: true)` (Llama convention; sentencepiece itself never adds it).
public func loadSentencePieceModel(path: String) throws -> Tokenizer {
    try loadSentencePieceModel(file: MappedFile(path: path))
}

public func loadSentencePieceModel(file f: MappedFile) throws -> Tokenizer {
    let path = f.path
    let m = try SentencePieceModelProto(bytes: f.bytes, file: path)
    guard !m.pieces.isEmpty else { throw FileError(path, "no pieces (not a sentencepiece model?)") }
    guard m.modelType == 2 else {
        let name = [1: "UNIGRAM", 3: "WORD", 4: "CHAR"][m.modelType] ?? "\(m.modelType)"
        throw FileError(path, "sentencepiece model type \(name) is not supported (only BPE)")
    }
    func opt(_ i: Int32) -> Int32? { i >= 0 && Int(i) < m.pieces.count ? i : nil }
    let vocab = Vocabulary(
        pieces: m.pieces, kinds: m.kinds, scores: m.scores, bos: opt(m.bosId),
        eos: opt(m.eosId), unk: opt(m.unkId), addBOS: true, addEOS: false)
    return SentencePieceBPETokenizer(
        vocab: vocab, addSpacePrefix: m.addDummyPrefix,
        removeExtraWhitespaces: m.removeExtraWhitespaces)
}

/// The `tokenizer.ggml.*` metadata llama.cpp's converter writes for a sentencepiece BPE `tokenizer.model`
/// (model "llama", pieces, scores, token types, special ids): what a GGUF of a Llama 2 model carries.
public func ggufTokenizerMetadata(sentencePieceModel path: String) throws -> [(String, GGUFValue)] {
    let f = try MappedFile(path: path)
    let m = try SentencePieceModelProto(bytes: f.bytes, file: path)
    guard !m.pieces.isEmpty, m.modelType == 2 else { throw FileError(path, "not a sentencepiece BPE model") }
    var md: [(String, GGUFValue)] = [
        ("tokenizer.ggml.model", .string("llama")),
        ("tokenizer.ggml.tokens", .array(m.pieces.map { .string($0) })),
        ("tokenizer.ggml.scores", .array(m.scores.map { .float32($0) })),
        ("tokenizer.ggml.token_type", .array(m.kinds.map { .int32(Int32($0.rawValue)) }))
    ]
    for (key, id) in [("bos", m.bosId), ("eos", m.eosId), ("unknown", m.unkId)]
    where id >= 0 && Int(id) < m.pieces.count {
        md.append(("tokenizer.ggml.\(key)_token_id", .uint32(UInt32(id))))
    }
    md += [("tokenizer.ggml.add_bos_token", .bool(true)), ("tokenizer.ggml.add_eos_token", .bool(false))]
    return md
}

/// The `tokenizer.ggml.*` metadata llama.cpp's converter writes for a Llama 3 `tokenizer.json` (byte-level BPE):
/// model "gpt2", pre "llama-bpe", every piece by id (added tokens included), token types (1 normal, 3 control for
/// special added tokens, 4 user-defined for other added tokens), the merges as "a b", `<|begin_of_text|>` as BOS,
/// `<|end_of_text|>` as EOS (when the vocabulary has them), and `chatTemplate` when given.
public func ggufLlama3TokenizerMetadata(tokenizerJSON path: String, chatTemplate: String? = nil) throws
    -> [(String, GGUFValue)]
{
    // The project's JSON reader, not JSONSerialization: a [String: Int] would merge canonically equivalent pieces.
    let f = try MappedFile(path: path)
    let root = try JSONParser.parse(f.bytes, file: path)
    guard let vocab = root["model"]?["vocab"]?.members, let mergeList = root["model"]?["merges"]?.array else {
        throw FileError(path, "not a byte-level BPE tokenizer.json (model.vocab and model.merges)")
    }
    let added = root["added_tokens"]?.array ?? []
    let n = max(vocab.compactMap { $0.1.int }.max() ?? -1, added.compactMap { $0["id"]?.int }.max() ?? -1) + 1
    guard n > 0, n <= 1 << 24 else { throw FileError(path, "a vocabulary of \(n) ids") }
    var pieces = [String?](repeating: nil, count: n), types = [Int32](repeating: 1, count: n)
    for (p, v) in vocab {
        guard let id = v.int, id >= 0 else { throw FileError(path, "vocab entry \(p.debugDescription) has no id") }
        pieces[id] = p
    }
    for a in added {
        guard let id = a["id"]?.int, id >= 0, let s = a["content"]?.string else {
            throw FileError(path, "an added token without an id or content")
        }
        pieces[id] = s
        types[id] = a["special"]?.bool == true ? 3 : 4
    }
    if let hole = pieces.firstIndex(where: { $0 == nil }) { throw FileError(path, "no piece has id \(hole)") }
    var merges: [GGUFValue] = []
    merges.reserveCapacity(mergeList.count)
    for (i, m) in mergeList.enumerated() {
        if let s = m.string { merges.append(.string(s)); continue }
        guard let pair = m.array, pair.count == 2, let l = pair[0].string, let r = pair[1].string else {
            throw FileError(path, "merge \(i) is not a pair")
        }
        merges.append(.string(l + " " + r))
    }
    func id(of piece: String) -> Int? { pieces.firstIndex { $0!.utf8.elementsEqual(piece.utf8) } }
    var md: [(String, GGUFValue)] = [
        ("tokenizer.ggml.model", .string("gpt2")),
        ("tokenizer.ggml.pre", .string("llama-bpe")),
        ("tokenizer.ggml.tokens", .array(pieces.map { .string($0!) })),
        ("tokenizer.ggml.token_type", .array(types.map { .int32($0) })),
        ("tokenizer.ggml.merges", .array(merges))
    ]
    for (key, piece) in [("bos", "<|begin_of_text|>"), ("eos", "<|end_of_text|>")] {
        if let i = id(of: piece) { md.append(("tokenizer.ggml.\(key)_token_id", .uint32(UInt32(i)))) }
    }
    md.append(("tokenizer.ggml.add_bos_token", .bool(true)))
    if let t = chatTemplate { md.append(("tokenizer.chat_template", .string(t))) }
    return md
}

// MARK: - llama2.c tokenizer.bin

/// llama2.c `tokenizer.bin`: int32 max_token_length, then per token: float32 score, int32 length, bytes.
/// Pieces are stored with " " for "▁" and BOS/EOS as "\n<s>\n" / "\n</s>\n"; they are mapped back to the
/// sentencepiece spelling so pieces read the same as from tokenizer.model. There are no token types:
/// `<0xXX>` pieces are byte tokens, ids 0/1/2 are `<unk>`/`<s>`/`</s>` when spelt so.
public func loadLlama2cTokenizer(path: String, vocabSize: Int) throws -> Tokenizer {
    try loadLlama2cTokenizer(file: MappedFile(path: path), vocabSize: vocabSize)
}

public func loadLlama2cTokenizer(file f: MappedFile, vocabSize: Int) throws -> Tokenizer {
    let path = f.path, b = f.bytes
    guard vocabSize > 0 else { throw FileError(path, "vocab size \(vocabSize) must be positive") }
    func i32(_ o: Int) -> Int32 { Int32(bitPattern: b.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian) }
    guard b.count >= 4 else { throw FileError(path, "truncated: no header") }
    guard i32(0) >= 0 else { throw FileError(path, "negative max_token_length \(i32(0))") }
    var pos = 4
    var pieces: [String] = [], scores: [Float] = [], kinds: [TokenKind] = []
    pieces.reserveCapacity(vocabSize); scores.reserveCapacity(vocabSize); kinds.reserveCapacity(vocabSize)
    for i in 0..<vocabSize {
        guard b.count - pos >= 8 else {
            throw FileError(path, "truncated at token \(i) of \(vocabSize) (byte \(pos))")
        }
        let score = Float(bitPattern: UInt32(bitPattern: i32(pos)))
        let len = Int(i32(pos + 4))
        pos += 8
        guard len >= 0, len <= b.count - pos else {
            throw FileError(path, "token \(i): length \(len) runs past the end of the file (byte \(pos))")
        }
        var s = String(decoding: UnsafeRawBufferPointer(rebasing: b[pos..<(pos + len)]), as: UTF8.self)
        pos += len
        var kind = TokenKind.normal
        if s == "\n<s>\n" || s == "\n</s>\n" {
            s = s.trimmingCharacters(in: .newlines); kind = .control
        } else if i == 0 && s == "<unk>" {
            kind = .unknown
        } else if parseBytePiece(s) != nil {
            kind = .byte
        } else {
            s = s.replacingOccurrences(of: " ", with: "\u{2581}")
        }
        pieces.append(s); scores.append(score); kinds.append(kind)
    }
    let bos = pieces.firstIndex(of: "<s>").map(Int32.init), eos = pieces.firstIndex(of: "</s>").map(Int32.init)
    let vocab = Vocabulary(
        pieces: pieces, kinds: kinds, scores: scores, bos: bos, eos: eos,
        unk: kinds[0] == .unknown ? 0 : nil, addBOS: true, addEOS: false)
    return SentencePieceBPETokenizer(vocab: vocab, addSpacePrefix: true)
}

// MARK: - Hugging Face tokenizer.json

/// A `tokenizer.json` with a BPE model: byte-level (GPT-2 style: ByteLevel pre-tokenizer/decoder) or
/// SentencePiece style ("▁" escaping, usually `byte_fallback`, Llama 2). BOS/EOS and add_bos come from a
/// sibling tokenizer_config.json when present, else from the post-processor / the usual piece names.
public func loadTokenizerJSON(path: String) throws -> Tokenizer {
    try loadTokenizerJSON(file: MappedFile(path: path))
}

/// `f.path` also locates the sibling tokenizer_config.json.
public func loadTokenizerJSON(file f: MappedFile) throws -> Tokenizer {
    let path = f.path
    let root = try JSONParser.parse(f.bytes, file: path)
    guard root.members != nil else { throw FileError(path, "top level is not a JSON object") }
    guard let model = root["model"], model.members != nil else { throw FileError(path, "no \"model\" object") }
    if let t = model["type"]?.string, t != "BPE" {
        throw FileError(path, "model type \(t) is not supported (only BPE)")
    }
    var (pieces, kinds) = try tokenizerJSONPieces(root, model: model, path: path)
    let merges = try tokenizerJSONMerges(model, path: path)
    func json(_ k: String) -> String { root[k].map { $0.isNull ? "" : $0.compact } ?? "" }
    let norm = json("normalizer"), pre = json("pre_tokenizer"), dec = json("decoder")
    let byteFallback = model["byte_fallback"]?.bool ?? false
    let spmStyle = byteFallback || pre.contains("Metaspace") || norm.contains("\u{2581}")
    let byteLevel = pre.contains("ByteLevel") || dec.contains("ByteLevel")
    guard spmStyle || byteLevel else {
        throw FileError(path, "BPE without ByteLevel or SentencePiece-style (▁) pre-processing is not supported")
    }
    var byBytes = [[UInt8]: Int32]()
    for (i, p) in pieces.enumerated() where byBytes[Array(p.utf8)] == nil { byBytes[Array(p.utf8)] = Int32(i) }
    func ids(_ s: String) -> Int32? { byBytes[Array(s.utf8)] }
    var (bos, eos, addBOS) = try tokenizerJSONSpecials(root, path: path, ids: ids)
    let n = pieces.count

    if spmStyle {
        bos = bos ?? ids("<s>"); eos = eos ?? ids("</s>")
        let unk = model["unk_token"]?.string.flatMap(ids) ?? ids("<unk>")
        if let u = unk, kinds[Int(u)] == .normal || kinds[Int(u)] == .control { kinds[Int(u)] = .unknown }
        for i in 0..<n where kinds[i] == .normal && parseBytePiece(pieces[i]) != nil { kinds[i] = .byte }
        // No scores in tokenizer.json: a piece's score is minus the rank of the first merge producing it;
        // pieces no merge produces can't come out of a merge (HF BPE merges only listed pairs).
        var scores = [Float](repeating: -.infinity, count: n)
        for (rank, (a, b)) in merges.enumerated() {
            if let i = ids(a + b), scores[Int(i)] == -.infinity { scores[Int(i)] = -Float(rank) }
        }
        let prepend = norm.contains("Prepend") || pre.contains("Metaspace") && !pre.contains("\"never\"")
        let vocab = Vocabulary(
            pieces: pieces, kinds: kinds, scores: scores, bos: bos, eos: eos, unk: unk,
            addBOS: addBOS ?? true, addEOS: false)
        return SentencePieceBPETokenizer(vocab: vocab, addSpacePrefix: prepend)
    }
    let kind: PreTokenizerKind
    if pre.contains("\\p{N}{1,3}") {
        kind = .llama3
    } else if pre.contains("\"Digits\"") && pre.contains("\"individual_digits\":true") {
        kind = .digitsThenGPT2
    } else {
        kind = .gpt2
    }
    eos = eos ?? ids("<|endoftext|>") ?? ids("<|end_of_text|>")
    let vocab = Vocabulary(
        pieces: pieces, kinds: kinds, scores: [Float](repeating: 0, count: n),
        bos: bos, eos: eos, unk: model["unk_token"]?.string.flatMap(ids),
        addBOS: addBOS ?? false, addEOS: false)
    return ByteLevelBPETokenizer(
        vocab: vocab, merges: merges, preTokenizer: kind,
        ignoreMerges: model["ignore_merges"]?.bool ?? false)
}

/// The pieces by id: model.vocab, then added_tokens (special → control, else user-defined); ids nobody names
/// become unused placeholders.
func tokenizerJSONPieces(_ root: JSONValue, model: JSONValue, path: String) throws -> (
    pieces: [String], kinds: [TokenKind]
) {
    guard let vocabObj = model["vocab"]?.members else { throw FileError(path, "model has no \"vocab\" object") }
    var byId: [Int: String] = [:]
    for (p, v) in vocabObj {
        guard let i = v.int, i >= 0, i < 10_000_000 else {
            throw FileError(path, "vocab entry \"\(p.prefix(40))\" has no valid id")
        }
        byId[i] = p
    }
    var special: [Int: Bool] = [:]
    for a in root["added_tokens"]?.array ?? [] {
        guard let i = a["id"]?.int, i >= 0, i < 10_000_000, let c = a["content"]?.string else {
            throw FileError(path, "added_tokens entry without id/content")
        }
        byId[i] = c
        special[i] = a["special"]?.bool ?? true
    }
    let n = (byId.keys.max() ?? -1) + 1
    guard n > 0 else { throw FileError(path, "empty vocab") }
    // Ids may leave gaps (they become unused pieces), but the id range sizes the tables: a few entries with
    // an id in the millions are a broken file, not a vocabulary.
    guard n <= 2 * byId.count + 256 else {
        throw FileError(path, "token id \(n - 1) is far beyond the \(byId.count) tokens the file defines")
    }
    var pieces = [String](repeating: "", count: n)
    var kinds = [TokenKind](repeating: .normal, count: n)
    for i in 0..<n {
        if let p = byId[i] { pieces[i] = p } else { pieces[i] = "<unused_\(i)>"; kinds[i] = .unused }
        if let s = special[i] { kinds[i] = s ? .control : .userDefined }
    }
    return (pieces, kinds)
}

/// model.merges, either as "a b" strings or as [a, b] pairs.
func tokenizerJSONMerges(_ model: JSONValue, path: String) throws -> [(String, String)] {
    var merges: [(String, String)] = []
    let mAny = model["merges"]?.array ?? []
    merges.reserveCapacity(mAny.count)
    for (i, m) in mAny.enumerated() {
        if let s = m.string, let pair = splitMerge(s) {
            merges.append(pair)
        } else if let a = m.array, a.count == 2, let x = a[0].string, let y = a[1].string {
            merges.append((x, y))
        } else {
            throw FileError(path, "bad merges line \(i)")
        }
    }
    return merges
}

/// BOS/EOS and add_bos: tokenizer_config.json next to the file, then the post-processor template (the callers
/// fall back to the usual piece names).
func tokenizerJSONSpecials(_ root: JSONValue, path: String, ids: (String) -> Int32?) throws
    -> (bos: Int32?, eos: Int32?, addBOS: Bool?)
{
    var bos: Int32?, eos: Int32?, addBOS: Bool?
    let cfgPath = (path as NSString).deletingLastPathComponent + "/tokenizer_config.json"
    if FileManager.default.fileExists(atPath: cfgPath) {
        let cf = try MappedFile(path: cfgPath)
        let cfg = try JSONParser.parse(cf.bytes, file: cfgPath)
        func tok(_ k: String) -> Int32? { (cfg[k]?.string ?? cfg[k]?["content"]?.string).flatMap(ids) }
        bos = tok("bos_token"); eos = tok("eos_token"); addBOS = cfg["add_bos_token"]?.bool
    }
    if addBOS == nil, let single = root["post_processor"]?["single"]?.array {
        if let s = single.first?["SpecialToken"]?["id"]?.string, let i = ids(s) {
            addBOS = true
            if bos == nil { bos = i }
        } else {
            addBOS = false
        }
    }
    return (bos, eos, addBOS)
}
