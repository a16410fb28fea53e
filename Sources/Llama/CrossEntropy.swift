// LM head + softmax cross-entropy over the positions that carry a target, in chunks of rows so the
// [rows, vocab] logits never exist for the whole batch at once.
import Foundation
import Numerics

public struct LossResult: Sendable {
    public init() {}
    public var sum: Double = 0  // Σ −log p(target)
    public var count: Int = 0  // positions with a target
    /// Σ over the same positions of the entropy of the next-token distribution, −Σ_v p_v log p_v (nats).
    public var entropySum: Double = 0
    public var mean: Double { count > 0 ? sum / Double(count) : 0 }
    public var meanEntropy: Double { count > 0 ? entropySum / Double(count) : 0 }
}

/// Rows of logits computed at once, of N rows at most: enough rows that the LM head's packing (a dequantization,
/// for a quantized head, streamed from memory: 30 MB for SmolLM2's Q8_0 head) is shared by many, while the
/// [rows, vocab] logits stay near 128 MB: 682 rows of SmolLM2's 49152 (a training batch's 512 target rows in one
/// chunk; the 170 rows of a 32 MB cap packed the head 3 times forward and 3 times backward), 261 of Llama 3's
/// 128256, 1048 of Llama 2's 32000. 64 rows at least.
public func crossEntropyChunkRows(vocab: Int, rows N: Int) -> Int { max(1, min(N, max(64, (1 << 25) / max(vocab, 1)))) }

/// Where one chunk of crossEntropy works: logits [chunk, vocab], the chunk's inputs and input gradients [chunk, dim].
public struct CrossEntropyBuffers {
    public let logits, input, inputGrad: UnsafeMutablePointer<Float>
    public let chunk: Int
}

/// targets [N]: the next token for each row, or −1 where no loss is taken (prompt, padding).
/// With `dxn` given (zeroed [N, dim]), also writes d(mean loss)/d(xnF) for the target rows.
/// `buffers` (the training arena's) are used when given; otherwise chunks of `chunk` rows are allocated here.
func crossEntropy(
    xn: UnsafePointer<Float>, targets: [Int32], head: Weight, dim: Int,
    dxn: UnsafeMutablePointer<Float>?, chunk: Int = 64, buffers: CrossEntropyBuffers? = nil
) -> LossResult {
    let rows = targets.indices.filter { targets[$0] >= 0 }
    var result = LossResult()
    result.count = rows.count
    if rows.isEmpty { return result }
    let V = head.rows
    let chunk = buffers?.chunk ?? chunk
    let owned =
        buffers == nil
        ? (FloatBuffer(count: chunk * dim), FloatBuffer(count: chunk * V), FloatBuffer(count: chunk * dim)) : nil
    let xr = buffers?.input ?? owned!.0.ptr, logits = buffers?.logits ?? owned!.1.ptr,
        dr = buffers?.inputGrad ?? owned!.2.ptr
    let invCount = 1 / Float(rows.count)
    var start = 0
    while start < rows.count {
        let R = min(chunk, rows.count - start)
        for i in 0..<R { (xr + i * dim).update(from: xn + rows[start + i] * dim, count: dim) }
        matmul(xr, R, head, logits)
        // Softmax per row; loss; gradient p − onehot (scaled by 1/count) in place.
        let ls = SendablePointer(logits)
        var losses = [Double](repeating: 0, count: 2 * R)  // loss, entropy of row i at 2i, 2i + 1
        losses.withUnsafeMutableBufferPointer { lb in
            let lp = SendablePointer(lb.baseAddress!)
            parallelRanges(R) { range in
                for i in range {
                    let row = ls.p + i * V
                    let target = Int(targets[rows[start + i]])
                    let mx = maxElement(row, V)
                    let zt = Double(row[target] - mx)
                    let (sum, ez) = expShiftedSum(row, V, mx)
                    // −log p_t = log S − z_t; H = −Σ p log p = log S − Σ e·z / S (z = logit − max, e = e^z).
                    lp.p[2 * i] = log(sum) - zt
                    lp.p[2 * i + 1] = log(sum) - ez / sum
                    scaleInPlace(row, V, by: Float(1 / sum) * invCount)
                    row[target] -= invCount
                }
            }
        }
        for i in 0..<R { result.sum += losses[2 * i]; result.entropySum += losses[2 * i + 1] }
        if let dxn {
            matmulBackward(logits, R, head, dr)
            for i in 0..<R { (dxn + rows[start + i] * dim).update(from: dr + i * dim, count: dim) }
        }
        start += R
    }
    return result
}

/// row[j] = e^(row[j] − m) in place (every row[j] ≤ m), Σ_j of them, and Σ_j e_j·(row[j] − m) (for the entropy): in
/// 8 Float lanes over runs of 1024 values, the runs' sums added in Double (a Float sum over 49152 terms would lose
/// about 5 digits).
@inline(__always)
private func expShiftedSum(_ row: UnsafeMutablePointer<Float>, _ n: Int, _ m: Float) -> (sum: Double, ez: Double) {
    let raw = UnsafeMutableRawPointer(row), mv = SIMD8<Float>(repeating: m)
    var total: Double = 0, totalEZ: Double = 0
    var j = 0
    while j + 8 <= n {
        var acc = SIMD8<Float>(), accEZ = SIMD8<Float>()
        let end = min(n & ~7, j + 1024)
        while j < end {
            let z = clamp8(raw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self) - mv, -87, 0)
            let e = expNonPositive8(z)
            raw.storeBytes(of: e, toByteOffset: 4 * j, as: SIMD8<Float>.self)
            acc += e
            accEZ.addProduct(e, z)
            j += 8
        }
        total += Double(acc.sum())
        totalEZ += Double(accEZ.sum())
    }
    while j < n {
        let z = row[j] - m, e = exp8(SIMD8(repeating: z))[0]
        row[j] = e; total += Double(e); totalEZ += Double(e * z); j += 1
    }
    return (total, totalEZ)
}
