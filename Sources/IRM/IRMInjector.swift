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
            regroupOutput()
        }
        guard let j = slot[layer], strength != 0 else { return }
        let h = c.hidden, o = SendableConstPointer(acts.bySlot + j * rows * h), xs = SendablePointer(x)
        let strength = strength
        parallelRanges(T, align: 64) { r in
            for n in r {
                let xr = xs.p + n * h, on = o.p + n * h
                for i in 0..<h { xr[i] += strength * on[i] }
            }
        }
    }

    public func afterAttentionGradient(layer: Int, grad: UnsafePointer<Float>, N: Int) {
        guard let j = slot[layer] else { return }
        let h = net.config.hidden
        let d = acts.dBySlot + j * rows * h
        d.update(from: grad, count: N * h)
        if N < rows { (d + N * h).update(repeating: 0, count: (rows - N) * h) }
        slotGradients.insert(j)
    }

    // MARK: the output regrouped by slot
    //
    // The network's output row is [h, L] (the reference layout: slot j of hidden index i at i·L + j), so one
    // injection site reads every L-th float of the whole [rows, h·L] output: every cache line of it, at every
    // layer, forward and backward (30 × 70 MB at SmolLM2's 8×128 batch). The output is regrouped once per
    // forward into [L, rows, h], and the gradients the sites deliver are collected the same way and put back
    // into dOut's layout once, before the L1 term and the network's backward read it.

    /// acts.bySlot[j, n, i] = acts.output[n, i·L + j] for the `rows` rows.
    func regroupOutput() {
        let c = net.config, h = c.hidden, L = c.layers.count, R = rows
        let out = SendableConstPointer(acts.output), by = SendablePointer(acts.bySlot)
        parallelRanges(R, align: 16) { r in
            for n in r {
                let o = out.p + n * c.outputDim
                for j in 0..<L {
                    let d = by.p + (j * R + n) * h
                    for i in 0..<h { d[i] = o[i * L + j] }
                }
            }
        }
    }

    /// Slots whose gradient sits in acts.dBySlot and not yet in acts.dOut.
    var slotGradients = Set<Int>()

    /// acts.dOut[n, i·L + j] = acts.dBySlot[j, n, i] for the slots delivered since the last call.
    func flushSlotGradients() {
        guard !slotGradients.isEmpty else { return }
        let c = net.config, h = c.hidden, L = c.layers.count, R = rows
        let slots = slotGradients.sorted()
        slotGradients.removeAll()
        let dOut = SendablePointer(acts.dOut), by = SendableConstPointer(acts.dBySlot)
        parallelRanges(R, align: 16) { r in
            for n in r {
                let d = dOut.p + n * c.outputDim
                for j in slots {
                    let g = by.p + (j * R + n) * h
                    for i in 0..<h { d[i * L + j] = g[i] }
                }
            }
        }
    }

    /// Adds the L1 penalty's gradient, λ·sign(out)/count over the rows with rowMask true, to dOut,
    /// and returns the penalty λ·Σ|out|/count.
    public func addL1(rowMask: [Bool]) -> Double {
        flushSlotGradients()
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
        flushSlotGradients()
        net.backward(acts.dOut, rows: rows, acts)
    }

    public func zeroOutputGradient() {
        slotGradients.removeAll()
        acts.dOut.update(repeating: 0, count: rows * net.config.outputDim)
    }

    /// The output slice for injection slot j and token row n: out[n, i·L + j], i = 0..<h.
    public func slice(row n: Int, slot j: Int) -> [Float] {
        let c = net.config
        return (0..<c.hidden).map { acts.output[n * c.outputDim + $0 * c.layers.count + j] }
    }
}
