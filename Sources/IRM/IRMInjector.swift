// The IRM as a hook-site intervention on the frozen model: at the tap layer's afterAttention site it
// reads the residual and runs the network; at each injection layer's site it adds that layer's slice.
// In the backward pass it collects d loss / d output from the same sites. When the backward recomputes a
// layer (replay), the tap does not run the network again: the injections reuse the output of the forward.
//
// The tap is read before the tap layer's own injection (when the tap layer is also an injection layer),
// so the IRM sees the unaltered residual of the frozen model.
import Numerics
import Llama

public final class IRMInjector: Intervention, GradientReceiver, @unchecked Sendable {
    public let net: IRMNetwork
    public private(set) var acts: IRMActivations
    let slot: [Int: Int]  // injection layer → slot j
    /// Scales the injection (1 = as trained, 0 = off); the network still runs.
    public var strength: Float = 1
    /// Changes each output block [rows, h·L] in place right after it is computed, before it is recorded or
    /// injected (the ablations zero or keep hidden indices through this).
    public var editOutput: ((UnsafeMutablePointer<Float>, Int) -> Void)?
    /// Called with each output block [rows, h·L] as it is computed (heatmaps record through this).
    public var onOutput: ((UnsafePointer<Float>, Int) -> Void)?
    /// Rows of the last forward.
    public private(set) var rows = 0

    public init(net: IRMNetwork, capacity: Int = 1) {
        self.net = net
        var s: [Int: Int] = [:]
        for (j, l) in net.config.layers.enumerated() { s[l] = j }
        slot = s
        acts = IRMActivations(config: net.config, rows: max(1, capacity))
    }

    func ensureCapacity(_ n: Int) {
        if n > acts.rows { acts = IRMActivations(config: net.config, rows: n) }
    }

    public func afterAttention(layer: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {
        let c = net.config
        if layer == c.tapLayer && !replay {
            ensureCapacity(T)
            net.forward(x, rows: T, acts)
            rows = T
            editOutput?(acts.output, T)
            onOutput?(acts.output, T)
        }
        guard let j = slot[layer], strength != 0 else { return }
        let h = c.hidden, L = c.layers.count, out = acts.output
        for n in 0..<T {
            let xr = x + n * h, o = out + n * c.outputDim + j
            for i in 0..<h { xr[i] += strength * o[i * L] }
        }
    }

    public func afterAttentionGradient(layer: Int, grad: UnsafePointer<Float>, N: Int) {
        guard let j = slot[layer] else { return }
        let c = net.config, h = c.hidden, L = c.layers.count
        for n in 0..<N {
            let g = grad + n * h, d = acts.dOut + n * c.outputDim + j
            for i in 0..<h { d[i * L] = g[i] }
        }
    }

    /// Adds the L1 penalty's gradient, λ·sign(out)/count over the rows with rowMask true, to dOut,
    /// and returns the penalty λ·Σ|out|/count.
    public func addL1(rowMask: [Bool]) -> Double {
        let c = net.config
        guard c.l1 > 0 else { return 0 }
        let count = Float(max(1, rowMask.filter { $0 }.count * c.outputDim))
        var sum = 0.0
        for (n, on) in rowMask.enumerated() where on {
            let o = acts.output + n * c.outputDim, d = acts.dOut + n * c.outputDim
            for i in 0..<c.outputDim {
                sum += Double(abs(o[i]))
                d[i] += c.l1 * (o[i] > 0 ? 1 : (o[i] < 0 ? -1 : 0)) / count
            }
        }
        return Double(c.l1) * sum / Double(count)
    }

    /// Parameter gradients from the collected dOut (call after the model's backward and addL1).
    public func backward() {
        net.backward(acts.dOut, rows: rows, acts)
    }

    public func zeroOutputGradient() { acts.dOut.update(repeating: 0, count: rows * net.config.outputDim) }

    /// The output slice for injection slot j and token row n: out[n, i·L + j], i = 0..<h.
    public func slice(row n: Int, slot j: Int) -> [Float] {
        let c = net.config
        return (0..<c.hidden).map { acts.output[n * c.outputDim + $0 * c.layers.count + j] }
    }
}
