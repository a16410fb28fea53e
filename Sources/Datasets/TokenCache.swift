// Tokenise a dataset once per (model tokenizer, dataset content, maxLength, system prompt, template) and keep
// the ids in a small binary file, so repeated runs skip the tokenizer.
//
// File `tok-<fnv64(key)>.bin`, little-endian:
//   "IRMTOK01"  u32 keyLength  key (UTF-8)  u32 count  u32 droppedCount  u32 truncated
//   count × { u32 sourceIndex  u32 responseStart  u32 n  n × i32 id }
//   droppedCount × u32 index
// The key is stored in full and compared on load, so a hash collision cannot return the wrong ids. A file
// that is unreadable, truncated or made for another key is rebuilt. Written to a temporary name and renamed.
import Foundation
import ModelIO

/// A tokenised dataset. `examples[k]` comes from input example `sourceIndices[k]`; `dropped` lists the input
/// examples whose prompt did not fit in maxLength. A split (`DatasetSplit`) is made over `examples`.
public struct TokenizedDataset: Codable, Sendable, Equatable {
    public var examples: [TokenizedExample]
    public var sourceIndices: [Int]
    public var dropped: [Int]
    public var truncated: Int
    /// Whether the last `cachedTokenize` call read this from its cache file.
    public var fromCache = false
}

/// A fingerprint of what decides tokenisation: every piece and its kind, BOS/EOS and the BOS flag.
/// Cheap (one pass over the vocabulary) and independent of the weights file's path.
public func tokenizerFingerprint(_ t: Tokenizer) -> String {
    var h: UInt64 = 0xcbf29ce484222325
    for id in 0..<Int32(t.vocabSize) {
        h = fnv1a64(t.tokenString(id), h)
        h = (h ^ UInt64(t.tokenKind(id).rawValue)) &* 0x100000001b3
        h = (h ^ 0xFF) &* 0x100000001b3
    }
    return "vocab\(t.vocabSize)-bos\(t.bosId.map(String.init) ?? "none")-eos\(t.eosId.map(String.init) ?? "none")"
        + "-addbos\(t.addBOS ? 1 : 0)-\(hex64(h))"
}

/// A hash of the examples' prompts and responses, in order.
public func datasetContentHash(_ examples: [Example]) -> String {
    var h: UInt64 = 0xcbf29ce484222325
    for e in examples {
        h = fnv1a64(e.prompt, h); h = (h ^ 0) &* 0x100000001b3
        h = fnv1a64(e.response, h); h = (h ^ 1) &* 0x100000001b3
    }
    return "\(examples.count)x-\(hex64(h))"
}

/// The cache key for a model (`modelIdentity`, e.g. `tokenizerFingerprint(tokenizer)`), a dataset, a length,
/// a system prompt and an objective. Includes a version of the tokenisation rules in this file and
/// TokenizedExample.swift. (Keys of our default objective are those from before the objective existed.)
public func tokenCacheKey(
    modelIdentity: String, examples: [Example], template: ChatTemplate, system: String?,
    maxLength: Int, objective: Objective = .response
) -> String {
    let sys = system.map { "'\(hex64(fnv1a64($0)))'" } ?? "default"
    return
        "v1|model=\(modelIdentity)|template=\(template)|data=\(datasetContentHash(examples))|max=\(maxLength)|system=\(sys)"
        + (objective == .response ? "" : "|objective=\(objective.rawValue)")
}

func hex64(_ h: UInt64) -> String {
    let s = String(h, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

/// Tokenises `examples` (see `tokenizeDataset`) or reads the result from `cacheDir` when a file for `key` exists.
/// Throws only when the cache file cannot be written.
public func cachedTokenize(
    examples: [Example], tokenizer: Tokenizer, template: ChatTemplate, system: String?,
    maxLength: Int, objective: Objective = .response, cacheDir: String, key: String
) throws -> TokenizedDataset {
    let path = (cacheDir as NSString).appendingPathComponent("tok-\(hex64(fnv1a64(key))).bin")
    if let data = FileManager.default.contents(atPath: path), var cached = decodeTokenCache([UInt8](data), key: key) {
        cached.fromCache = true
        return cached
    }
    let ds = tokenizeDataset(
        examples, tokenizer: tokenizer, template: template, system: system, maxLength: maxLength,
        objective: objective)
    do { try FileManager.default.createDirectory(atPath: cacheDir, withIntermediateDirectories: true) } catch {
        throw FileError(cacheDir, "cannot create the folder (\(error.localizedDescription))")
    }
    try writeFileAtomically(path, encodeTokenCache(ds, key: key))
    return ds
}

private let tokenCacheMagic = Array("IRMTOK01".utf8)

func encodeTokenCache(_ ds: TokenizedDataset, key: String) -> [UInt8] {
    var out = tokenCacheMagic
    func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out += $0 } }
    let k = Array(key.utf8)
    u32(k.count); out += k
    u32(ds.examples.count); u32(ds.dropped.count); u32(ds.truncated)
    for (t, src) in zip(ds.examples, ds.sourceIndices) {
        u32(src); u32(t.responseStart); u32(t.ids.count)
        for id in t.ids { withUnsafeBytes(of: id.littleEndian) { out += $0 } }
    }
    for d in ds.dropped { u32(d) }
    return out
}

/// Nil when the bytes are not a complete cache file for `key`.
func decodeTokenCache(_ b: [UInt8], key: String) -> TokenizedDataset? {
    var pos = 0
    func u32() -> Int? {
        guard pos + 4 <= b.count else { return nil }
        let v = UInt32(b[pos]) | UInt32(b[pos + 1]) << 8 | UInt32(b[pos + 2]) << 16 | UInt32(b[pos + 3]) << 24
        pos += 4
        return Int(v)
    }
    guard b.count >= 8, Array(b[0..<8]) == tokenCacheMagic else { return nil }
    pos = 8
    guard let kl = u32(), pos + kl <= b.count, Array(b[pos..<(pos + kl)]) == Array(key.utf8) else { return nil }
    pos += kl
    guard let count = u32(), let nDropped = u32(), let truncated = u32() else { return nil }
    var ds = TokenizedDataset(examples: [], sourceIndices: [], dropped: [], truncated: truncated)
    for _ in 0..<count {
        guard let src = u32(), let start = u32(), let n = u32(), start >= 1, start < n, pos + 4 * n <= b.count else {
            return nil
        }
        var ids = [Int32](repeating: 0, count: n)
        for j in 0..<n {
            ids[j] = Int32(
                bitPattern: UInt32(b[pos]) | UInt32(b[pos + 1]) << 8 | UInt32(b[pos + 2]) << 16 | UInt32(b[pos + 3])
                    << 24)
            pos += 4
        }
        ds.examples.append(TokenizedExample(ids: ids, responseStart: start))
        ds.sourceIndices.append(src)
    }
    for _ in 0..<nDropped {
        guard let d = u32() else { return nil }
        ds.dropped.append(d)
    }
    guard pos == b.count else { return nil }
    return ds
}
