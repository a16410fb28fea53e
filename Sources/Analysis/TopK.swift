// Softmax statistics and streaming top-K / bottom-K selection over one row of logits, for the LM-head
// decoder (LMHeadDecoder.swift). A row is read twice while it is still in cache:
//   pass 1: SIMD threshold test against the current K-th largest / K-th smallest; only the rare lanes
//           that beat a threshold go through a scalar insertion (about K·ln(n/K) of n values do);
//   pass 2: Σ exp(l − max) with a vectorised exp, max being the top-1 found in pass 1.
// Probabilities are then exp(l − lse) with lse = max + log Σ — exact softmax values for the K kept tokens,
// without ever writing the full distribution.
import Foundation
import Numerics

/// Σ exp(l[i] − m) over n values, all in [m − 87, m] (the caller checks the row's minimum).
func sumExpShifted(_ l: UnsafePointer<Float>, _ n: Int, _ m: Float) -> Float {
    let raw = UnsafeRawPointer(l)
    let mv = SIMD8<Float>(repeating: m)
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= n {
        a0 += expNonPositive8(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - mv)
        a1 += expNonPositive8(raw.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self) - mv)
        i += 16
    }
    var s = (a0 + a1).sum()
    while i < n { s += expf(l[i] - m); i += 1 }
    return s
}

/// Σ exp(l[i] − m) for rows whose spread exceeds 87 (terms below e^−87 ≈ 1.6e−38 are dropped).
func sumExpShiftedWide(_ l: UnsafePointer<Float>, _ n: Int, _ m: Float) -> Float {
    var s: Float = 0
    for i in 0..<n { let d = l[i] - m; if d > -87 { s += expf(d) } }
    return s
}

/// 1 in each lane where v > top or v < bottom, else 0 (from the sign bits of the differences; no masks).
@inline(__always)
func thresholdHits(_ v: SIMD8<Float>, _ top: SIMD8<Float>, _ bottom: SIMD8<Float>) -> SIMD8<UInt32> {
    (unsafeBitCast(top - v, to: SIMD8<UInt32>.self) | unsafeBitCast(v - bottom, to: SIMD8<UInt32>.self)) &>> 31
}

/// Selection state for one row: the K largest (descending) and K smallest (ascending) values with ids,
/// in caller-provided storage (k ≥ 1, kb ≥ 1). Ties keep the lower id first.
struct RowSelection {
    let k: Int, kb: Int
    let topV: UnsafeMutablePointer<Float>, topI: UnsafeMutablePointer<Int32>
    let botV: UnsafeMutablePointer<Float>, botI: UnsafeMutablePointer<Int32>

    @inline(__always) func insertTop(_ v: Float, _ id: Int32) {
        var j = k - 1
        while j > 0 && v > topV[j - 1] { topV[j] = topV[j - 1]; topI[j] = topI[j - 1]; j -= 1 }
        topV[j] = v; topI[j] = id
    }
    @inline(__always) func insertBottom(_ v: Float, _ id: Int32) {
        var j = kb - 1
        while j > 0 && v < botV[j - 1] { botV[j] = botV[j - 1]; botI[j] = botI[j - 1]; j -= 1 }
        botV[j] = v; botI[j] = id
    }

    /// Pass 1 over l[0..<n]: blocks of 32 values are tested against both thresholds at once; only a block
    /// with a hit is looked at vector by vector, and only a vector with a hit value by value.
    func scan(_ l: UnsafePointer<Float>, _ n: Int) {
        topV.update(repeating: -.infinity, count: k); topI.update(repeating: -1, count: k)
        botV.update(repeating: .infinity, count: kb); botI.update(repeating: -1, count: kb)
        var tT = topV[k - 1], tB = botV[kb - 1]
        @inline(__always) func scalar(_ lo: Int, _ hi: Int) {
            for i in lo..<hi {
                let x = l[i]
                if x > tT { insertTop(x, Int32(i)); tT = topV[k - 1] }
                if x < tB { insertBottom(x, Int32(i)); tB = botV[kb - 1] }
            }
        }
        let raw = UnsafeRawPointer(l)
        var i = 0
        while i + 32 <= n {
            let top = SIMD8(repeating: tT), bot = SIMD8(repeating: tB)
            let v0 = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let v1 = raw.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            let v2 = raw.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD8<Float>.self)
            let v3 = raw.loadUnaligned(fromByteOffset: i * 4 + 96, as: SIMD8<Float>.self)
            let h =
                thresholdHits(v0, top, bot) | thresholdHits(v1, top, bot) | thresholdHits(v2, top, bot)
                | thresholdHits(v3, top, bot)
            if h.wrappedSum() != 0 {
                for q in 0..<4 {
                    let v = raw.loadUnaligned(fromByteOffset: (i + 8 * q) * 4, as: SIMD8<Float>.self)
                    if thresholdHits(v, SIMD8(repeating: tT), SIMD8(repeating: tB)).wrappedSum() != 0 {
                        scalar(i + 8 * q, i + 8 * q + 8)
                    }
                }
            }
            i += 32
        }
        scalar(i, n)
    }
}

/// Top-K / bottom-K softmax selection over `rows` rows of logits [rows, vocab], in parallel over rows
/// (the second half of a decoder block; public for the benchmark).
public func selectSoftmaxRows(_ logits: UnsafePointer<Float>, rows: Int, vocab: Int, k: Int, bottomK: Int)
    -> DecodedTokens
{
    var out = DecodedTokens(count: rows, k: k, bottomK: max(bottomK, 1))
    let ls = SendableConstPointer(logits)
    out.topIds.withUnsafeMutableBufferPointer { ti in
        out.topProbs.withUnsafeMutableBufferPointer { tp in
            out.bottomIds.withUnsafeMutableBufferPointer { bi in
                out.bottomProbs.withUnsafeMutableBufferPointer { bp in
                    let ti = SendablePointer(ti.baseAddress!), tp = SendablePointer(tp.baseAddress!)
                    let bi = SendablePointer(bi.baseAddress!), bp = SendablePointer(bp.baseAddress!)
                    let kb = max(bottomK, 1)
                    parallelFor(rows) { r in
                        selectSoftmax(
                            ls.p + r * vocab, vocab, k: k, kb: bottomK, topIds: ti.p + r * k, topProbs: tp.p + r * k,
                            botIds: bi.p + r * kb, botProbs: bp.p + r * kb)
                    }
                }
            }
        }
    }
    return out
}
