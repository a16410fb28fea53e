// LM head + softmax cross-entropy over the positions that carry a target, in chunks of rows so the
// [rows, vocab] logits never exist for the whole batch at once.
import Foundation
import Numerics

public struct LossResult: Sendable {
    public init() {}
    public var sum: Double = 0      // Σ −log p(target)
    public var count: Int = 0       // positions with a target
    public var mean: Double { count > 0 ? sum / Double(count) : 0 }
}

/// targets [N]: the next token for each row, or −1 where no loss is taken (prompt, padding).
/// With `dxn` given (zeroed [N, dim]), also writes d(mean loss)/d(xnF) for the target rows.
func crossEntropy(xn: UnsafePointer<Float>, targets: [Int32], head: Weight, dim: Int,
                  dxn: UnsafeMutablePointer<Float>?, chunk: Int = 64) -> LossResult {
    let rows = targets.indices.filter { targets[$0] >= 0 }
    var result = LossResult()
    result.count = rows.count
    if rows.isEmpty { return result }
    let V = head.rows
    let xr = FloatBuffer(count: chunk * dim), logits = FloatBuffer(count: chunk * V), dr = FloatBuffer(count: chunk * dim)
    let invCount = 1 / Float(rows.count)
    var start = 0
    while start < rows.count {
        let R = min(chunk, rows.count - start)
        for i in 0..<R { (xr.ptr + i * dim).update(from: xn + rows[start + i] * dim, count: dim) }
        matmul(xr.ptr, R, head, logits.ptr)
        // Softmax per row; loss; gradient p − onehot (scaled by 1/count) in place.
        let ls = SendablePointer(logits.ptr)
        var losses = [Double](repeating: 0, count: R)
        losses.withUnsafeMutableBufferPointer { lb in
            let lp = SendablePointer(lb.baseAddress!)
            parallelRanges(R) { range in
                for i in range {
                    let row = ls.p + i * V
                    let target = Int(targets[rows[start + i]])
                    var mx = -Float.infinity
                    for j in 0..<V { mx = max(mx, row[j]) }
                    let zt = Double(row[target] - mx)
                    var sum: Double = 0
                    for j in 0..<V { let e = expf(row[j] - mx); row[j] = e; sum += Double(e) }
                    lp.p[i] = log(sum) - zt
                    let inv = Float(1 / sum)
                    for j in 0..<V { row[j] *= inv * invCount }
                    row[target] -= invCount
                }
            }
        }
        for v in losses { result.sum += v }
        if let dxn {
            matmulBackward(logits.ptr, R, head, dr.ptr)
            for i in 0..<R { (dxn + rows[start + i] * dim).update(from: dr.ptr + i * dim, count: dim) }
        }
        start += R
    }
    return result
}
