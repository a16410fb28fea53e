// Rotary position embedding (Su et al. 2021) on interleaved pairs (2i, 2i+1) of each head, as in Meta's
// reference code, llama2.c and GGUF files (ARCHITECTURE.md). Pair i of a head rotates by pos · θ^(-2i/headDim).
import Foundation
import Numerics

/// cos/sin of every (position, pair) for positions pos0 ..< pos0+T: [T, headDim/2] each.
public struct RopeTable {
    public let cos: [Float], sin: [Float]
    public let half: Int

    public init(positions pos0: Int, count T: Int, headDim: Int, theta: Float) {
        half = headDim / 2
        var c = [Float](repeating: 0, count: T * half), s = c
        for t in 0..<T {
            for i in 0..<half {
                // Frequencies in Double: pos · θ^(-2i/d) reaches 10⁴ rad at long contexts.
                let angle = Double(pos0 + t) * Foundation.pow(Double(theta), -2 * Double(i) / Double(headDim))
                c[t * half + i] = Float(Foundation.cos(angle))
                s[t * half + i] = Float(Foundation.sin(angle))
            }
        }
        cos = c; sin = s
    }
}

/// x[T, nHeads·headDim] rotated in place: (a, b) → (a·cos − b·sin, a·sin + b·cos).
public func ropeForward(_ x: UnsafeMutablePointer<Float>, T: Int, nHeads: Int, headDim: Int, _ table: RopeTable) {
    rotatePairs(x, T: T, nHeads: nHeads, headDim: headDim, table, sign: 1)
}

/// The backward of a rotation is the rotation by −angle: dx = Rᵀ dy. In place on dx[T, nHeads·headDim].
public func ropeBackward(_ dx: UnsafeMutablePointer<Float>, T: Int, nHeads: Int, headDim: Int, _ table: RopeTable) {
    rotatePairs(dx, T: T, nHeads: nHeads, headDim: headDim, table, sign: -1)
}

/// Rotates every pair (2i, 2i+1) of every head by sign·angle(t, i).
func rotatePairs(_ x: UnsafeMutablePointer<Float>, T: Int, nHeads: Int, headDim: Int, _ table: RopeTable, sign: Float) {
    let half = headDim / 2
    table.cos.withUnsafeBufferPointer { cs in
        table.sin.withUnsafeBufferPointer { sn in
            for t in 0..<T {
                for h in 0..<nHeads {
                    let v = x + t * nHeads * headDim + h * headDim
                    for i in 0..<half {
                        let c = cs[t * half + i], s = sign * sn[t * half + i]
                        let a = v[2 * i], b = v[2 * i + 1]
                        v[2 * i] = a * c - b * s
                        v[2 * i + 1] = a * s + b * c
                    }
                }
            }
        }
    }
}
