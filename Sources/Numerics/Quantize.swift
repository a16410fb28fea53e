// Quantizers into ggml's block formats (layouts in QuantBlocks.swift), for test data, random quantized
// models and writing quantized GGUF files.
//
// Not ggml's: ggml's reference quantizers search for the scales (make_qkx2_quants, make_qx_quants); these
// take each group's range directly and round every scale *up* (fp16 scales to the next fp16, 6-bit sub-block
// scales with ceil), so that every weight is representable and lands within half a step of its group:
//   |w - ŵ| ≤ ½·step (plus float rounding), step = the group's decoded scale d (Q6_K, Q8_0, Q4_0: d·sc or d),
// where step ≤ range/levels (levels: Q8_0 127 per sign, Q4_0 7 per sign, Q4_1 15, Q4_K 15, Q5_K 31, Q6_K 31
// per sign) widened by the fp16 rounding of the scale (2⁻¹⁰ relative) and, for the K-quants, by at most one
// step of the super-block's scale grid (d = largest group step / 63, or / 127 for Q6_K).

/// Quantizes `n` floats (a multiple of the block size) from `src` into blocks at `dst`.
public func quantizeBlocks(_ f: BlockFormat, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ n: Int) {
    let (be, bb) = f.layout
    precondition(n % be == 0, "quantizeBlocks: \(n) is not a multiple of \(f)'s block size \(be)")
    for blk in 0..<n / be {
        let x = UnsafeBufferPointer(start: src + blk * be, count: be), b = dst + blk * bb
        b.initializeMemory(as: UInt8.self, repeating: 0, count: bb)
        switch f {
        case .q8_0: quantizeQ8_0(x, b)
        case .q4_0: quantizeQ4_0(x, b)
        case .q4_1: quantizeQ4_1(x, b)
        case .q4_K: quantizeQ45_K(x, b, levels: 15)
        case .q5_K: quantizeQ45_K(x, b, levels: 31)
        case .q6_K: quantizeQ6_K(x, b)
        case .q5_0, .q5_1: preconditionFailure("quantizeBlocks: no quantizer for \(f)")
        }
    }
}

/// The smallest fp16 ≥ x (x finite, ≥ 0), and the largest ≤ x.
func halfUp(_ x: Float) -> Float16 { let h = Float16(x); return Float(h) >= x ? h : h.nextUp }
func halfDown(_ x: Float) -> Float16 { let h = Float16(x); return Float(h) <= x ? h : h.nextDown }

@inline(__always)
private func putHalf(_ b: UnsafeMutableRawPointer, _ at: Int, _ h: Float16) {
    b.storeBytes(of: h.bitPattern, toByteOffset: at, as: UInt16.self)
}
@inline(__always)
private func put(_ b: UnsafeMutableRawPointer, _ at: Int, _ v: Int) {
    b.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: at, as: UInt8.self)
}
/// round(x / step) clamped to lo...hi (0 for a zero step).
@inline(__always)
private func level(_ x: Float, _ step: Float, _ lo: Int, _ hi: Int) -> Int {
    step > 0 ? min(hi, max(lo, Int((x / step).rounded()))) : 0
}
private func absMax(_ x: UnsafeBufferPointer<Float>) -> Float { x.reduce(0) { max($0, abs($1)) } }

/// Nibbles of a 32-weight group: byte i holds weight i (low) and weight i+16 (high).
private func putNibbles(_ b: UnsafeMutableRawPointer, _ at: Int, _ q: [Int]) {
    for i in 0..<16 { put(b, at + i, q[i] | q[i + 16] << 4) }
}

private func quantizeQ8_0(_ x: UnsafeBufferPointer<Float>, _ b: UnsafeMutableRawPointer) {
    let d = halfUp(absMax(x) / 127)
    putHalf(b, 0, d)
    for i in 0..<32 { put(b, 2 + i, level(x[i], Float(d), -127, 127)) }
}

private func quantizeQ4_0(_ x: UnsafeBufferPointer<Float>, _ b: UnsafeMutableRawPointer) {
    let d = halfUp(absMax(x) / 7)
    putHalf(b, 0, d)
    putNibbles(b, 2, (0..<32).map { level(x[$0], Float(d), -7, 7) + 8 })
}

private func quantizeQ4_1(_ x: UnsafeBufferPointer<Float>, _ b: UnsafeMutableRawPointer) {
    let m = halfDown(x.min()!)
    let d = halfUp((x.max()! - Float(m)) / 15)
    putHalf(b, 0, d); putHalf(b, 2, m)
    putNibbles(b, 4, (0..<32).map { level(x[$0] - Float(m), Float(d), 0, 15) })
}

/// Q4_K (levels 15) and Q5_K (31): 8 sub-blocks of 32, w = (d·sc)·q − dmin·m, with 6-bit sc and m.
private func quantizeQ45_K(_ x: UnsafeBufferPointer<Float>, _ b: UnsafeMutableRawPointer, levels: Int) {
    // Mins first (the representable min is ≤ 0), then each sub-block's step over what remains.
    var lows = [Float](repeating: 0, count: 8), highs = lows
    for s in 0..<8 {
        let g = x[(32 * s)..<(32 * s + 32)]
        lows[s] = min(0, g.min()!); highs[s] = g.max()!
    }
    let dmin = halfUp(lows.map { -$0 }.max()! / 63)
    let mins = lows.map { min(63, Int((-$0 / max(Float(dmin), .leastNonzeroMagnitude)).rounded(.up))) }
    let offsets = (0..<8).map { -(Float(dmin) * Float(mins[$0])) }  // as decoded: −(dmin·m)
    let needed = (0..<8).map { max(0, highs[$0] - offsets[$0]) / Float(levels) }
    let d = halfUp(needed.max()! / 63)
    let scales = needed.map { min(63, Int(($0 / max(Float(d), .leastNonzeroMagnitude)).rounded(.up))) }
    putHalf(b, 0, d); putHalf(b, 2, dmin)
    for s in 0..<8 {  // the inverse of get_scale_min_k4
        let sc = scales[s], m = mins[s]
        if s < 4 {
            put(b, 4 + s, sc); put(b, 8 + s, m)
        } else {
            put(b, 8 + s, (sc & 0x0F) | (m & 0x0F) << 4)
            put(b, 4 + s - 4, Int(b.load(fromByteOffset: 4 + s - 4, as: UInt8.self)) | (sc >> 4) << 6)
            put(b, 4 + s, Int(b.load(fromByteOffset: 4 + s, as: UInt8.self)) | (m >> 4) << 6)
        }
    }
    let qsAt = levels == 15 ? 16 : 48
    for s in 0..<8 {
        let step = Float(d) * Float(scales[s])
        for l in 0..<32 {
            let q = level(x[32 * s + l] - offsets[s], step, 0, levels)
            let at = qsAt + 32 * (s / 2) + l
            put(b, at, Int(b.load(fromByteOffset: at, as: UInt8.self)) | (q & 0x0F) << (4 * (s & 1)))
            if levels == 31 {
                put(b, 16 + l, Int(b.load(fromByteOffset: 16 + l, as: UInt8.self)) | (q >> 4) << s)
            }
        }
    }
}

/// Q6_K: 16 groups of 16, w = (d·sc)·(q − 32) with a signed 8-bit sc (here ≥ 0) and q in 0...63.
private func quantizeQ6_K(_ x: UnsafeBufferPointer<Float>, _ b: UnsafeMutableRawPointer) {
    let needed = (0..<16).map { g in x[(16 * g)..<(16 * g + 16)].reduce(0) { max($0, abs($1)) } / 31 }
    let d = halfUp(needed.max()! / 127)
    putHalf(b, 208, d)
    for g in 0..<16 {
        let sc = min(127, Int((needed[g] / max(Float(d), .leastNonzeroMagnitude)).rounded(.up)))
        put(b, 192 + g, sc)
        let step = Float(d) * Float(sc)
        for i in 0..<16 {
            let e = 16 * g + i, h = e / 128, r = (e % 128) / 32, l = e % 32
            let q = level(x[e], step, -32, 31) + 32
            let lo = 64 * h + 32 * (r & 1) + l, hi = 128 + 32 * h + l
            put(b, lo, Int(b.load(fromByteOffset: lo, as: UInt8.self)) | (q & 0x0F) << (4 * (r >> 1)))
            put(b, hi, Int(b.load(fromByteOffset: hi, as: UInt8.self)) | (q >> 4) << (2 * r))
        }
    }
}
