// Adam (Kingma & Ba 2015) with PyTorch's bias correction, and PyTorch's StepLR schedule.
// Defaults are the reference's: lr 1e-4, β 0.9/0.999, ε 1e-8; StepLR γ 0.85 each epoch.
import Foundation
import Numerics

public struct AdamConfig: Codable, Equatable, Sendable {
    public var lr: Float = 1e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var eps: Float = 1e-8
    public var gamma: Float = 0.85  // StepLR factor per epoch
    public var clipNorm: Float? = nil  // global gradient-norm clipping
    public init() {}

    /// StepLR: lr · γ^epoch.
    public func learningRate(epoch: Int) -> Float { lr * Float(pow(Double(gamma), Double(epoch))) }
}

public final class Adam: @unchecked Sendable {
    public let config: AdamConfig
    public let m: FloatBuffer, v: FloatBuffer
    public private(set) var step = 0

    public init(config: AdamConfig, count: Int) {
        self.config = config
        m = FloatBuffer(count: count); v = FloatBuffer(count: count)
    }

    /// Restores the step count of a saved state whose m and v the caller has read into `m` and `v`.
    public func restore(step: Int) { self.step = step }

    /// One update of params from grads at learning rate lr. Returns the gradient's global L2 norm
    /// (before clipping).
    @discardableResult
    public func update(params: FloatBuffer, grads: FloatBuffer, lr: Float) -> Float {
        let n = params.count
        var sq = 0.0
        for i in 0..<n { sq += Double(grads[i]) * Double(grads[i]) }
        let norm = Float(sq.squareRoot())
        var scale: Float = 1
        if let c = config.clipNorm, norm > c { scale = c / (norm + 1e-6) }
        step += 1
        let b1 = config.beta1, b2 = config.beta2
        let bc1 = 1 - Float(pow(Double(b1), Double(step))), bc2 = 1 - Float(pow(Double(b2), Double(step)))
        let stepSize = lr / bc1, bc2Root = bc2.squareRoot(), eps = config.eps
        let p = SendablePointer(params.ptr), g = SendablePointer(grads.ptr)
        let ms = SendablePointer(m.ptr), vs = SendablePointer(v.ptr)
        parallelRanges(n, align: 1024) { range in
            for i in range {
                let gi = g.p[i] * scale
                ms.p[i] = b1 * ms.p[i] + (1 - b1) * gi
                vs.p[i] = b2 * vs.p[i] + (1 - b2) * gi * gi
                // PyTorch: p −= lr/bc1 · m / (√v/√bc2 + ε)
                p.p[i] -= stepSize * ms.p[i] / (vs.p[i].squareRoot() / bc2Root + eps)
            }
        }
        return norm
    }
}
