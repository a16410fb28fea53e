// DEFLATE (RFC 1951) compressor inside a zlib stream (RFC 1950), for the PNG writer.
//
// LZ77 with hash chains over a 32 KiB window and one-step lazy matching (the scheme of RFC 1951 §4 and
// zlib's deflate_slow), then per block the cheapest of three encodings, counted exactly in bits:
// stored (BTYPE 00), fixed Huffman (01) and dynamic Huffman (10, with length-limited codes and the
// run-length coded code lengths of §3.2.7). No decoder is needed here: the tests inflate with Python's zlib.

/// How hard the match finder looks (zlib's max_chain / nice_length).
public struct DeflateEffort: Sendable {
    public var maxChain: Int
    public var niceLength: Int
    public var lazy: Bool
    public init(maxChain: Int, niceLength: Int, lazy: Bool) {
        self.maxChain = maxChain; self.niceLength = niceLength; self.lazy = lazy
    }
    public static let fast = DeflateEffort(maxChain: 8, niceLength: 32, lazy: false)
    public static let `default` = DeflateEffort(maxChain: 64, niceLength: 128, lazy: true)
    public static let best = DeflateEffort(maxChain: 1024, niceLength: 258, lazy: true)
}

/// Block encoding; `.automatic` picks the smallest per block. The others exist for tests.
public enum DeflateBlockMode: Sendable { case automatic, stored, fixed, dynamic }

/// A zlib stream (RFC 1950): CMF/FLG header, raw DEFLATE data, big-endian Adler-32 of `data`.
public func zlibCompress(
    _ data: [UInt8], effort: DeflateEffort = .default,
    mode: DeflateBlockMode = .automatic
) -> [UInt8] {
    // CMF = 0x78: method 8 (deflate), CINFO 7 (32 KiB window). FLG: FLEVEL 2 (default), no dictionary,
    // FCHECK making CMF·256 + FLG a multiple of 31 (§2.2): 0x7880 % 31 = 4, so FCHECK = 27 → 0x9C.
    var out: [UInt8] = [0x78, 0x9C]
    out += deflate(data, effort: effort, mode: mode)
    let a = adler32(data)
    out += [UInt8(a >> 24), UInt8((a >> 16) & 0xFF), UInt8((a >> 8) & 0xFF), UInt8(a & 0xFF)]
    return out
}

// ----------------------------------------------------------------------------
// Tables (RFC 1951 §3.2.5).

private let lengthBase: [Int] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
    67, 83, 99, 115, 131, 163, 195, 227, 258
]
private let lengthExtra: [Int] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
    5, 5, 5, 5, 0
]
private let distBase: [Int] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513,
    769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577
]
private let distExtra: [Int] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
    11, 11, 12, 12, 13, 13
]
/// Order in which the code-length code lengths are sent (§3.2.7).
private let clOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

/// Length 3...258 → index into lengthBase (symbol − 257).
private let lengthCodeOf: [UInt8] = {
    var t = [UInt8](repeating: 0, count: 259)
    for code in 0..<28 {
        for l in lengthBase[code]..<min(258, lengthBase[code] + (1 << lengthExtra[code])) { t[l] = UInt8(code) }
    }
    t[258] = 28  // 258 has its own symbol 285 (227 + 31 via 284 is rejected by some inflaters)
    return t
}()

private func distCode(_ d: Int) -> Int {
    // Distances 1...4 have their own codes; above that each pair of codes covers a power of two.
    if d <= 4 { return d - 1 }
    var lo = 4, hi = 29
    while lo < hi { let m = (lo + hi + 1) / 2; if distBase[m] <= d { lo = m } else { hi = m - 1 } }
    return lo
}

/// Fixed Huffman code lengths (§3.2.6).
private let fixedLitLengths: [Int] = (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 }
private let fixedDistLengths: [Int] = Array(repeating: 5, count: 30)

// ----------------------------------------------------------------------------
// Bit output: LSB-first packing (§3.1.1); Huffman codes are sent most significant bit first, so they are
// stored bit-reversed and then written like any other field.

struct BitWriter {
    var bytes: [UInt8] = []
    private var acc: UInt64 = 0
    private var n = 0
    mutating func write(_ value: Int, _ count: Int) {
        acc |= UInt64(value) << UInt64(n)
        n += count
        while n >= 8 { bytes.append(UInt8(truncatingIfNeeded: acc)); acc >>= 8; n -= 8 }
    }
    mutating func alignToByte() { if n > 0 { write(0, 8 - n) } }
    var bitCount: Int { bytes.count * 8 + n }
}

private func reverseBits(_ v: Int, _ len: Int) -> Int {
    var r = 0, x = v
    for _ in 0..<len { r = (r << 1) | (x & 1); x >>= 1 }
    return r
}

/// Canonical codes from lengths (§3.2.2), returned bit-reversed for the LSB-first writer.
private func canonicalCodes(_ lengths: [Int]) -> [Int] {
    let maxLen = lengths.max() ?? 0
    var blCount = [Int](repeating: 0, count: maxLen + 1)
    for l in lengths where l > 0 { blCount[l] += 1 }
    var next = [Int](repeating: 0, count: maxLen + 2)
    var code = 0
    if maxLen >= 1 {
        for bits in 1...maxLen { code = (code + blCount[bits - 1]) << 1; next[bits] = code }
    }
    var codes = [Int](repeating: 0, count: lengths.count)
    for (s, l) in lengths.enumerated() where l > 0 { codes[s] = reverseBits(next[l], l); next[l] += 1 }
    return codes
}

/// Huffman code lengths for `freqs`, none longer than `limit`. At least two symbols get a code (zlib's
/// build_tree does the same: inflate wants a distance code even when unused, and a one-symbol tree would
/// have a zero-bit code). When the tree is too deep the frequencies are halved (keeping them non-zero)
/// and the tree rebuilt: a true Huffman tree for the flattened counts, so the code stays complete.
func huffmanLengths(_ freqsIn: [Int], limit: Int) -> [Int] {
    var freqs = freqsIn
    var used = freqs.indices.filter { freqs[$0] > 0 }
    var k = 0
    while used.count < 2 && k < freqs.count {
        if freqs[k] == 0 { freqs[k] = 1; used.append(k) }
        k += 1
    }
    while true {
        let lengths = huffmanTree(freqs)
        if (lengths.max() ?? 0) <= limit { return lengths }
        freqs = freqs.map { $0 == 0 ? 0 : ($0 >> 1) | 1 }
    }
}

/// Plain Huffman construction by repeatedly merging the two lightest nodes (binary heap).
private func huffmanTree(_ freqs: [Int]) -> [Int] {
    var weight: [Int] = [], parent: [Int] = []
    var symbolNode = [Int](repeating: -1, count: freqs.count)
    var heap: [Int] = []  // node ids, min-heap by (weight, id)
    func less(_ a: Int, _ b: Int) -> Bool { weight[a] < weight[b] || (weight[a] == weight[b] && a < b) }
    func push(_ x: Int) {
        heap.append(x); var i = heap.count - 1
        while i > 0 { let p = (i - 1) / 2; if less(heap[i], heap[p]) { heap.swapAt(i, p); i = p } else { break } }
    }
    func pop() -> Int {
        let top = heap[0]; heap[0] = heap[heap.count - 1]; heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1; var m = i
            if l < heap.count && less(heap[l], heap[m]) { m = l }
            if r < heap.count && less(heap[r], heap[m]) { m = r }
            if m == i { break }
            heap.swapAt(i, m); i = m
        }
        return top
    }
    for (s, f) in freqs.enumerated() where f > 0 {
        symbolNode[s] = weight.count; weight.append(f); parent.append(-1); push(symbolNode[s])
    }
    while heap.count > 1 {
        let a = pop(), b = pop()
        let n = weight.count; weight.append(weight[a] + weight[b]); parent.append(-1)
        parent[a] = n; parent[b] = n; push(n)
    }
    return symbolNode.map { node in
        guard node >= 0 else { return 0 }
        var d = 0, x = node
        while parent[x] >= 0 { d += 1; x = parent[x] }
        return d
    }
}

// ----------------------------------------------------------------------------
// LZ77.

/// One LZ77 output item: a literal (dist == 0, value = byte) or a match (value = length, dist ≥ 1).
private struct Token { var value: UInt16; var dist: UInt16 }

private let windowSize = 32768, hashBits = 15, minMatch = 3, maxMatch = 258

/// Tokens for `data` using hash chains: `head[h]` is the latest position whose next 3 bytes hash to h,
/// `prev[pos & mask]` the one before it with the same hash.
private func lz77(_ data: [UInt8], _ effort: DeflateEffort) -> [Token] {
    var tokens: [Token] = []
    tokens.reserveCapacity(data.count / 4 + 16)
    let n = data.count
    if n < minMatch { return data.map { Token(value: UInt16($0), dist: 0) } }
    var head = [Int32](repeating: -1, count: 1 << hashBits)
    var prev = [Int32](repeating: -1, count: windowSize)
    let mask = windowSize - 1
    data.withUnsafeBufferPointer { d in
        @inline(__always) func hash(_ i: Int) -> Int {
            ((Int(d[i]) << 10) ^ (Int(d[i + 1]) << 5) ^ Int(d[i + 2])) & ((1 << hashBits) - 1)
        }
        var inserted = 0  // positions < inserted are in the chains
        @inline(__always) func insertUpTo(_ end: Int) {
            while inserted < end && inserted + minMatch <= n {
                let h = hash(inserted)
                prev[inserted & mask] = head[h]; head[h] = Int32(inserted)
                inserted += 1
            }
        }
        /// Longest match for position i among earlier positions (requires i inserted already).
        func longest(_ i: Int) -> (len: Int, dist: Int) {
            if i + minMatch > n { return (0, 0) }
            let limit = min(maxMatch, n - i)
            var best = minMatch - 1, bestDist = 0
            var cand = Int(prev[i & mask])
            var chain = effort.maxChain
            while cand >= 0 && i - cand <= windowSize && chain > 0 {
                chain -= 1
                // Quick reject: the byte that would extend the best match must agree.
                if d[cand + best] == d[i + best] && d[cand] == d[i] {
                    var l = 0
                    while l < limit && d[cand + l] == d[i + l] { l += 1 }
                    if l > best {
                        best = l; bestDist = i - cand
                        if l >= effort.niceLength || l == limit { break }
                    }
                }
                let p = Int(prev[cand & mask])
                if p >= cand { break }  // slot overwritten by a newer position: chain ends
                cand = p
            }
            return best >= minMatch ? (best, bestDist) : (0, 0)
        }
        var i = 0
        while i < n {
            insertUpTo(i + 1)
            var m = longest(i)
            if m.len == 0 {
                tokens.append(Token(value: UInt16(d[i]), dist: 0)); i += 1; continue
            }
            if effort.lazy {
                // Defer by one byte while the next position offers a longer match.
                while m.len < effort.niceLength && i + 1 < n {
                    insertUpTo(i + 2)
                    let next = longest(i + 1)
                    if next.len > m.len {
                        tokens.append(Token(value: UInt16(d[i]), dist: 0)); i += 1; m = next
                    } else {
                        break
                    }
                }
            }
            tokens.append(Token(value: UInt16(m.len), dist: UInt16(m.dist)))
            i += m.len
        }
    }
    return tokens
}

// ----------------------------------------------------------------------------
// Block encoding.

/// Raw DEFLATE data for `data` (no zlib wrapper).
public func deflate(
    _ data: [UInt8], effort: DeflateEffort = .default,
    mode: DeflateBlockMode = .automatic
) -> [UInt8] {
    var w = BitWriter()
    w.bytes.reserveCapacity(data.count / 2 + 64)
    let tokens = mode == .stored ? [] : lz77(data, effort)
    if mode == .stored {
        writeStored(&w, data, 0, data.count, final: true)
        return w.bytes
    }
    // Blocks of up to 16 Ki tokens: small enough for the Huffman codes to follow local statistics.
    let blockTokens = 16384
    var t = 0, pos = 0
    repeat {
        let end = min(tokens.count, t + blockTokens)
        var bytes = 0
        for k in t..<end { bytes += tokens[k].dist == 0 ? 1 : Int(tokens[k].value) }
        writeBlock(&w, tokens[t..<end], data, pos, pos + bytes, final: end == tokens.count, mode: mode)
        pos += bytes; t = end
    } while t < tokens.count
    w.alignToByte()  // flush the final partial byte
    return w.bytes
}

private func writeStored(_ w: inout BitWriter, _ data: [UInt8], _ start: Int, _ end: Int, final: Bool) {
    var s = start
    repeat {
        let len = min(65535, end - s)
        let last = final && s + len == end
        w.write(last ? 1 : 0, 1); w.write(0, 2); w.alignToByte()
        w.write(len, 16); w.write(len ^ 0xFFFF, 16)
        w.bytes.append(contentsOf: data[s..<(s + len)])
        s += len
    } while s < end
}

private func writeBlock(
    _ w: inout BitWriter, _ tokens: ArraySlice<Token>, _ data: [UInt8],
    _ start: Int, _ end: Int, final: Bool, mode: DeflateBlockMode
) {
    var litFreq = [Int](repeating: 0, count: 286), distFreq = [Int](repeating: 0, count: 30)
    var extraBits = 0
    for t in tokens {
        if t.dist == 0 { litFreq[Int(t.value)] += 1; continue }
        let lc = Int(lengthCodeOf[Int(t.value)]), dc = distCode(Int(t.dist))
        litFreq[257 + lc] += 1; distFreq[dc] += 1
        extraBits += lengthExtra[lc] + distExtra[dc]
    }
    litFreq[256] = 1

    func dataBits(_ ll: [Int], _ dl: [Int]) -> Int {
        var bits = extraBits
        for s in 0..<286 where litFreq[s] > 0 { bits += litFreq[s] * ll[s] }
        for s in 0..<30 where distFreq[s] > 0 { bits += distFreq[s] * dl[s] }
        return bits
    }
    let fixedBits = 3 + dataBits(fixedLitLengths, fixedDistLengths)
    let dynLit = huffmanLengths(litFreq, limit: 15), dynDist = huffmanLengths(distFreq, limit: 15)
    let header = dynamicHeader(dynLit, dynDist)
    let dynamicBits = 3 + header.bits + dataBits(dynLit, dynDist)
    // Stored: header bits, padding to a byte (at most 7), LEN/NLEN per 64 KiB piece, the bytes.
    let pieces = max(1, (end - start + 65534) / 65535)
    let storedBits = pieces * (3 + 7 + 32) + (end - start) * 8

    var choice = mode
    if mode == .automatic {
        choice = storedBits < min(fixedBits, dynamicBits) ? .stored : (fixedBits <= dynamicBits ? .fixed : .dynamic)
    }
    switch choice {
    case .stored:
        writeStored(&w, data, start, end, final: final)
    case .fixed:
        w.write(final ? 1 : 0, 1); w.write(1, 2)
        writeTokens(&w, tokens, fixedLitLengths, fixedDistLengths)
    default:
        w.write(final ? 1 : 0, 1); w.write(2, 2)
        header.write(&w)
        writeTokens(&w, tokens, dynLit, dynDist)
    }
}

private func writeTokens(_ w: inout BitWriter, _ tokens: ArraySlice<Token>, _ ll: [Int], _ dl: [Int]) {
    let lcodes = canonicalCodes(ll), dcodes = canonicalCodes(dl)
    for t in tokens {
        if t.dist == 0 { w.write(lcodes[Int(t.value)], ll[Int(t.value)]); continue }
        let len = Int(t.value), lc = Int(lengthCodeOf[len])
        w.write(lcodes[257 + lc], ll[257 + lc])
        if lengthExtra[lc] > 0 { w.write(len - lengthBase[lc], lengthExtra[lc]) }
        let dist = Int(t.dist), dc = distCode(dist)
        w.write(dcodes[dc], dl[dc])
        if distExtra[dc] > 0 { w.write(dist - distBase[dc], distExtra[dc]) }
    }
    w.write(lcodes[256], ll[256])
}

/// The dynamic block header (§3.2.7): HLIT, HDIST, HCLEN, the code-length code, then the literal/length
/// and distance code lengths run-length coded with symbols 16 (repeat previous 3–6), 17 (3–10 zeros) and
/// 18 (11–138 zeros).
private struct DynamicHeader {
    var hlit: Int, hdist: Int, hclen: Int
    var clLengths: [Int], clCodes: [Int]
    var items: [(sym: Int, extra: Int, extraLen: Int)]
    var bits: Int

    func write(_ w: inout BitWriter) {
        w.write(hlit - 257, 5); w.write(hdist - 1, 5); w.write(hclen - 4, 4)
        for k in 0..<hclen { w.write(clLengths[clOrder[k]], 3) }
        for it in items {
            w.write(clCodes[it.sym], clLengths[it.sym])
            if it.extraLen > 0 { w.write(it.extra, it.extraLen) }
        }
    }
}

private func dynamicHeader(_ ll: [Int], _ dl: [Int]) -> DynamicHeader {
    var hlit = 286; while hlit > 257 && ll[hlit - 1] == 0 { hlit -= 1 }
    var hdist = 30; while hdist > 1 && dl[hdist - 1] == 0 { hdist -= 1 }
    let seq = Array(ll[0..<hlit]) + Array(dl[0..<hdist])
    var items: [(sym: Int, extra: Int, extraLen: Int)] = []
    var i = 0
    while i < seq.count {
        let v = seq[i]
        var run = 1
        while i + run < seq.count && seq[i + run] == v { run += 1 }
        if v == 0 && run >= 3 {
            var r = run
            while r >= 11 { let k = min(r, 138); items.append((18, k - 11, 7)); r -= k }
            if r >= 3 { items.append((17, r - 3, 3)); r = 0 }
            for _ in 0..<r { items.append((0, 0, 0)) }
        } else if v != 0 && run >= 4 {
            items.append((v, 0, 0))
            var r = run - 1
            while r >= 3 { let k = min(r, 6); items.append((16, k - 3, 2)); r -= k }
            for _ in 0..<r { items.append((v, 0, 0)) }
        } else {
            for _ in 0..<run { items.append((v, 0, 0)) }
        }
        i += run
    }
    var clFreq = [Int](repeating: 0, count: 19)
    for it in items { clFreq[it.sym] += 1 }
    let clLengths = huffmanLengths(clFreq, limit: 7)
    var hclen = 19; while hclen > 4 && clLengths[clOrder[hclen - 1]] == 0 { hclen -= 1 }
    var bits = 5 + 5 + 4 + 3 * hclen
    for it in items { bits += clLengths[it.sym] + it.extraLen }
    return DynamicHeader(
        hlit: hlit, hdist: hdist, hclen: hclen, clLengths: clLengths,
        clCodes: canonicalCodes(clLengths), items: items, bits: bits)
}
