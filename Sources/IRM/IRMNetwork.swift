// The IRM network: parameters in one flat buffer (so Adam is one loop), forward and backward.
//
// Output layout, as in the reference (`.view(B, T, h, L)`): for hidden index i and injection slot j
// (the j-th entry of `layers`), the value sits at flat position i·L + j of a token's output row. The
// saved weights keep this layout so the two implementations can be compared.
import Numerics

public final class IRMNetwork: @unchecked Sendable {
    public let config: IRMConfig
    /// All weights and biases: for Linear k, W_k [out, in] then b_k [out], in order. The constant kind: its
    /// vector [h·L], in the output's layout.
    public let params: FloatBuffer
    /// d loss / d params, as params; empty for a network loaded for inference (IRMNetwork.load).
    public let grads: FloatBuffer
    let offsets: [(w: Int, b: Int)]

    /// `withGradients: false`: no gradient buffer (inference: eval, heatmaps, analyze), half the memory.
    public init(config: IRMConfig, seed: UInt64, withGradients: Bool = true) {
        self.config = config
        var offs: [(Int, Int)] = []
        var n = 0
        for s in config.linearShapes { offs.append((n, n + s.out * s.in)); n += s.out * s.in + s.out }
        if config.kind == .constant { n = config.outputDim }
        offsets = offs
        params = FloatBuffer(count: n)
        grads = FloatBuffer(count: withGradients ? n : 0)
        var rng = Rng(seed: seed)
        if config.kind == .constant {
            // As the bias of a Linear reading the h-wide residual (pytorch), or zero (zero-output).
            let bound = 1 / Float(config.hidden).squareRoot()
            for i in 0..<n { params[i] = config.initialization == .zeroOutput ? 0 : (rng.uniform() * 2 - 1) * bound }
        }
        for (k, s) in config.linearShapes.enumerated() {
            let bound = 1 / Float(s.in).squareRoot()
            let zero = config.initialization == .zeroOutput && k == config.linearShapes.count - 1
            for i in 0..<(s.out * s.in + s.out) {
                params[offs[k].0 + i] = zero ? 0 : (rng.uniform() * 2 - 1) * bound
            }
        }
    }

    public var linearCount: Int { offsets.count }
    /// The constant kind's vector [h·L].
    public var constant: UnsafeMutablePointer<Float> { params.ptr }
    public func weight(_ k: Int) -> UnsafeMutablePointer<Float> { params.ptr + offsets[k].w }
    public func bias(_ k: Int) -> UnsafeMutablePointer<Float> { params.ptr + offsets[k].b }
    func weightGrad(_ k: Int) -> UnsafeMutablePointer<Float> { grads.ptr + offsets[k].w }
    func biasGrad(_ k: Int) -> UnsafeMutablePointer<Float> { grads.ptr + offsets[k].b }
    func weightMatrix(_ k: Int) -> Weight {
        let s = config.linearShapes[k]
        return Weight(rows: s.out, cols: s.in, type: .f32, base: UnsafeRawPointer(weight(k)), owner: params)
    }
}

/// What the forward keeps for the backward, and the backward's inputs and scratch, for up to `rows` token
/// rows, carved from one allocation by one ordered table (`table`) that also gives the memory plan its size.
public final class IRMActivations: @unchecked Sendable {
    public let rows: Int
    let storage: FloatBuffer
    var inputs: [UnsafeMutablePointer<Float>]  // inputs[k] = input of Linear k, [rows, in_k]
    public private(set) var output: UnsafeMutablePointer<Float>  // [rows, h·L]
    /// [rows, h·L] d loss / d output, filled from the hook sites by the injector.
    public private(set) var dOut: UnsafeMutablePointer<Float>
    /// [L, rows, h]: the output and its gradient regrouped by injection slot (IRMInjector: each layer's site
    /// then reads and writes one contiguous block instead of every L-th float of the whole output).
    public private(set) var bySlot: UnsafeMutablePointer<Float>, dBySlot: UnsafeMutablePointer<Float>
    var dA, dB: UnsafeMutablePointer<Float>  // backward scratch for dx = dz·W_k, [rows, max input width]

    typealias View = ReferenceWritableKeyPath<IRMActivations, UnsafeMutablePointer<Float>>

    static func table(_ c: IRMConfig, rows n: Int) -> RegionTable<View> {
        var t = RegionTable<View>()
        for (k, s) in c.linearShapes.enumerated() { t.add(\IRMActivations.inputs[k], n * s.in) }
        let wide = c.linearShapes.map(\.in).max() ?? 0  // the widest dx (the last dz is dOut itself)
        t.add(\.output, n * c.outputDim); t.add(\.dOut, n * c.outputDim)
        t.add(\.bySlot, n * c.outputDim); t.add(\.dBySlot, n * c.outputDim)
        t.add(\.dA, n * wide); t.add(\.dB, n * wide)
        return t
    }

    /// Bytes for `rows` token rows (for the memory plan).
    public static func byteCount(config: IRMConfig, rows: Int) -> Int { 4 * table(config, rows: rows).floats }

    public init(config: IRMConfig, rows: Int) {
        self.rows = rows
        let t = IRMActivations.table(config, rows: rows)
        storage = FloatBuffer(count: t.floats)
        let p = storage.ptr  // every view is pointed at its own region just below
        inputs = Array(repeating: p, count: config.linearShapes.count); output = p; dOut = p; dA = p; dB = p
        bySlot = p; dBySlot = p
        t.carve(storage.ptr) { self[keyPath: $0] = $1 }
    }
}

extension IRMNetwork {
    /// out = net(u) for `n` ≤ acts.rows rows of u [n, h]; saves what backward needs in `acts`.
    public func forward(_ u: UnsafePointer<Float>, rows n: Int, _ acts: IRMActivations) {
        if config.kind == .constant {
            // out[r, :] = c for every row: the input is not read.
            for r in 0..<n { (acts.output + r * config.outputDim).update(from: constant, count: config.outputDim) }
            return
        }
        let shapes = config.linearShapes
        acts.inputs[0].update(from: u, count: n * config.hidden)
        for k in 0..<shapes.count {
            let last = k == shapes.count - 1
            let y = last ? acts.output : acts.inputs[k + 1]
            linearForward(k, acts.inputs[k], n, y)
            if !last { reluInPlace(y, n * shapes[k].out) }
        }
    }

    /// y[n, out] = x[n, in]·Wᵀ + b
    func linearForward(_ k: Int, _ x: UnsafePointer<Float>, _ n: Int, _ y: UnsafeMutablePointer<Float>) {
        let out = config.linearShapes[k].out
        matmul(x, n, weightMatrix(k), y)
        let b = bias(k)
        for r in 0..<n { addInPlace(y + r * out, b, out) }
    }

    /// Accumulates parameter gradients from dOut [n, h·L] (d loss / d output). The IRM's input needs no
    /// gradient: it comes from the frozen model below the tap, where nothing is trained.
    public func backward(_ dOut: UnsafePointer<Float>, rows n: Int, _ acts: IRMActivations) {
        requireGradients()
        if config.kind == .constant {
            // dc += Σ_rows dOut
            for r in 0..<n { addInPlace(grads.ptr, dOut + r * config.outputDim, config.outputDim) }
            return
        }
        let shapes = config.linearShapes
        var dz = UnsafeMutablePointer(mutating: dOut)
        var spare = acts.dA
        for k in stride(from: shapes.count - 1, through: 0, by: -1) {
            let s = shapes[k]
            // dW_k += dzᵀ·x_k ; db_k += Σ_rows dz
            matmulWeightGrad(dz, acts.inputs[k], M: n, N: s.out, K: s.in, weightGrad(k), accumulate: true)
            let db = biasGrad(k)
            for r in 0..<n { addInPlace(db, dz + r * s.out, s.out) }
            if k == 0 { break }
            // dx = dz·W_k, then through the ReLU that produced x_k (x_k > 0 where it passed).
            matmulBackward(dz, n, weightMatrix(k), spare)
            reluBackwardInPlace(spare, acts.inputs[k], n * s.in)
            dz = spare
            spare = spare == acts.dA ? acts.dB : acts.dA
        }
    }

    public func zeroGrad() { requireGradients(); grads.zero() }

    /// A fatal error, not a precondition: IRM builds with -Ounchecked, and a gradient written to an empty
    /// buffer would overrun it.
    private func requireGradients() {
        if grads.count != params.count {
            fatalError("IRMNetwork: this network was loaded for inference and has no gradients")
        }
    }
}

func reluInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n where x[i] < 0 { x[i] = 0 }
}

/// d ← d where the ReLU's output y was positive, else 0.
func reluBackwardInPlace(_ d: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
    for i in 0..<n where y[i] <= 0 { d[i] = 0 }
}
