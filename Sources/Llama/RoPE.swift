// Rotary position embedding (Su et al. 2021) on interleaved pairs (2i, 2i+1) of each head, as in Meta's
// reference code, llama2.c and GGUF files (ARCHITECTURE.md). Pair i of a head rotates by pos · ω_i, ω_i = θ^(-2i/headDim)
// unless the model scales it (Llama 3.1's `llama3` rule, linear interpolation, or GGUF's per-pair divisors).
import Foundation
import Numerics

/// How a model stretches RoPE's wavelengths beyond its training context. nil in `LlamaConfig` is plain RoPE.
public enum RopeScaling: Sendable, Equatable, Codable {
    /// Llama 3.1's `rope_type: "llama3"` (transformers' `_compute_llama3_parameters`). With L = originalContext,
    /// a pair of wavelength λ = 2π/ω keeps ω when λ < L/highFreqFactor, gets ω/factor when λ > L/lowFreqFactor,
    /// and in between the blend (1−s)·ω/factor + s·ω, s = (L/λ − lowFreqFactor)/(highFreqFactor − lowFreqFactor).
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalContext: Int)
    /// `rope_type: "linear"` (position interpolation): every ω divided by `factor`.
    case linear(factor: Double)
    /// One divisor per pair, ω_i / d_i: GGUF's `rope_freqs.weight`, which llama.cpp's converter writes for
    /// Llama 3.1 (the llama3 rule above evaluated per pair) and which ggml's rope applies as `freq_factors`.
    case divisors([Float])

    /// One line naming the settings, for `irm info`.
    public var description: String {
        switch self {
        case .llama3(let f, let lo, let hi, let l): "llama3 (factor \(f), low \(lo), high \(hi), original context \(l))"
        case .linear(let f): "linear (factor \(f))"
        case .divisors(let d): "per-pair divisors (\(d.count), GGUF rope_freqs)"
        }
    }
}

/// ω_i of pair i = 0 ..< headDim/2: θ^(−2i/headDim), then scaled. In Double: pos · ω reaches 10⁴ rad at long
/// contexts, and a Float ω would put its rounding error, times pos, into every angle.
public func ropeFrequencies(headDim: Int, theta: Float, scaling: RopeScaling?) -> [Double] {
    let half = headDim / 2
    let base = (0..<half).map { Foundation.pow(Double(theta), -2 * Double($0) / Double(headDim)) }
    switch scaling {
    case nil: return base
    case .linear(let f): return base.map { $0 / f }
    case .divisors(let d):
        precondition(d.count == half, "rope divisors: \(d.count) for \(half) pairs")
        return zip(base, d).map { $0 / Double($1) }
    case .llama3(let factor, let lo, let hi, let L):
        let lowWavelength = Double(L) / lo, highWavelength = Double(L) / hi
        return base.map { w in
            let wavelength = 2 * Double.pi / w
            if wavelength < highWavelength { return w }
            if wavelength > lowWavelength { return w / factor }
            let s = (Double(L) / wavelength - lo) / (hi - lo)
            return (1 - s) * w / factor + s * w
        }
    }
}

/// cos/sin of every (position, pair) for positions pos0 ..< pos0+T: [T, headDim/2] each.
public struct RopeTable {
    public let cos: [Float], sin: [Float]
    public let half: Int

    public init(positions pos0: Int, count T: Int, frequencies w: [Double]) {
        half = w.count
        var c = [Float](repeating: 0, count: T * half), s = c
        for t in 0..<T {
            for i in 0..<half {
                let angle = Double(pos0 + t) * w[i]
                c[t * half + i] = Float(Foundation.cos(angle))
                s[t * half + i] = Float(Foundation.sin(angle))
            }
        }
        cos = c; sin = s
    }

    /// Plain RoPE with base θ.
    public init(positions pos0: Int, count T: Int, headDim: Int, theta: Float) {
        self.init(positions: pos0, count: T, frequencies: ropeFrequencies(headDim: headDim, theta: theta, scaling: nil))
    }

    /// The table of `config`'s rotary settings (base and scaling).
    public init(positions pos0: Int, count T: Int, config c: LlamaConfig) {
        self.init(
            positions: pos0, count: T,
            frequencies: ropeFrequencies(headDim: c.headDim, theta: c.ropeTheta, scaling: c.ropeScaling))
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
